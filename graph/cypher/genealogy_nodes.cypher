// The ids of one label of the lot genealogy (graph/genealogy.py numbers them). Slot: {{label}}.
MATCH (n:{{label}})
RETURN n.id AS id
