// Impurity commonality, step 2: the upstream factors of the flagged units. A batch's factors
// are the equipment it ran on and, for each lot it consumed, that lot (a supplier lot when a
// supplier supplied it), the lot's supplier and its material; a bought-in lot's factors are
// itself, its supplier and its material.
// Parameters: $batch_ids, $lot_ids (the flagged units).
CALL () {
  UNWIND $batch_ids AS unit_id
  MATCH (b:Batch {id: unit_id})-[:RAN_ON]->(e:Equipment)
  RETURN b.id AS unit, 'equipment' AS kind, e.id AS factor
  UNION
  UNWIND $batch_ids AS unit_id
  MATCH (b:Batch {id: unit_id})<-[:CONSUMED_IN]-(l:Lot)
  RETURN b.id AS unit,
         CASE WHEN EXISTS { (l)<-[:SUPPLIED]-(:Supplier) } THEN 'supplier_lot' ELSE 'lot' END AS kind,
         l.id AS factor
  UNION
  UNWIND $batch_ids AS unit_id
  MATCH (b:Batch {id: unit_id})<-[:CONSUMED_IN]-(:Lot)<-[:SUPPLIED]-(s:Supplier)
  RETURN b.id AS unit, 'supplier' AS kind, s.id AS factor
  UNION
  UNWIND $batch_ids AS unit_id
  MATCH (b:Batch {id: unit_id})<-[:CONSUMED_IN]-(:Lot)-[:OF_MATERIAL]->(m:Material)
  RETURN b.id AS unit, 'material' AS kind, m.id AS factor
  UNION
  UNWIND $lot_ids AS unit_id
  MATCH (l:Lot {id: unit_id})
  RETURN l.id AS unit, 'supplier_lot' AS kind, l.id AS factor
  UNION
  UNWIND $lot_ids AS unit_id
  MATCH (l:Lot {id: unit_id})<-[:SUPPLIED]-(s:Supplier)
  RETURN l.id AS unit, 'supplier' AS kind, s.id AS factor
  UNION
  UNWIND $lot_ids AS unit_id
  MATCH (l:Lot {id: unit_id})-[:OF_MATERIAL]->(m:Material)
  RETURN l.id AS unit, 'material' AS kind, m.id AS factor
}
RETURN collect([unit, kind, factor]) AS factors
