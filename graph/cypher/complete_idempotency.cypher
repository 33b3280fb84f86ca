// Replace a reservation (status_code 0) of the same request by its answer. The first SET
// takes the record's write lock before the check: of concurrent completions (or a
// take-over) one finds the reservation. $reserved: the body
// of the reservation the answer completes (null: any), so a request whose stale
// reservation another took over cannot complete it.
MATCH (r:IdempotencyRecord {key: $key})
SET r._lock = true
WITH r, r.request_sha256 = $request_sha256 AND r.status_code = 0
        AND ($reserved IS NULL OR r.body = $reserved) AS ok
REMOVE r._lock
WITH r WHERE ok
SET r.status_code = $status_code, r.body = $body, r.at = $at
RETURN count(r) AS completed
