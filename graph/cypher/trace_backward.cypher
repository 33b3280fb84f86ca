// Backward trace of one or more lots: the batches and lots it came from, and their suppliers.
UNWIND $lot_ids AS root_id
MATCH (root:Lot {id: root_id})
OPTIONAL MATCH (root)<-[:CONSUMED_IN|PRODUCED*]-(reached)
WITH collect(DISTINCT root) + collect(DISTINCT reached) AS reached
UNWIND reached AS x
WITH DISTINCT x
OPTIONAL CALL (x) {
  MATCH (x)<-[r:CONSUMED_IN|PRODUCED]-(y)
  RETURN [y.id, type(r), x.id] AS edge
  UNION
  MATCH (x:Lot)<-[r:SUPPLIED]-(s:Supplier)
  RETURN [s.id, type(r), x.id] AS edge
}
RETURN collect(DISTINCT edge) AS edges,
       collect(DISTINCT [CASE WHEN x:Lot THEN 'Lot' ELSE 'Batch' END, x.id, x.site]) AS sites
