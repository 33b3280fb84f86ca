// Create or replace relationships of one type; a missing end becomes a placeholder.
UNWIND $rows AS row
MERGE (a:{{src}} {id: row.src})
  ON CREATE SET a += row.placeholder
MERGE (b:{{dst}} {id: row.dst})
  ON CREATE SET b += row.placeholder
MERGE (a)-[r:{{type}} {key: row.key}]->(b)
SET r = row.props
