// Impurity commonality, step 3: for each candidate factor, how many units (batches or
// bought-in lots with a result for the analyte, as in step 1) share it.
// Parameters: $analyte, $equipment, $lots, $suppliers, $materials (candidate ids).
CALL {
  UNWIND $equipment AS factor_id
  MATCH (:Equipment {id: factor_id})<-[:RAN_ON]-(b:Batch)
  RETURN 'equipment' AS kind, factor_id AS factor, b AS unit
  UNION
  UNWIND $lots AS factor_id
  MATCH (:Lot {id: factor_id})-[:CONSUMED_IN]->(b:Batch)
  RETURN 'lot' AS kind, factor_id AS factor, b AS unit
  UNION
  UNWIND $lots AS factor_id
  MATCH (l:Lot {id: factor_id})
  RETURN 'lot' AS kind, factor_id AS factor, l AS unit
  UNION
  UNWIND $suppliers AS factor_id
  MATCH (:Supplier {id: factor_id})-[:SUPPLIED]->(:Lot)-[:CONSUMED_IN]->(b:Batch)
  RETURN 'supplier' AS kind, factor_id AS factor, b AS unit
  UNION
  UNWIND $suppliers AS factor_id
  MATCH (:Supplier {id: factor_id})-[:SUPPLIED]->(l:Lot)
  RETURN 'supplier' AS kind, factor_id AS factor, l AS unit
  UNION
  UNWIND $materials AS factor_id
  MATCH (:Material {id: factor_id})<-[:OF_MATERIAL]-(:Lot)-[:CONSUMED_IN]->(b:Batch)
  RETURN 'material' AS kind, factor_id AS factor, b AS unit
  UNION
  UNWIND $materials AS factor_id
  MATCH (:Material {id: factor_id})<-[:OF_MATERIAL]-(l:Lot)
  RETURN 'material' AS kind, factor_id AS factor, l AS unit
}
WITH kind, factor, unit
WHERE (unit:Batch AND (
        EXISTS { (unit)<-[:TESTED]-(:TestResult {analyte: $analyte}) }
        OR EXISTS { (unit)-[:PRODUCED]->(:Lot)<-[:TESTED]-(:TestResult {analyte: $analyte}) }))
   OR (unit:Lot
       AND NOT EXISTS { (unit)<-[:PRODUCED]-(:Batch) }
       AND EXISTS { (unit)<-[:TESTED]-(:TestResult {analyte: $analyte}) })
RETURN kind, factor, count(unit) AS total
