// (source, target, source's label) of one relationship type arriving at the given nodes.
UNWIND $ids AS id
MATCH (m)-[:{{type}}]->(n:{{label}} {id: id})
RETURN collect(DISTINCT [m.id, n.id, labels(m)[0]]) AS found
