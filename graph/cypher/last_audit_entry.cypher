// The entry with the highest seq (index-backed by the seq constraint), or no row.
MATCH (a:AuditEntry)
WHERE a.seq IS NOT NULL
RETURN a.seq AS seq, a.hash AS hash
ORDER BY a.seq DESC
LIMIT 1
