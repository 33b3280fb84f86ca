// One node that is not one of the store's own counters, if the database holds any: a
// database that answers none is empty (lotgraph neo4j import loads only into such).
MATCH (n)
WHERE NOT n:LotgraphCounter
RETURN labels(n) AS labels
LIMIT 1
