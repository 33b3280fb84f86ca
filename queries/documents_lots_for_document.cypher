// Lots of a document (DESIGN §4), each path read document-first as
// [document id, 'CONCERNS', ..., lot id]. The four path shapes:
//   (d)-[:CONCERNS]->(lot)
//   (d)-[:CONCERNS]->(batch)-[:PRODUCED]->(lot)
//   (d)-[:CONCERNS]->(deviation)-[:AFFECTS]->(lot)
//   (d)-[:CONCERNS]->(deviation)-[:AFFECTS]->(batch)-[:PRODUCED]->(lot)
// Lots a concerned batch only CONSUMED are not reached.
// In Neo4j Browser:  :param document_id => 'DOC-BR-0001'
MATCH (d:Document {id: $document_id})
CALL (d) {
  MATCH (d)-[:CONCERNS]->(lot:Lot)
  RETURN [d.id, 'CONCERNS', lot.id] AS via
  UNION
  MATCH (d)-[:CONCERNS]->(b:Batch)-[:PRODUCED]->(lot:Lot)
  RETURN [d.id, 'CONCERNS', b.id, 'PRODUCED', lot.id] AS via
  UNION
  MATCH (d)-[:CONCERNS]->(v:Deviation)-[:AFFECTS]->(lot:Lot)
  RETURN [d.id, 'CONCERNS', v.id, 'AFFECTS', lot.id] AS via
  UNION
  MATCH (d)-[:CONCERNS]->(v:Deviation)-[:AFFECTS]->(b:Batch)-[:PRODUCED]->(lot:Lot)
  RETURN [d.id, 'CONCERNS', v.id, 'AFFECTS', b.id, 'PRODUCED', lot.id] AS via
}
RETURN collect(via) AS vias
