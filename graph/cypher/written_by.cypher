// Up to $limit stored rows of the model whose write id is one of $ids ('' for none).
CALL () {
  MATCH (n) WHERE any(l IN labels(n) WHERE l IN $labels) AND coalesce(n.write_id, '') IN $ids
  RETURN [l IN labels(n) WHERE l IN $labels][0] + ':' + n.id AS ref
  UNION ALL
  MATCH (a)-[r]->(b) WHERE type(r) IN $types AND coalesce(r.write_id, '') IN $ids
  RETURN [l IN labels(a) WHERE l IN $labels][0] + ':' + a.id + '-' + type(r) + '->'
       + [l IN labels(b) WHERE l IN $labels][0] + ':' + b.id
       + CASE WHEN coalesce(r.key, '') = '' THEN '' ELSE '#' + r.key END AS ref
}
RETURN ref LIMIT $limit
