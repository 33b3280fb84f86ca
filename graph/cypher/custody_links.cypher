// Chain of custody of one batch (lotgraph custody): every relationship its answer is built
// from, one row each, as source label and id, type, target label and id, properties.
// In Neo4j Browser:  :param batch_id => 'B-2025-000001'   then run this query.
// Reached from the batch: its input and output lots, where those lots moved, the QA holds
// on them, the documents concerning the input lots, QC results on the batch and its lots
// and the documents they are reported in, the deviations affecting the batch, the documents
// concerning the batch or those deviations with their versions, signatures and signers,
// and the shipments of the output lots with their customers.
MATCH (b:Batch {id: $batch_id})
WITH b,
     COLLECT { MATCH (lot:Lot)-[:CONSUMED_IN]->(b) RETURN DISTINCT lot } AS inputs,
     COLLECT { MATCH (b)-[:PRODUCED]->(lot:Lot) RETURN DISTINCT lot } AS outputs,
     COLLECT { MATCH (dev:Deviation)-[:AFFECTS]->(b) RETURN DISTINCT dev } AS deviations
WITH b, inputs, outputs, deviations,
     COLLECT {
       UNWIND [b] + deviations AS x
       MATCH (doc:Document)-[:CONCERNS]->(x)
       RETURN DISTINCT doc
     } AS documents
CALL (b, inputs, outputs, deviations, documents) {
  MATCH (src:Lot)-[r:CONSUMED_IN]->(b)
  RETURN src, r, b AS dst
  UNION
  MATCH (b)-[r:PRODUCED]->(dst:Lot)
  RETURN b AS src, r, dst
  UNION
  UNWIND inputs + outputs AS src
  MATCH (src)-[r:MOVED_TO]->(dst:Site)
  RETURN src, r, dst
  UNION
  UNWIND inputs + outputs AS dst
  MATCH (src:Hold)-[r:HOLDS]->(dst)
  RETURN src, r, dst
  UNION
  UNWIND inputs AS dst
  MATCH (src:Document)-[r:CONCERNS]->(dst)
  RETURN src, r, dst
  UNION
  UNWIND inputs + outputs + [b] AS dst
  MATCH (src:TestResult)-[r:TESTED]->(dst)
  RETURN src, r, dst
  UNION
  UNWIND inputs + outputs + [b] AS tested
  MATCH (src:TestResult)-[:TESTED]->(tested)
  MATCH (src)-[r:REPORTED_IN]->(dst:Document)
  RETURN src, r, dst
  UNION
  MATCH (src:Deviation)-[r:AFFECTS]->(b)
  RETURN src, r, b AS dst
  UNION
  UNWIND [b] + deviations AS dst
  MATCH (src:Document)-[r:CONCERNS]->(dst)
  RETURN src, r, dst
  UNION
  UNWIND documents AS src
  MATCH (src)-[r:HAS_VERSION]->(dst:DocumentVersion)
  RETURN src, r, dst
  UNION
  UNWIND documents AS doc
  MATCH (doc)-[:HAS_VERSION]->(dst:DocumentVersion)<-[r:SIGNS]-(src:Signature)
  RETURN src, r, dst
  UNION
  UNWIND documents AS doc
  MATCH (doc)-[:HAS_VERSION]->(:DocumentVersion)<-[:SIGNS]-(dst:Signature)<-[r:SIGNED]-(src:Person)
  RETURN src, r, dst
  UNION
  UNWIND outputs AS src
  MATCH (src)-[r:SHIPPED_IN]->(dst:Shipment)
  RETURN src, r, dst
  UNION
  UNWIND outputs AS lot
  MATCH (lot)-[:SHIPPED_IN]->(src:Shipment)-[r:TO]->(dst:Customer)
  RETURN src, r, dst
}
RETURN labels(src)[0] AS src_label, src.id AS src, type(r) AS type,
       labels(dst)[0] AS dst_label, dst.id AS dst, properties(r) AS props
