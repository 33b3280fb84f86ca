// The qa decisions recorded on supplier change notices (api/suppliers): one row per
// (decision id, change id) pair. Parameters: $change_ids (a list of change notice ids).
UNWIND $change_ids AS change_id
MATCH (d:SupplierChangeDecision)-[:DECIDES]->(c:SupplierChange {id: change_id})
RETURN collect([d.id, c.id]) AS found
