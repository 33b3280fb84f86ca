// End a session once: one that has ended already matches nothing. The first SET takes the
// node's write lock before ended_at is read (as record_sign_in_success does), so of two
// concurrent ends one sets ended_at and the other finds it set.
MATCH (s:BrowserSession {id_sha256: $id_sha256})
SET s.account = s.account
WITH s
WHERE s.ended_at IS NULL
SET s.ended_at = $at
RETURN s.ended_at AS ended_at
