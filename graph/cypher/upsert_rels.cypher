// Create or replace relationships of one type; both ends exist (placeholders were made
// first). MERGE locks both ends when it creates, and SET takes the relationship's write lock
// before its old content is read, so concurrent writers of one relationship queue and each
// sees what the one before it wrote. $rows.expected: '*' (anything), '' (create-only) or
// the old content's fingerprint; returns [src, dst, key, what is stored] for each that
// differed, and the caller then fails the transaction.
UNWIND $rows AS row
MATCH (a:{{src}} {id: row.src})
MATCH (b:{{dst}} {id: row.dst})
MERGE (a)-[r:{{type}} {key: row.key}]->(b)
  ON CREATE SET r._created = true
SET r._lock = true
WITH r, row, CASE WHEN r._created THEN '' ELSE coalesce(r.content_fingerprint, '') END AS found
SET r = row.props
WITH row, found WHERE row.expected <> '*' AND found <> row.expected
RETURN collect([row.src, row.dst, row.key, found]) AS conflicts
