// A right password: refused while the account is locked at $at, else the failure count is
// cleared. The first SET takes the node's write lock before anything is read (see
// record_sign_in_failure), so a lock set by a concurrent failure is seen here.
MATCH (a:Account {name: $name})
SET a.failed_sign_ins = coalesce(a.failed_sign_ins, 0)
WITH a, a.locked_until IS NOT NULL AND a.locked_until > $at AS locked
SET a.failed_sign_ins = CASE WHEN locked THEN a.failed_sign_ins ELSE 0 END,
    a.locked_until = CASE WHEN locked THEN a.locked_until ELSE null END
RETURN NOT locked AS signed_in
