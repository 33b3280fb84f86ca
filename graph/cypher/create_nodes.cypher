// Nodes the writer knows do not exist yet: CREATE, no lookup (the constraint still guards).
UNWIND $rows AS row
CREATE (n:{{label}})
SET n = row.props
