// Supplier change impact, first step: the supplier's lots, optionally of one material and
// created on or after a moment (UTC text compares in time order). The forward trace of
// these lots (trace_forward.cypher) gives the batches, downstream lots and customers.
// Parameters: $supplier_id, $material_id (or null), $since (or null).
MATCH (:Supplier {id: $supplier_id})-[:SUPPLIED]->(lot:Lot)
WHERE ($material_id IS NULL OR lot.material_id = $material_id)
  AND ($since IS NULL OR lot.created_at >= $since)
RETURN collect(lot.id) AS lots
