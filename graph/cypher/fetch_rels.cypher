UNWIND $rows AS row
MATCH (a:{{src}} {id: row.src})-[r:{{type}} {key: row.key}]->(b:{{dst}} {id: row.dst})
RETURN row.src AS src, row.dst AS dst, row.key AS key, properties(r) AS props
