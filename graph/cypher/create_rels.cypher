// Create-only relationships of one type (the bulk diff found none stored); both ends exist.
// MERGE locks both ends and looks for the relationship again before it creates it, so one
// that another writer stored meanwhile is found, never doubled; it is returned, as
// [src, dst, key, what is stored], and the caller fails the transaction. Created ones get
// their properties in one SET (no marks to set and clear: this batch's write_id tells
// what this statement created). A stored one without a fingerprint (written before
// fingerprints) is replaced, as upsert_rels does.
UNWIND $rows AS row
MATCH (a:{{src}} {id: row.src})
MATCH (b:{{dst}} {id: row.dst})
MERGE (a)-[r:{{type}} {key: row.key}]->(b)
  ON CREATE SET r = row.props
FOREACH (_ IN CASE WHEN r.content_fingerprint IS NULL THEN [1] ELSE [] END | SET r = row.props)
WITH row, r WHERE r.write_id IS NULL OR r.write_id <> $write_id
RETURN collect([row.src, row.dst, row.key, coalesce(r.content_fingerprint, '')]) AS conflicts
