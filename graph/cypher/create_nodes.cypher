// Create-only nodes of one label: under the label's uniqueness constraint on id, a key that
// is taken (committed, or by a transaction still open) fails this transaction.
UNWIND $rows AS row
CREATE (n:{{label}})
SET n = row.props
