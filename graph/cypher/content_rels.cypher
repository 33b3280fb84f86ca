// Every relationship of one type with its ends and properties (the content digest).
MATCH (a)-[r:{{type}}]->(b)
RETURN labels(a) AS src_labels, a.id AS src, labels(b) AS dst_labels, b.id AS dst,
       coalesce(r.key, '') AS key, properties(r) AS props
