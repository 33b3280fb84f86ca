// The marker of a first load (lotgraph neo4j import) that has not finished: the import
// tool writes it with the graph, and it is deleted once the audit trail is adopted and the
// database verified. A database that holds it is not opened for use.
MATCH (m:LotgraphFirstLoad)
RETURN m.ingest_id AS ingest_id
LIMIT 1
