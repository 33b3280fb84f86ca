// A supplier's record (queries/suppliers.py): the lots it supplied, its change notices and
// the decisions recorded on them, as ids; the nodes' content is fetched by key after.
// Parameters: $supplier_id.
MATCH (s:Supplier {id: $supplier_id})
CALL (s) {
  MATCH (s)-[:SUPPLIED]->(l:Lot)
  RETURN collect(DISTINCT l.id) AS lots
}
CALL (s) {
  MATCH (c:SupplierChange)-[:BY]->(s)
  RETURN collect(DISTINCT c.id) AS changes
}
CALL (s) {
  MATCH (d:SupplierChangeDecision)-[:DECIDES]->(c:SupplierChange)-[:BY]->(s)
  RETURN collect(DISTINCT [d.id, c.id]) AS decisions
}
RETURN lots, changes, decisions
