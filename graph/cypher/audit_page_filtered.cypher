// The auditor's page (audit_page): entries after $after in seq order, read along the seq
// index and filtered as they come, so the page stops at $limit matches. A null filter is
// no condition; $among / $not_among are the actions of an entry class.
MATCH (a:AuditEntry)
WHERE a.seq > $after
  AND ($actor IS NULL OR a.actor = $actor)
  AND ($action IS NULL OR a.action = $action)
  AND ($among IS NULL OR a.action IN $among)
  AND ($not_among IS NULL OR NOT a.action IN $not_among)
  AND ($since IS NULL OR a.at >= $since)
  AND ($until IS NULL OR a.at < $until)
RETURN a {.*} AS entry
ORDER BY a.seq
LIMIT $limit
