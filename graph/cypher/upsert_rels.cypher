// Create or replace relationships of one type; both ends exist (placeholders were made first).
UNWIND $rows AS row
MATCH (a:{{src}} {id: row.src})
MATCH (b:{{dst}} {id: row.dst})
MERGE (a)-[r:{{type}} {key: row.key}]->(b)
SET r = row.props
