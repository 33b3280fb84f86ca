// Documents of a recall scope, for its evidence package (queries/evidence.py): every path
// from a document to an affected lot by the four shapes of documents_for_lot.cypher, and
// to a batch of the scope directly or through a deviation affecting it, each read
// document-first as [document id, 'CONCERNS', ..., lot or batch id].
// In Neo4j Browser:  :param lot_ids => ['L-2026-000001']   :param batch_ids => []
CALL () {
  UNWIND $lot_ids AS lot_id
  MATCH (lot:Lot {id: lot_id})
  CALL (lot) {
    MATCH (d:Document)-[:CONCERNS]->(lot)
    RETURN [d.id, 'CONCERNS', lot.id] AS via
    UNION
    MATCH (d:Document)-[:CONCERNS]->(b:Batch)-[:PRODUCED]->(lot)
    RETURN [d.id, 'CONCERNS', b.id, 'PRODUCED', lot.id] AS via
    UNION
    MATCH (d:Document)-[:CONCERNS]->(v:Deviation)-[:AFFECTS]->(lot)
    RETURN [d.id, 'CONCERNS', v.id, 'AFFECTS', lot.id] AS via
    UNION
    MATCH (d:Document)-[:CONCERNS]->(v:Deviation)-[:AFFECTS]->(b:Batch)-[:PRODUCED]->(lot)
    RETURN [d.id, 'CONCERNS', v.id, 'AFFECTS', b.id, 'PRODUCED', lot.id] AS via
  }
  RETURN collect(via) AS lot_vias
}
CALL () {
  UNWIND $batch_ids AS batch_id
  MATCH (b:Batch {id: batch_id})
  CALL (b) {
    MATCH (d:Document)-[:CONCERNS]->(b)
    RETURN [d.id, 'CONCERNS', b.id] AS via
    UNION
    MATCH (d:Document)-[:CONCERNS]->(v:Deviation)-[:AFFECTS]->(b)
    RETURN [d.id, 'CONCERNS', v.id, 'AFFECTS', b.id] AS via
  }
  RETURN collect(via) AS batch_vias
}
RETURN lot_vias, batch_vias
