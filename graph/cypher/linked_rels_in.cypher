// Each relationship of one type arriving at the given nodes, with its properties (key included).
UNWIND $ids AS id
MATCH (m)-[r:{{type}}]->(n:{{label}} {id: id})
RETURN collect([labels(m)[0], m.id, labels(n)[0], n.id, properties(r)]) AS found
