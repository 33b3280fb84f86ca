// Entries keyed by one of $keys, or whose comma-separated key lists one of them (through
// :AuditKeyRef); both halves are index seeks. A null $limit reads them all.
CALL () {
  UNWIND $keys AS k
  MATCH (a:AuditEntry {key: k})
  RETURN a
  UNION
  UNWIND $keys AS k
  MATCH (r:AuditKeyRef {key: k})
  MATCH (a:AuditEntry {seq: r.seq})
  RETURN a
}
RETURN a {.*} AS entry
ORDER BY a.seq
LIMIT coalesce($limit, 9223372036854775807)
