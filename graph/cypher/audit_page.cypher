// Audit entries after a sequence number, in order; a null $limit reads to the end.
MATCH (a:AuditEntry)
WHERE a.seq > $after
RETURN a {.*} AS entry
ORDER BY a.seq
LIMIT coalesce($limit, 9223372036854775807)
