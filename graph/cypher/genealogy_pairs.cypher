// One relationship type of the lot genealogy as (source id, destination id) rows
// (graph/genealogy.py). Slots: {{source}}, {{type}}, {{target}}.
MATCH (s:{{source}})-[:{{type}}]->(d:{{target}})
RETURN s.id AS source, d.id AS target
