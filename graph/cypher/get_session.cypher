MATCH (s:BrowserSession {id_sha256: $id_sha256})
RETURN s {.*} AS session
