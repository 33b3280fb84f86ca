// The versions of some documents, the signatures on them and their signers, for an
// evidence package (queries/evidence.py), with the few properties the package shows:
// Document-HAS_VERSION->DocumentVersion, Signature-SIGNS->DocumentVersion and
// Person-SIGNED->Signature. Signature status is computed from them by queries/custody.py.
// A CALL with a MATCH and a collect() gives [] where nothing matches.
// (Projections, not whole nodes: a node's provenance would triple what crosses the wire.)
// In Neo4j Browser:  :param document_ids => ['DOC-BR-0000001']
UNWIND $document_ids AS document_id
MATCH (d:Document {id: document_id})
CALL (d) {
  MATCH (d)-[:HAS_VERSION]->(v:DocumentVersion)
  RETURN collect([v.id, v {.version, .content_sha256, .created_at, .created_by, .status,
                           .unresolved}]) AS versions
}
CALL (d) {
  MATCH (d)-[:HAS_VERSION]->(v:DocumentVersion)<-[:SIGNS]-(s:Signature)
  RETURN collect([s.id, v.id, s {.meaning, .signed_at, .record_sha256, .signer_id,
                                 .unresolved}]) AS signatures
}
CALL (d) {
  MATCH (d)-[:HAS_VERSION]->(:DocumentVersion)<-[:SIGNS]-(s:Signature)<-[:SIGNED]-(p:Person)
  RETURN collect([p.id, s.id, p {.name, .role, .site, .unresolved}]) AS signers
}
// one record for all documents: far cheaper for the driver than a record per document
RETURN collect([d.id, d {.kind, .title, .unresolved}, versions, signatures, signers]) AS found
