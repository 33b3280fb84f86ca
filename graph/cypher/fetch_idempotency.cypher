MATCH (r:IdempotencyRecord {key: $key})
RETURN r {.*} AS record
