// The first record under a key wins: MERGE (under the key's uniqueness constraint) sets
// the properties ($props, the key included) only when it creates the node, and returns
// whatever is stored.
MERGE (r:IdempotencyRecord {key: $key})
  ON CREATE SET r = $props
RETURN r {.*} AS record
