// Impurity commonality, step 3: for each candidate factor, how many units (as in step 1:
// tested batches, producers of tested lots, bought-in tested lots) share it. Walks from
// each unit once, keeping only the candidates.
// Parameters: $analyte, $equipment, $lots, $suppliers, $materials (candidate ids).
MATCH (r:TestResult {analyte: $analyte})-[:TESTED]->(target)
WHERE target:Lot OR target:Batch
WITH target, [(target)<-[:PRODUCED]-(maker:Batch) | maker] AS makers
UNWIND CASE WHEN size(makers) = 0 THEN [target] ELSE makers END AS unit
WITH DISTINCT unit
CALL (unit) {
  MATCH (unit:Batch)-[:RAN_ON]->(e:Equipment)
  WHERE e.id IN $equipment
  RETURN 'equipment' AS kind, e.id AS factor
  UNION
  MATCH (unit:Batch)<-[:CONSUMED_IN]-(l:Lot)
  WHERE l.id IN $lots
  RETURN 'lot' AS kind, l.id AS factor
  UNION
  MATCH (unit:Batch)<-[:CONSUMED_IN]-(:Lot)<-[:SUPPLIED]-(s:Supplier)
  WHERE s.id IN $suppliers
  RETURN 'supplier' AS kind, s.id AS factor
  UNION
  MATCH (unit:Batch)<-[:CONSUMED_IN]-(:Lot)-[:OF_MATERIAL]->(m:Material)
  WHERE m.id IN $materials
  RETURN 'material' AS kind, m.id AS factor
  UNION
  MATCH (unit:Lot)
  WHERE unit.id IN $lots
  RETURN 'lot' AS kind, unit.id AS factor
  UNION
  MATCH (unit:Lot)<-[:SUPPLIED]-(s:Supplier)
  WHERE s.id IN $suppliers
  RETURN 'supplier' AS kind, s.id AS factor
  UNION
  MATCH (unit:Lot)-[:OF_MATERIAL]->(m:Material)
  WHERE m.id IN $materials
  RETURN 'material' AS kind, m.id AS factor
}
RETURN kind, factor, count(*) AS total
