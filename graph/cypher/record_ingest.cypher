MERGE (i:IngestRun {id: $id})
SET i.at = $at, i.report = $report
WITH i
UNWIND $rejections AS rej
CREATE (r:Rejection)
SET r = rej, r.ingest_id = $id
