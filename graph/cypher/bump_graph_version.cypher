// Move the graph version on, in the transaction that changes graph content: a reader that
// finds it unchanged across its reads saw no write commit between them (read_snapshot).
MERGE (c:LotgraphCounter {id: 'graph_version'})
SET c.value = coalesce(c.value, 0) + 1
