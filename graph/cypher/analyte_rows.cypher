// Every result of one analyte on a lot or batch, with its target's site and product and,
// for a lot, the batches that made it (GraphStore.analyte_rows). Parameters: $analyte.
MATCH (r:TestResult {analyte: $analyte})-[:TESTED]->(target)
WHERE target:Lot OR target:Batch
RETURN r.id AS id, CASE WHEN target:Lot THEN 'Lot' ELSE 'Batch' END AS label,
       target.id AS target_id, target.site AS site,
       CASE WHEN target:Lot THEN target.material_id ELSE target.product_material_id END AS product,
       r.value AS value, r.lower_limit AS lower_limit, r.upper_limit AS upper_limit,
       r.unit AS unit, r.method AS method, r.tested_at AS tested_at,
       CASE WHEN target:Lot THEN [(target)<-[:PRODUCED]-(m:Batch) | [m.id, m.site]] ELSE [] END
         AS makers
