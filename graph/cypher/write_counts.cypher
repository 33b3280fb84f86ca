// Stored nodes and relationships of the model per write id they carry (coverage).
CALL () {
  MATCH (n) WHERE any(l IN labels(n) WHERE l IN $labels)
  RETURN n.write_id AS write_id, count(n) AS nodes, 0 AS rels
  UNION ALL
  MATCH ()-[r]->() WHERE type(r) IN $types
  RETURN r.write_id AS write_id, 0 AS nodes, count(r) AS rels
}
RETURN write_id, sum(nodes) AS nodes, sum(rels) AS rels
