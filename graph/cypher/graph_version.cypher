// How many content-writing transactions have committed (bump_graph_version); none: 0.
MATCH (c:LotgraphCounter {id: 'graph_version'})
RETURN c.value AS version
