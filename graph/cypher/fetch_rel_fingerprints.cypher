// Both ends by their index, then the relationship between them from the end with fewer
// (Expand(Into), in a subquery given both): a plan made while the store was nearly empty
// may otherwise expand every relationship of a node with thousands (a Person's SIGNED, the
// signatures of an SOP's version) for each row, and is kept while the store fills.
UNWIND $rows AS row
MATCH (a:{{src}} {id: row.src})
MATCH (b:{{dst}} {id: row.dst})
CALL (a, b, row) {
  MATCH (a)-[r:{{type}} {key: row.key}]->(b)
  RETURN r
}
RETURN collect([row.src, row.dst, row.key, r.content_fingerprint]) AS found
