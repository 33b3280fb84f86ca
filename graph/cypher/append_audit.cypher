// Entries get consecutive sequence numbers; the counter node serialises concurrent writers.
MERGE (c:LotgraphCounter {id: 'audit'})
  ON CREATE SET c.value = 0
SET c.value = c.value + size($rows)
WITH c.value - size($rows) AS base
UNWIND range(0, size($rows) - 1) AS i
CREATE (a:AuditEntry)
SET a = $rows[i], a.seq = base + i + 1
