// Append linked audit entries (seq, prev_hash and hash computed under the counter's lock,
// taken by lock_audit_head in the same transaction) and move the head to the last of them.
// $refs: (key, seq) of the ids an entry's comma-separated key lists, for audit_for_keys.
MATCH (c:LotgraphCounter {id: 'audit'})
SET c.value = $seq, c.hash = $hash
WITH c
UNWIND $rows AS row
CREATE (a:AuditEntry)
SET a = row
WITH count(a) AS appended
FOREACH (ref IN $refs | CREATE (:AuditKeyRef {key: ref.key, seq: ref.seq}))
