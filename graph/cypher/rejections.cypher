MATCH (r:Rejection)
WHERE $ingest_id IS NULL OR r.ingest_id = $ingest_id
RETURN r {.*} AS rejection
ORDER BY r.ingest_id, r.seq
