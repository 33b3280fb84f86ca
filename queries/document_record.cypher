// One document's record (GET /documents/{id}): its versions, the signatures on them with
// their signers, and what it concerns, as ids; the nodes' content is fetched by key.
// In Neo4j Browser:  :param document_id => 'DOC-BR-0001'   then run this query.
MATCH (d:Document {id: $document_id})
RETURN
  COLLECT { MATCH (d)-[:HAS_VERSION]->(v:DocumentVersion) RETURN DISTINCT v.id } AS versions,
  COLLECT {
    MATCH (d)-[:HAS_VERSION]->(v:DocumentVersion)<-[:SIGNS]-(s:Signature)
    RETURN DISTINCT [s.id, v.id]
  } AS signs,
  COLLECT {
    MATCH (d)-[:HAS_VERSION]->(:DocumentVersion)<-[:SIGNS]-(s:Signature)<-[:SIGNED]-(p:Person)
    RETURN DISTINCT [p.id, s.id]
  } AS signers,
  COLLECT { MATCH (d)-[:CONCERNS]->(t) RETURN DISTINCT [labels(t)[0], t.id] } AS concerns
