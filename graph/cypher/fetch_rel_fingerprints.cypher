UNWIND $rows AS row
MATCH (a:{{src}} {id: row.src})-[r:{{type}} {key: row.key}]->(b:{{dst}} {id: row.dst})
RETURN collect([row.src, row.dst, row.key, r.content_fingerprint]) AS found
