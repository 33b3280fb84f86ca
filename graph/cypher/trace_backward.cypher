// Backward trace of one or more lots: the batches and lots it came from, and their suppliers.
// The graph version is read first and last (the last step takes the trace as input, so
// it runs after it): equal, no write committed while the query read (read_snapshot).
OPTIONAL MATCH (v:LotgraphCounter {id: 'graph_version'})
WITH coalesce(v.value, 0) AS before
CALL (before) {
  UNWIND $lot_ids AS root_id
  MATCH (root:Lot {id: root_id})
  WHERE before IS NOT NULL
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
}
CALL (edges, sites) {
  WITH sites WHERE sites IS NOT NULL
  OPTIONAL MATCH (v:LotgraphCounter {id: 'graph_version'})
  RETURN coalesce(v.value, 0) AS after
}
RETURN before, after, edges, sites
