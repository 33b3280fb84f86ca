// Each relationship of one type leaving the given nodes, with its properties (key included).
UNWIND $ids AS id
MATCH (n:{{label}} {id: id})-[r:{{type}}]->(m)
RETURN collect([labels(n)[0], n.id, labels(m)[0], m.id, properties(r)]) AS found
