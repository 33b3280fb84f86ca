// An administrator's unlock: the count and lock as they were (read under the node's write
// lock, taken by the first SET), then cleared.
MATCH (a:Account {name: $name})
SET a.failed_sign_ins = coalesce(a.failed_sign_ins, 0)
WITH a, a.failed_sign_ins AS failures, a.locked_until AS locked_until
SET a.failed_sign_ins = 0, a.locked_until = null
RETURN failures, locked_until, a {.*} AS account
