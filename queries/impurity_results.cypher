// Impurity commonality, step 1: every result of one analyte, the unit it speaks for (the
// tested batch; for a tested lot, the batches that produced it, or the lot itself when it
// was bought in), and which results are above their upper limit.
// Parameters: $analyte.
MATCH (r:TestResult {analyte: $analyte})-[:TESTED]->(target)
WHERE target:Lot OR target:Batch
WITH r, target, [(target)<-[:PRODUCED]-(maker:Batch) | maker] AS makers
UNWIND CASE WHEN size(makers) = 0 THEN [target] ELSE makers END AS unit
WITH r, target, unit, r.upper_limit IS NOT NULL AND r.value > r.upper_limit AS above
WITH count(DISTINCT unit) AS units,
     collect(CASE WHEN above THEN [
       r.id, labels(target)[0], target.id, labels(unit)[0], unit.id,
       r.value, r.upper_limit, r.tested_at, r.unit
     ] END) AS flagged
RETURN units, flagged
