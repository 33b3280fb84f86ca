// Documents of a lot (DESIGN §4), each path read document-first as
// [document id, 'CONCERNS', ..., lot id]. The four path shapes:
//   (d)-[:CONCERNS]->(lot)
//   (d)-[:CONCERNS]->(batch)-[:PRODUCED]->(lot)
//   (d)-[:CONCERNS]->(deviation)-[:AFFECTS]->(lot)
//   (d)-[:CONCERNS]->(deviation)-[:AFFECTS]->(batch)-[:PRODUCED]->(lot)
// A batch that only CONSUMED the lot does not link its documents to the lot.
// In Neo4j Browser:  :param lot_id => 'L-2026-000001'
MATCH (lot:Lot {id: $lot_id})
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
RETURN collect(via) AS vias
