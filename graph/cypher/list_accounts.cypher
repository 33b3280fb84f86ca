MATCH (a:Account)
RETURN a {.*} AS account
