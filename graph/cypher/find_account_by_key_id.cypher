MATCH (a:Account {key_id: $key_id})
RETURN a {.*} AS account
