MATCH (a:AuditEntry)
RETURN a {.*} AS entry
ORDER BY a.seq
