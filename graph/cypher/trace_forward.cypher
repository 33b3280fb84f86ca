// Forward trace of one or more lots: what it went into, and who received it.
// The variable-length match with DISTINCT end nodes lets the planner prune repeated
// visits (a lot reached along many paths is expanded once).
UNWIND $lot_ids AS root_id
MATCH (root:Lot {id: root_id})
OPTIONAL MATCH (root)-[:CONSUMED_IN|PRODUCED*]->(reached)
WITH collect(DISTINCT root) + collect(DISTINCT reached) AS reached
UNWIND reached AS x
WITH DISTINCT x
OPTIONAL CALL (x) {
  MATCH (x)-[r:CONSUMED_IN|PRODUCED]->(y)
  RETURN [x.id, type(r), y.id] AS edge
  UNION
  MATCH (x:Lot)-[r:SHIPPED_IN]->(s:Shipment)
  RETURN [x.id, type(r), s.id] AS edge
  UNION
  MATCH (x:Lot)-[:SHIPPED_IN]->(s:Shipment)-[r:TO]->(c:Customer)
  RETURN [s.id, type(r), c.id] AS edge
}
RETURN collect(DISTINCT edge) AS edges,
       collect(DISTINCT [CASE WHEN x:Lot THEN 'Lot' ELSE 'Batch' END, x.id, x.site]) AS sites
