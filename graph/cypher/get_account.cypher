MATCH (a:Account {name: $name})
RETURN a {.*} AS account
