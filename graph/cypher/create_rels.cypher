// Relationships the writer knows do not exist yet: CREATE, no MERGE over dense nodes.
UNWIND $rows AS row
MATCH (a:{{src}} {id: row.src})
MATCH (b:{{dst}} {id: row.dst})
CREATE (a)-[r:{{type}}]->(b)
SET r = row.props
