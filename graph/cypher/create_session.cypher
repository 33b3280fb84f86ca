// A new dashboard session: CREATE under the id_sha256 uniqueness constraint, so a second
// create of the same id fails instead of replacing it.
CREATE (s:BrowserSession)
SET s = $props
