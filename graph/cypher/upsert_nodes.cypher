// Create or replace nodes of one label; replacing the whole map clears a placeholder mark.
UNWIND $rows AS row
MERGE (n:{{label}} {id: row.id})
SET n = row.props
