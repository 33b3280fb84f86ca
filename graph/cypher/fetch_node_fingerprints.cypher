UNWIND $ids AS id
MATCH (n:{{label}} {id: id})
RETURN collect([n.id, n.content_fingerprint, coalesce(n.unresolved, false)]) AS found
