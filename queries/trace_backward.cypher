// Backward trace of a lot: the batches and lots it came from, and their suppliers.
MATCH (root:Lot {id: $lot_id})
OPTIONAL MATCH (root)<-[:CONSUMED_IN|PRODUCED*]-(reached)
WITH root, collect(DISTINCT reached) AS reached
UNWIND [root] + reached AS x
CALL (x) {
  MATCH (x)<-[r:CONSUMED_IN|PRODUCED]-(y)
  RETURN [y.id, type(r), x.id] AS edge
  UNION
  MATCH (x:Lot)<-[r:SUPPLIED]-(s:Supplier)
  RETURN [s.id, type(r), x.id] AS edge
}
RETURN collect(DISTINCT edge) AS edges
