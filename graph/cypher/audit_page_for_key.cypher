// audit_page with an entity id: the entries keyed by $key, or whose comma-separated key
// lists it (through :AuditKeyRef), both index seeks, then the other filters as in
// audit_page_filtered.
CALL () {
  MATCH (a:AuditEntry {key: $key})
  WHERE a.seq > $after
  RETURN a
  UNION
  MATCH (r:AuditKeyRef {key: $key})
  WHERE r.seq > $after
  MATCH (a:AuditEntry {seq: r.seq})
  RETURN a
}
WITH a
WHERE ($actor IS NULL OR a.actor = $actor)
  AND ($action IS NULL OR a.action = $action)
  AND ($among IS NULL OR a.action IN $among)
  AND ($not_among IS NULL OR NOT a.action IN $not_among)
  AND ($since IS NULL OR a.at >= $since)
  AND ($until IS NULL OR a.at < $until)
RETURN a {.*} AS entry
ORDER BY a.seq
LIMIT $limit
