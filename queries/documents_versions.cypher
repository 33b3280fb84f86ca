// The version numbers of some documents (a document's current version is the highest).
// In Neo4j Browser:  :param ids => ['DOC-BR-0001', 'DOC-CO-0001']
UNWIND $ids AS id
MATCH (d:Document {id: id})-[:HAS_VERSION]->(v:DocumentVersion)
RETURN collect([d.id, v.version]) AS found
