// Record the head after chaining old entries, unless an appender has recorded one since.
MERGE (c:LotgraphCounter {id: 'audit'})
WITH c
WHERE c.hash IS NULL
SET c.value = $seq, c.hash = $hash
