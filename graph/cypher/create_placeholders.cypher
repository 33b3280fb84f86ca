// A referenced node that does not exist yet: a placeholder marked unresolved.
UNWIND $rows AS row
MERGE (n:{{label}} {id: row.id})
  ON CREATE SET n += row.props
