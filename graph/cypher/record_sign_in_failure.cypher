// Count one wrong password of a password account, atomically. The first SET reads the
// property it writes (a direct dependency), for which Cypher takes the node's write lock
// before reading: concurrent failures, from any process, queue here and each reads the
// count and lock the one before it committed. A locked account counts nothing more; after
// an expired lock the count starts again from one.
MATCH (a:Account {name: $name})
WHERE a.kind = 'password'
SET a.failed_sign_ins = coalesce(a.failed_sign_ins, 0)
WITH a, a.locked_until IS NOT NULL AND a.locked_until > $at AS locked_before
WITH a, locked_before,
     CASE
       WHEN locked_before THEN a.failed_sign_ins
       WHEN a.locked_until IS NULL THEN a.failed_sign_ins + 1
       ELSE 1
     END AS failures
SET a.failed_sign_ins = failures,
    a.locked_until = CASE
      WHEN locked_before THEN a.locked_until
      WHEN failures >= $limit THEN $lock_until
      ELSE null
    END
RETURN a.failed_sign_ins AS failures, a.locked_until AS locked_until,
       NOT locked_before AS counted
