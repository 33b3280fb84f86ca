// Dead-letter rows of every ingest in (ingest_id, seq) order, strictly after a cursor;
// a null $after_id starts at the beginning.
MATCH (r:Rejection)
WHERE $after_id IS NULL
   OR r.ingest_id > $after_id
   OR (r.ingest_id = $after_id AND r.seq > $after_seq)
RETURN r {.*} AS rejection
ORDER BY r.ingest_id, r.seq
LIMIT $limit
