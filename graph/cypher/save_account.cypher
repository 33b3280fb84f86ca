// Insert or replace one account by name; $props holds every property, the name included.
// Null values in $props (locked_until, key_id) leave those properties unset, and the
// key_id uniqueness constraint rejects a clash with another account.
MERGE (a:Account {name: $name})
SET a = $props
