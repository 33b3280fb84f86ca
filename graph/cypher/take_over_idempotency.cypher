// Take over a stale reservation: replace its body (the token) only while it is still the
// reservation read. The first SET takes the record's write lock before anything of it is
// read: of concurrent takers (or a late completion) one finds it unchanged.
MATCH (r:IdempotencyRecord {key: $key})
SET r._lock = true
WITH r, r.request_sha256 = $request_sha256 AND r.status_code = 0 AND r.body = $stale_body AS ok
REMOVE r._lock
WITH r WHERE ok
SET r.body = $body, r.at = $at
RETURN count(r) AS taken
