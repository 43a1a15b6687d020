package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/7loc/hub/hub"

	"github.com/jackc/pgx/v5/pgxpool"

	// The SQLite driver, registered as "sqlite".
	_ "modernc.org/sqlite"
)

// Dialect names returned by Store.Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// Store is a hub.Store on SQLite or PostgreSQL. It is safe for concurrent use.
type Store struct {
	pg   bool
	opts options
	// pool is PostgreSQL's connection pool; pgr runs Read's statements on it.
	pool     *pgxpool.Pool
	pgr      pgPool
	pgClosed atomic.Bool
	// pgWrites counts the PostgreSQL writes running or waiting for a
	// connection (bounded by maxConns + maxWaiting).
	pgWrites atomic.Int64
	// db is database/sql over the PostgreSQL pool (migrations only), or
	// SQLite's single-connection writer pool.
	db *sql.DB
	// rdb is SQLite's read-only pool; nil on PostgreSQL.
	rdb *sql.DB
	// w runs SQLite's writes on db's one connection; nil on PostgreSQL.
	w *sqliteWriter
	// reads runs SQLite's reads with cached prepared statements.
	reads *stmtCache
	// ckpt runs SQLite's WAL checkpoints in the background.
	ckpt  *checkpointer
	binds bindCache
	txOpt *sql.TxOptions
	// pinSlot, set by tests, picks the campaign counter slot instead of
	// chance.
	pinSlot func() int
}

var _ hub.Store = (*Store)(nil)

// Option changes how Open sets up the Store.
type Option func(*options)

type options struct {
	maxConns      int
	readConns     int
	busyTimeout   time.Duration
	writeAttempts int
	stmtTimeout   time.Duration
	lockTimeout   time.Duration
	maxWaiting    int
}

// WithMaxConns sets the size of the PostgreSQL pool. Zero or less means 16.
// SQLite ignores it: its writer pool always has exactly one connection.
func WithMaxConns(n int) Option { return func(o *options) { o.maxConns = n } }

// WithReadConns sets the number of SQLite reader connections. Zero or less
// means max(4, GOMAXPROCS). PostgreSQL ignores it.
func WithReadConns(n int) Option { return func(o *options) { o.readConns = n } }

// WithBusyTimeout sets how long SQLite waits for a lock held by another
// process before failing. Zero or less means 5 seconds. PostgreSQL ignores it.
func WithBusyTimeout(d time.Duration) Option { return func(o *options) { o.busyTimeout = d } }

// WithWriteAttempts sets how many times Write runs its function on
// PostgreSQL when the transaction hits a serialization failure or deadlock.
// Zero or less means 5; 1 disables retries. SQLite ignores it.
func WithWriteAttempts(n int) Option { return func(o *options) { o.writeAttempts = n } }

// WithStatementTimeout sets PostgreSQL's statement_timeout on every
// connection of the pool: a statement running longer is cancelled by the
// server and the call fails with unavailable. Zero or less leaves the
// server's setting (none, unless the URL or the role sets one). Migrate runs
// without it. SQLite ignores it.
func WithStatementTimeout(d time.Duration) Option { return func(o *options) { o.stmtTimeout = d } }

// WithLockTimeout sets PostgreSQL's lock_timeout on every connection of the
// pool: a statement waiting longer for a row or table lock (a card another
// transaction holds) fails with unavailable and its transaction rolls back.
// Zero or less leaves the server's setting (none, unless the URL or the role
// sets one). Migrate runs without it. SQLite ignores it (see
// WithBusyTimeout).
func WithLockTimeout(d time.Duration) Option { return func(o *options) { o.lockTimeout = d } }

// WithMaxWaitingWrites bounds the write transactions waiting for a
// PostgreSQL connection when every one of the pool is busy: past it a write
// is refused at once as unavailable (the API answers 503 with Retry-After)
// instead of waiting until its request's deadline. Zero or less means
// MaxQueuedWrites, the bound of SQLite's write queue. SQLite ignores it.
func WithMaxWaitingWrites(n int) Option { return func(o *options) { o.maxWaiting = n } }

func (o *options) defaults() {
	if o.maxConns <= 0 {
		o.maxConns = 16
	}
	if o.readConns <= 0 {
		o.readConns = max(4, runtime.GOMAXPROCS(0))
	}
	if o.busyTimeout <= 0 {
		o.busyTimeout = 5 * time.Second
	}
	if o.writeAttempts <= 0 {
		o.writeAttempts = 5
	}
	if o.maxWaiting <= 0 {
		o.maxWaiting = MaxQueuedWrites
	}
}

// IsPostgresURL reports whether a database URL selects PostgreSQL: it starts
// with postgres:// or postgresql://. Anything else is a SQLite file.
func IsPostgresURL(u string) bool {
	l := strings.ToLower(u)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// Open connects to the database the URL names and checks that it answers. A
// postgres:// or postgresql:// URL selects PostgreSQL; anything else is a
// SQLite file path or file: URL (the file and its directory are created when
// missing). Open does not migrate: call Migrate.
func Open(ctx context.Context, dbURL string, opts ...Option) (*Store, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	o.defaults()
	var (
		s   *Store
		err error
	)
	if IsPostgresURL(dbURL) {
		s, err = openPostgres(ctx, dbURL, o)
	} else {
		s, err = openSQLite(ctx, dbURL, o)
	}
	if err != nil {
		return nil, err
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func openSQLite(ctx context.Context, dbURL string, o options) (*Store, error) {
	path, query, err := sqlitePath(dbURL)
	if err != nil {
		return nil, err
	}
	if path == ":memory:" || query.Get("mode") == "memory" {
		// The writer and the readers would each see their own database.
		return nil, fmt.Errorf("sqlstore: an in-memory SQLite database is not supported, use a file")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, hub.Unavailable("database", fmt.Errorf("sqlstore: create directory: %w", err))
		}
	}
	busy := strconv.FormatInt(o.busyTimeout.Milliseconds(), 10)
	common := func(q url.Values) url.Values {
		q.Set("_busy_timeout", busy)
		q.Set("_foreign_keys", "on")
		q.Set("_synchronous", "NORMAL")
		// Statement journals and temporary tables stay in memory.
		q.Add("_pragma", "temp_store(MEMORY)")
		return q
	}

	wq := common(cloneValues(query))
	wq.Set("_journal_mode", "WAL")
	// The checkpointer, not the commit, copies the WAL into the file.
	wq.Add("_pragma", "wal_autocheckpoint(0)")
	// After a burst, a restarted WAL is cut back to 64 MiB.
	wq.Add("_pragma", "journal_size_limit(67108864)")
	writer, err := sql.Open("sqlite", "file:"+path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxIdleTime(0)
	writer.SetConnMaxLifetime(0)
	// The writer's first connection switches the file to WAL before any
	// reader opens it.
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, mapErr(err, "database")
	}

	rq := common(cloneValues(query))
	rq.Set("_query_only", "on")
	reader, err := sql.Open("sqlite", "file:"+path+"?"+rq.Encode())
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	reader.SetMaxOpenConns(o.readConns)
	reader.SetMaxIdleConns(o.readConns)
	reader.SetConnMaxIdleTime(0)
	reader.SetConnMaxLifetime(0)

	cq := common(cloneValues(query))
	ckpt, err := sql.Open("sqlite", "file:"+path+"?"+cq.Encode())
	if err != nil {
		writer.Close()
		reader.Close()
		return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	ckpt.SetMaxOpenConns(1)
	ckpt.SetMaxIdleConns(1)
	ckpt.SetConnMaxIdleTime(0)
	ckpt.SetConnMaxLifetime(0)
	w := newSQLiteWriter(writer)
	return &Store{
		opts:  o,
		db:    writer,
		rdb:   reader,
		w:     w,
		reads: newStmtCache(reader),
		ckpt:  startCheckpointer(ckpt, w, checkpointEvery),
	}, nil
}

// sqlitePath splits a SQLite path or file: URL into the path and its query.
func sqlitePath(dbURL string) (string, url.Values, error) {
	s := dbURL
	for _, p := range []string{"sqlite3://", "sqlite://", "file://", "file:"} {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			s = s[len(p):]
			break
		}
	}
	path, rawQuery, _ := strings.Cut(s, "?")
	if path == "" {
		return "", nil, fmt.Errorf("sqlstore: empty SQLite path in %q", dbURL)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", nil, fmt.Errorf("sqlstore: SQLite URL %q: %w", dbURL, err)
	}
	return path, q, nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v)+6)
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string {
	if s.pg {
		return DialectPostgres
	}
	return DialectSQLite
}

// Close closes the pools, after the running write (on SQLite) ends. Calls
// after Close fail with an unavailable error.
func (s *Store) Close() error {
	if s.pg {
		s.pgClosed.Store(true)
		err := s.db.Close()
		s.pool.Close()
		return err
	}
	err := s.ckpt.close()
	s.w.close()
	s.reads.close()
	return errors.Join(err, s.db.Close(), s.rdb.Close())
}

// Ping reports whether the database answers; a failure is an unavailable error.
func (s *Store) Ping(ctx context.Context) error {
	if !s.pg {
		// The reader pool opens the same file; the writer may be busy.
		if s.w.isClosed() {
			return hub.Unavailable("database", errClosed)
		}
		var one int
		if err := s.reads.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
			return hub.Unavailable("database", err)
		}
		return nil
	}
	if err := s.pool.Ping(ctx); err != nil {
		return hub.Unavailable("database", err)
	}
	return nil
}

// Read runs fn outside a transaction: each query sees the latest committed
// state on its own. Writes inside fn fail with an internal error. The Tx is
// for fn's goroutine only and only until fn returns.
func (s *Store) Read(ctx context.Context, fn func(hub.Tx) error) error {
	if s.pg {
		return fn(&tx{s: s, pg: s.pgr})
	}
	return fn(&tx{s: s, q: s.reads})
}

// Write runs fn in a transaction that commits when fn returns nil and rolls
// back otherwise. On SQLite transactions run one at a time (BEGIN IMMEDIATE
// on the single writer connection); on PostgreSQL they run at READ COMMITTED,
// rows read with forUpdate stay locked until the end, and fn runs again (up
// to the configured attempts) when the transaction hits a serialization
// failure or deadlock, so fn must not have effects outside the transaction.
// On PostgreSQL some writes wait and go out with the next statement or with
// COMMIT (see deferOne in tx.go): their failure is then the error of that
// statement and of Write. The Tx is for fn's goroutine only and only until
// fn returns; fn must not call Write (on SQLite that waits for itself).
func (s *Store) Write(ctx context.Context, fn func(hub.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.writeOnce(ctx, fn)
		if err == nil || !s.pg || attempt >= s.opts.writeAttempts || !retryable(err) {
			return err
		}
		// Jittered back-off: 1..5 ms times the attempt.
		d := time.Duration(attempt) * time.Duration(1000+rand.IntN(4000)) * time.Microsecond
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func (s *Store) writeOnce(ctx context.Context, fn func(hub.Tx) error) error {
	if s.pg {
		return s.writePG(ctx, fn)
	}
	return s.inTx(ctx, func(q querier) error { return fn(&tx{s: s, q: q, write: true}) })
}

// inTx runs fn in a transaction: on PostgreSQL a database/sql transaction
// at READ COMMITTED on the pool (migrations and tests only: Write has its
// own, see pg.go); on SQLite a savepoint inside a group commit on the writer
// connection (see groupcommit.go). It commits when fn returns nil and rolls
// back otherwise, also when fn panics.
func (s *Store) inTx(ctx context.Context, fn func(q querier) error) error {
	if !s.pg {
		return s.w.submit(ctx, fn)
	}
	sqlTx, err := s.db.BeginTx(ctx, s.txOpt)
	if err != nil {
		return mapErr(err, "transaction")
	}
	done := false
	defer func() {
		if !done {
			// fn panicked: end the transaction before the panic goes on.
			_ = sqlTx.Rollback()
		}
	}()
	err = fn(sqlTx)
	done = true
	if err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return mapErr(err, "transaction")
	}
	return nil
}
