// A recall's whole read (GraphStore.recall_view, queries/recall.py) in one query: the
// forward reach of the roots ($lot_ids) as trace_forward.cypher walks it, the content of
// every lot and batch in it, each CONSUMED_IN from the lots with its quantity, each
// SHIPPED_IN with its quantity and the shipment's customer, the deviations affecting,
// documents concerning and holds on the scope, with the content of each such node.
// The graph version is read first and last (each later step takes the one before as
// input, so none runs earlier): equal, no write committed while the query read.
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
  WITH collect(x) AS scope
  RETURN [n IN scope WHERE n:Lot] AS lots, [n IN scope WHERE n:Batch] AS batches
}
CALL (lots) {
  UNWIND lots AS l
  RETURN collect([l.id, properties(l)]) AS lot_nodes
}
CALL (batches) {
  UNWIND batches AS b
  RETURN collect([b.id, properties(b)]) AS batch_nodes
}
CALL (lots) {
  UNWIND lots AS l
  MATCH (l)-[c:CONSUMED_IN]->(b:Batch)
  RETURN collect([l.id, b.id, c.quantity]) AS consumed
}
CALL (lots) {
  UNWIND lots AS l
  MATCH (l)-[s:SHIPPED_IN]->(sh:Shipment)
  OPTIONAL MATCH (sh)-[:TO]->(c:Customer)
  WITH collect([l.id, sh.id, c.id, s.quantity]) AS shipped, collect(DISTINCT c) AS customers
  RETURN shipped, [c IN customers | [c.id, properties(c)]] AS customer_nodes
}
CALL (lots, batches) {
  UNWIND lots + batches AS t
  MATCH (d:Deviation)-[:AFFECTS]->(t)
  WITH collect([d.id, CASE WHEN t:Lot THEN 'Lot' ELSE 'Batch' END, t.id]) AS deviations,
       collect(DISTINCT d) AS found
  RETURN deviations, [d IN found | [d.id, properties(d)]] AS deviation_nodes
}
CALL (lots, batches) {
  UNWIND lots + batches AS t
  MATCH (doc:Document)-[:CONCERNS]->(t)
  WITH collect([doc.id, CASE WHEN t:Lot THEN 'Lot' ELSE 'Batch' END, t.id]) AS documents,
       collect(DISTINCT doc) AS found
  RETURN documents, [d IN found | [d.id, properties(d)]] AS document_nodes
}
CALL (lots) {
  UNWIND lots AS l
  MATCH (h:Hold)-[:HOLDS]->(l)
  WITH collect([h.id, l.id]) AS holds, collect(DISTINCT h) AS found
  RETURN holds, [h IN found | [h.id, properties(h)]] AS hold_nodes
}
CALL (lot_nodes, batch_nodes, consumed, shipped, customer_nodes, deviations, deviation_nodes,
      documents, document_nodes, holds, hold_nodes) {
  WITH hold_nodes WHERE hold_nodes IS NOT NULL
  OPTIONAL MATCH (v:LotgraphCounter {id: 'graph_version'})
  RETURN coalesce(v.value, 0) AS after
}
RETURN before, after, lot_nodes, batch_nodes, consumed, shipped, customer_nodes, deviations,
       deviation_nodes, documents, document_nodes, holds, hold_nodes
