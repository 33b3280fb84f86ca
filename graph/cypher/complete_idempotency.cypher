// Replace a reservation (status_code 0) of the same request by its answer; the record's
// write lock is taken by SET, so of concurrent completions one finds the reservation.
MATCH (r:IdempotencyRecord {key: $key})
WHERE r.request_sha256 = $request_sha256 AND r.status_code = 0
SET r.status_code = $status_code, r.body = $body, r.at = $at
RETURN count(r) AS completed
