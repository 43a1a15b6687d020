package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// maxStmts bounds each cache of prepared statements; queries past it run
// unprepared.
const maxStmts = 256

// errClosed is returned by a Store used after Close.
var errClosed = errors.New("sqlstore: the store is closed")

// sqliteWriter is SQLite's single writer connection. Writers queue on sem
// (in Go, cancellable by their context), then run BEGIN IMMEDIATE ... COMMIT
// on the one connection, whose prepared statements stay cached across
// transactions. conn and stmts are used only by the holder of sem.
type sqliteWriter struct {
	db     *sql.DB
	sem    chan struct{}
	conn   *sql.Conn
	stmts  map[string]*sql.Stmt
	closed atomic.Bool
	group  groupQueue
	// yield asks the group-commit leader to release the writer after its
	// current group, so that the checkpointer gets it promptly.
	yield atomic.Bool
}

func newSQLiteWriter(db *sql.DB) *sqliteWriter {
	return &sqliteWriter{db: db, sem: make(chan struct{}, 1), stmts: map[string]*sql.Stmt{}}
}

// acquire waits for the writer connection.
func (w *sqliteWriter) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case w.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *sqliteWriter) release() { <-w.sem }

// open makes sure the holder has a connection.
func (w *sqliteWriter) open(ctx context.Context) error {
	if w.closed.Load() {
		return errClosed
	}
	if w.conn != nil {
		return nil
	}
	c, err := w.db.Conn(ctx)
	if err != nil {
		return err
	}
	w.conn = c
	return nil
}

// reset drops the connection and its statements; the next open takes a
// fresh one. It also ends any transaction the connection had open.
func (w *sqliteWriter) reset() {
	for q, st := range w.stmts {
		_ = st.Close()
		delete(w.stmts, q)
	}
	if w.conn != nil {
		_ = w.conn.Raw(func(any) error { return driver.ErrBadConn }) // discard, not pool
		_ = w.conn.Close()
		w.conn = nil
	}
}

// begin starts an immediate transaction: the write lock is taken now, not
// at the first write.
func (w *sqliteWriter) begin(ctx context.Context) error {
	if _, err := w.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		w.afterError(err)
		return err
	}
	return nil
}

// commit ends the transaction; when COMMIT fails it rolls back. Once fn
// has succeeded the commit no longer depends on the caller's context.
func (w *sqliteWriter) commit() error {
	if _, err := w.conn.ExecContext(context.Background(), "COMMIT"); err != nil {
		w.rollback()
		return err
	}
	return nil
}

// rollback ends the transaction, whatever the caller's context says. When
// it cannot, the connection goes, and with it the transaction.
func (w *sqliteWriter) rollback() {
	if w.conn == nil {
		return
	}
	if _, err := w.conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		w.reset()
	}
}

// afterError drops a connection that the driver reports broken.
func (w *sqliteWriter) afterError(err error) {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		w.reset()
	}
}

// stmt returns the cached prepared statement for q, preparing it on first
// use, or nil when it cannot be cached (the caller then runs q directly and
// gets the real error, if any).
func (w *sqliteWriter) stmt(ctx context.Context, q string) *sql.Stmt {
	if st, ok := w.stmts[q]; ok {
		return st
	}
	if len(w.stmts) >= maxStmts {
		return nil
	}
	st, err := w.conn.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	w.stmts[q] = st
	return st
}

// The writer's statements run without the caller's context: inside BEGIN
// IMMEDIATE nothing waits for a lock, and an interrupted statement could
// make SQLite roll back the whole transaction while fn goes on, so that its
// later statements would commit one by one. The context still bounds the
// wait for the writer and BEGIN.

// ExecContext implements querier on the writer connection.
func (w *sqliteWriter) ExecContext(_ context.Context, q string, args ...any) (sql.Result, error) {
	ctx := context.Background()
	if len(args) == 0 {
		// Scripts (migrations) and one-off statements stay out of the cache.
		return w.conn.ExecContext(ctx, q)
	}
	if st := w.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return w.conn.ExecContext(ctx, q, args...)
}

// QueryContext implements querier on the writer connection.
func (w *sqliteWriter) QueryContext(_ context.Context, q string, args ...any) (*sql.Rows, error) {
	ctx := context.Background()
	if st := w.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return w.conn.QueryContext(ctx, q, args...)
}

// QueryRowContext implements querier on the writer connection.
func (w *sqliteWriter) QueryRowContext(_ context.Context, q string, args ...any) *sql.Row {
	ctx := context.Background()
	if st := w.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return w.conn.QueryRowContext(ctx, q, args...)
}

// isClosed reports whether close has run.
func (w *sqliteWriter) isClosed() bool { return w.closed.Load() }

// close ends the writer: it waits for the running transaction, then drops
// the connection; later writes fail with errClosed.
func (w *sqliteWriter) close() {
	w.sem <- struct{}{}
	w.closed.Store(true)
	w.reset()
	<-w.sem
}

// stmtCache keeps prepared statements of a pool: database/sql prepares each
// on a connection the first time it runs there and reuses it afterwards.
type stmtCache struct {
	db *sql.DB
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache { return &stmtCache{db: db, m: map[string]*sql.Stmt{}} }

// get returns the prepared statement for q, or nil when it cannot be cached.
func (c *stmtCache) get(ctx context.Context, q string) *sql.Stmt {
	c.mu.RLock()
	st, ok := c.m[q]
	n := len(c.m)
	c.mu.RUnlock()
	if ok {
		return st
	}
	if n >= maxStmts {
		return nil
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[q]; ok {
		_ = st.Close()
		return prev
	}
	c.m[q] = st
	return st
}

// ExecContext implements querier on the pool.
func (c *stmtCache) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := c.get(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.db.ExecContext(ctx, q, args...)
}

// QueryContext implements querier on the pool.
func (c *stmtCache) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := c.get(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.db.QueryContext(ctx, q, args...)
}

// QueryRowContext implements querier on the pool.
func (c *stmtCache) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := c.get(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.db.QueryRowContext(ctx, q, args...)
}

// close closes the cached statements.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		_ = st.Close()
		delete(c.m, q)
	}
}

// Checkpoint tuning: how often the checkpointer copies the WAL into the
// database file, and the WAL length (in frames, about 4 KiB each) past which
// it briefly holds the writer back so that the checkpoint completes and the
// next transaction starts the WAL from the beginning again.
const (
	checkpointEvery     = 250 * time.Millisecond
	checkpointHoldWrite = 4096
	// checkpointShortTail is the uncopied tail, in frames, short enough to
	// copy while holding the writer back.
	checkpointShortTail = 256
)

// checkpointer runs SQLite's WAL checkpoints on a connection of its own, so
// that their fsyncs stay off the writer's commit path (the writer has
// automatic checkpoints turned off). A PASSIVE checkpoint blocks neither the
// writer nor the readers but cannot finish while the writer keeps appending,
// so when the WAL grows long the checkpointer takes the writer's turn for a
// second, short pass that copies what the first one left.
type checkpointer struct {
	db   *sql.DB
	w    *sqliteWriter
	stop chan struct{}
	done chan struct{}
	// holds counts the passes that held the writer back.
	holds atomic.Int64
}

func startCheckpointer(db *sql.DB, w *sqliteWriter, every time.Duration) *checkpointer {
	c := &checkpointer{db: db, w: w, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run(every)
	return c
}

func (c *checkpointer) run(every time.Duration) {
	defer close(c.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.tick()
		}
	}
}

// tick copies the WAL into the database with PASSIVE checkpoints, which do not
// stop writers. When the WAL has grown past checkpointHoldWrite frames it
// must start over, which needs one checkpoint that copies every frame before
// the next write: passes repeat while writers keep appending (a pass copies
// far faster than writers append, so the uncopied tail shrinks each time),
// and only when the tail is short is the writer held back for the last pass,
// a copy of a few milliseconds. Failures are left for the next tick.
func (c *checkpointer) tick() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	frames, _, err := c.checkpoint(ctx)
	if err != nil || frames < checkpointHoldWrite {
		return
	}
	for pass := 0; pass < 8; pass++ {
		next, _, err := c.checkpoint(ctx)
		if err != nil {
			return
		}
		appended := next - frames
		frames = next
		if appended <= checkpointShortTail {
			break
		}
	}
	c.w.yield.Store(true) // the group-commit leader lets go after its current group
	err = c.w.acquire(ctx)
	c.w.yield.Store(false)
	if err != nil {
		return
	}
	defer c.w.release()
	if !c.w.isClosed() {
		_, _, _ = c.checkpoint(ctx)
		c.holds.Add(1)
	}
}

// checkpoint runs a PASSIVE checkpoint and returns the WAL's length and how
// much of it is copied into the database, in frames.
func (c *checkpointer) checkpoint(ctx context.Context) (frames, copied int, err error) {
	var busy int
	err = c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
	return frames, copied, err
}

// close stops the checkpointer and closes its connection; SQLite
// checkpoints once more when the last connection to the file closes.
func (c *checkpointer) close() error {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.done
	return c.db.Close()
}
