// Every node of one label with its properties (the content digest, graph/digest.py).
MATCH (n:{{label}})
RETURN n.id AS id, coalesce(n.unresolved, false) AS unresolved, properties(n) AS props
