// The latest results of one analyte, for a control chart: each with its target, the
// target's site, and the batches that produced a tested lot (the units it speaks for).
// Parameters: $analyte, $limit.
MATCH (r:TestResult {analyte: $analyte})-[:TESTED]->(target)
WHERE target:Lot OR target:Batch
WITH r, target
ORDER BY coalesce(r.tested_at, '') DESC, r.id DESC
LIMIT $limit
RETURN r.id AS id, labels(target)[0] AS target_kind, target.id AS target_id,
       target.site AS site, [(target)<-[:PRODUCED]-(maker:Batch) | maker.id] AS makers,
       r.value AS value, r.lower_limit AS lower_limit, r.upper_limit AS upper_limit,
       r.tested_at AS tested_at, r.unit AS unit
