// Every id of one label, placeholders too.
MATCH (n:{{label}})
RETURN collect(n.id) AS found
