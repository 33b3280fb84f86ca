// Recall scope facts: for the lots and batches of a recall (the roots and their forward
// traces, found by trace_forward.cypher), what was consumed and shipped from each lot, to
// whom, which deviations and documents concern the scope, and the QA holds on its lots.
// Parameters: $lot_ids, $batch_ids (lists of ids).
CALL () {
  UNWIND $lot_ids AS lot_id
  MATCH (l:Lot {id: lot_id})-[c:CONSUMED_IN]->(b:Batch)
  RETURN collect([l.id, b.id, c.quantity]) AS consumed
}
CALL () {
  UNWIND $lot_ids AS lot_id
  MATCH (l:Lot {id: lot_id})-[s:SHIPPED_IN]->(sh:Shipment)
  OPTIONAL MATCH (sh)-[:TO]->(c:Customer)
  RETURN collect([l.id, sh.id, c.id, s.quantity]) AS shipped
}
OPTIONAL CALL () {
  UNWIND $lot_ids AS lot_id
  MATCH (d:Deviation)-[:AFFECTS]->(t:Lot {id: lot_id})
  RETURN [d.id, 'Lot', t.id] AS link
  UNION
  UNWIND $batch_ids AS batch_id
  MATCH (d:Deviation)-[:AFFECTS]->(t:Batch {id: batch_id})
  RETURN [d.id, 'Batch', t.id] AS link
}
WITH consumed, shipped, collect(link) AS deviations
OPTIONAL CALL () {
  UNWIND $lot_ids AS lot_id
  MATCH (doc:Document)-[:CONCERNS]->(t:Lot {id: lot_id})
  RETURN [doc.id, 'Lot', t.id] AS link
  UNION
  UNWIND $batch_ids AS batch_id
  MATCH (doc:Document)-[:CONCERNS]->(t:Batch {id: batch_id})
  RETURN [doc.id, 'Batch', t.id] AS link
}
WITH consumed, shipped, deviations, collect(link) AS documents
CALL () {
  UNWIND $lot_ids AS lot_id
  MATCH (h:Hold)-[:HOLDS]->(l:Lot {id: lot_id})
  RETURN collect([h.id, l.id]) AS holds
}
RETURN consumed, shipped, deviations, documents, holds
