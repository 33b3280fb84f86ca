// Relationships of one type with an end this batch creates create-only (create_nodes, under
// its label's uniqueness constraint): no other writer sees that node before this
// transaction commits, so none of its relationships can exist and CREATE needs no look
// (nor the locks and marks of create_rels and upsert_rels). Both ends exist.
UNWIND $rows AS row
MATCH (a:{{src}} {id: row.src})
MATCH (b:{{dst}} {id: row.dst})
CREATE (a)-[r:{{type}}]->(b)
SET r = row.props
