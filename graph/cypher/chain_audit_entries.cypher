// Store the links computed for entries written before the trail was hash-chained.
UNWIND $rows AS row
MATCH (a:AuditEntry {seq: row.seq})
SET a.prev_hash = row.prev_hash, a.hash = row.hash
WITH count(a) AS chained
FOREACH (ref IN $refs | MERGE (:AuditKeyRef {key: ref.key, seq: ref.seq}))
