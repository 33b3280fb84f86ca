// Every result of one analyte on a lot or batch, with its target's site and product and,
// for a lot, the batches that made it (GraphStore.analyte_rows). One record holding a list
// per result: hundreds of thousands of rows decode far faster so than as records.
// Parameters: $analyte.
MATCH (r:TestResult {analyte: $analyte})-[:TESTED]->(target)
WHERE target:Lot OR target:Batch
WITH r, target, target:Lot AS is_lot
RETURN collect([
  r.id,
  CASE WHEN is_lot THEN 'Lot' ELSE 'Batch' END,
  target.id,
  target.site,
  CASE WHEN is_lot THEN target.material_id ELSE target.product_material_id END,
  r.value, r.lower_limit, r.upper_limit, r.unit, r.method, r.tested_at,
  CASE WHEN is_lot THEN [(target)<-[:PRODUCED]-(m:Batch) | [m.id, m.site]] ELSE [] END
]) AS rows
