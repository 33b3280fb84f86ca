// Forward trace of one or more lots: what it went into, and who received it.
// The variable-length match with DISTINCT end nodes lets the planner prune repeated
// visits (a lot reached along many paths is expanded once).
// The graph version is read first and last (the last step takes the trace as input, so
// it runs after it): equal, no write committed while the query read (read_snapshot).
OPTIONAL MATCH (v:LotgraphCounter {id: 'graph_version'})
WITH coalesce(v.value, 0) AS before
CALL (before) {
  UNWIND $lot_ids AS root_id
  MATCH (root:Lot {id: root_id})
  WHERE before IS NOT NULL
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
}
CALL (edges, sites) {
  WITH sites WHERE sites IS NOT NULL
  OPTIONAL MATCH (v:LotgraphCounter {id: 'graph_version'})
  RETURN coalesce(v.value, 0) AS after
}
RETURN before, after, edges, sites
