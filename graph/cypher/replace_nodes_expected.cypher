// Replace nodes that must hold what the writer read: $rows.expected is a content
// fingerprint, or '?' for a placeholder. The node's write lock is taken (SET) before its
// content is read, so a concurrent writer's change is seen, never overwritten unseen.
// Returns [id, what is stored] for each that differed ('' for a missing node); the caller
// then fails the transaction.
UNWIND $rows AS row
OPTIONAL MATCH (n:{{label}} {id: row.id})
SET n._lock = true
WITH n, row,
     CASE WHEN n IS NULL THEN ''
          WHEN coalesce(n.unresolved, false) THEN '?'
          ELSE coalesce(n.content_fingerprint, '') END AS found
SET n = row.props
WITH row, found WHERE found <> row.expected
RETURN collect([row.id, found]) AS conflicts
