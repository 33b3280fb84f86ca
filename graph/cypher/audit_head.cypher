// The head the store keeps beside the trail: the last entry's seq and hash.
MATCH (c:LotgraphCounter {id: 'audit'})
RETURN c.value AS seq, c.hash AS hash
