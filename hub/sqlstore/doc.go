// Package sqlstore is the hub's only SQL: it implements hub.Store and hub.Tx
// on SQLite (modernc.org/sqlite, pure Go, the default) and PostgreSQL
// (pgx through database/sql) from one code path.
//
// It owns the schema and its embedded migrations (one directory per
// dialect), the connection pools, the mapping of database errors to the
// domain's error codes, and the translation between rows and hub types. It
// owns no business rules: the domain decides, the store stores and finds.
//
// Queries are written once with ? placeholders and rebound to $1, $2, ... for
// PostgreSQL. Times are stored with millisecond precision in UTC: as
// timestamptz in PostgreSQL and as TEXT in one sortable format
// (2006-01-02T15:04:05.000Z) in SQLite.
//
// On SQLite a Store keeps two pools on one WAL-mode file: a writer pool of
// exactly one connection whose transactions begin IMMEDIATE, so writers queue
// in Go rather than spin in SQLite's busy handler, and a pool of read-only
// connections for Store.Read; both keep their prepared statements. WAL
// checkpoints run in a background goroutine on a connection of their own,
// off the commit path. On PostgreSQL one pool serves both; Write runs
// at READ COMMITTED, locks rows read with forUpdate (SELECT ... FOR UPDATE)
// and retries the whole function on serialization failures and deadlocks.
//
// Errors are mapped in one place (mapErr): no row is not_found, a unique
// violation is conflict, an unreachable, closed or busy database is
// unavailable, anything else is returned wrapped (internal). A conflict
// leaves the transaction usable on both databases (on PostgreSQL the
// statement runs as INSERT ... ON CONFLICT DO NOTHING or under a savepoint),
// so a caller may look up what exists and carry on. Writes inside Store.Read
// fail with an internal error on both databases.
//
// The event feed (Events) never skips an event for a poller that passes the
// newest id it saw: on SQLite ids grow in commit order (one writer draws and
// commits in turn); on PostgreSQL each event records its transaction's id
// (xid8, migration 0009), the feed is ordered by (xid, id) and holds back
// events at or above the snapshot's xmin (see events.go).
//
// Idempotency keys carry the random token of the request that claimed them
// and a committed flag that the transaction of the request's effect sets
// (CommitIdempotencyKey, with the response when the domain computed it); a
// committed key is never released before it expires.
//
// Open does not migrate; call Migrate (cmd/hub does on start).
package sqlstore
