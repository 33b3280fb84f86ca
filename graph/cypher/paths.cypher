// Paths of given shapes from some nodes (GraphStore.paths), one record holding every hit.
// graph/cypher_files.py paths_query fills the start label's slot and replaces the
// BRANCHES line by one UNION ALL branch per shape, each a pattern of model names only, e.g.
//   MATCH (n0)<-[:`PRODUCED`]-(n1:`Batch`)<-[:`CONCERNS`]-(n2:`Document`)
//   RETURN 1 AS shape, [n0.id, n1.id, n2.id] AS ids, [n0, n1, n2] AS nodes
// (nodes is [] unless the nodes' content is asked for). Parameters: $ids.
UNWIND $ids AS id
MATCH (n0:{{start}} {id: id})
CALL (n0) {
  BRANCHES
}
RETURN collect([shape, ids, [n IN nodes | properties(n)]]) AS found
