MATCH (n:{{label}})
WHERE n.unresolved = true
RETURN count(n) AS n
