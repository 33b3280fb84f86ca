UNWIND $ids AS id
MATCH (n:Lot {id: id})
WHERE n.unit IS NOT NULL AND n.unresolved IS NULL
RETURN collect([n.id, n.unit]) AS found
