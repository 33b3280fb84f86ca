// The audit trail's head, read under the counter's write lock. Each SET reads the property
// it writes (a direct dependency), for which Cypher takes the node's write lock before
// reading: concurrent appenders queue here and each reads the head the one before it
// committed (graph/audit_chain.py). The values are unchanged.
MERGE (c:LotgraphCounter {id: 'audit'})
SET c.value = coalesce(c.value, 0), c.hash = c.hash
RETURN c.value AS seq, c.hash AS hash
