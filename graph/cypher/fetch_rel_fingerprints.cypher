UNWIND $rows AS row
// Both ends by their index, then the relationship from the end with fewer (Expand(Into)):
// without the hints a plan made while the store was nearly empty may expand every
// relationship of a node with thousands (a Person's SIGNED), and keep doing so.
MATCH (a:{{src}} {id: row.src})-[r:{{type}} {key: row.key}]->(b:{{dst}} {id: row.dst})
USING INDEX a:{{src}}(id)
USING INDEX b:{{dst}}(id)
RETURN collect([row.src, row.dst, row.key, r.content_fingerprint]) AS found
