// The first entry without a hash (written before the trail was chained), and the hash of
// the entry before it.
MATCH (a:AuditEntry)
WHERE a.hash IS NULL AND a.seq IS NOT NULL
WITH min(a.seq) AS start
OPTIONAL MATCH (b:AuditEntry)
WHERE b.seq < start
WITH start, b
ORDER BY b.seq DESC
LIMIT 1
RETURN start, b.hash AS prev
