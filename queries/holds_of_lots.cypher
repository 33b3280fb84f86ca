// The holds placed on lots (api/holds): one record holding every (hold id, lot id) pair.
// Parameters: $lot_ids (a list of lot ids).
UNWIND $lot_ids AS lot_id
MATCH (h:Hold)-[:HOLDS]->(l:Lot {id: lot_id})
RETURN collect([h.id, l.id]) AS found
