// The first load is complete: its marker goes (see first_load_pending.cypher).
MATCH (m:LotgraphFirstLoad)
DELETE m
