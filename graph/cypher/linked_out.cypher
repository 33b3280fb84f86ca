// (source, target, target's label) of one relationship type leaving the given nodes.
UNWIND $ids AS id
MATCH (n:{{label}} {id: id})-[:{{type}}]->(m)
RETURN collect(DISTINCT [n.id, m.id, labels(m)[0]]) AS found
