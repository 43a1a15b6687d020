package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jackc/puddle/v2"

	"github.com/7loc/hub/hub"
)

// PostgreSQL runs on pgx's own API, not database/sql: statements are
// prepared once per connection (pgx's statement cache), and a write
// transaction pipelines what it can. BEGIN is not a round trip of its own: it
// goes out with the transaction's first statement. Writes whose outcome the
// caller does not need at once (deferOne, deferExec: a card update, the
// events of a request, events marked dispatched, a successful delivery
// attempt) wait and go out with the next statement or with COMMIT. A stamp is
// two round trips (BEGIN and the locking read; the writes and COMMIT) where it
// was five, and a transaction that runs nothing costs none.

// pgBegin starts every write transaction.
const pgBegin = "BEGIN ISOLATION LEVEL READ COMMITTED"

// openPostgres connects the pool. Migrations and test helpers use database/sql
// on the same pool (db); reads and writes use the pool directly.
func openPostgres(ctx context.Context, dbURL string, o options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open postgres: %w", err)
	}
	cfg.MaxConns = int32(o.maxConns)
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.MaxConnLifetime = 30 * time.Minute
	// Timeouts go out with the startup message: no round trip of their own.
	// A value the URL names (?statement_timeout=…) wins.
	for name, d := range map[string]time.Duration{"statement_timeout": o.stmtTimeout, "lock_timeout": o.lockTimeout} {
		if _, set := cfg.ConnConfig.RuntimeParams[name]; !set && d > 0 {
			cfg.ConnConfig.RuntimeParams[name] = strconv.FormatInt(max(d.Milliseconds(), 1), 10)
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, hub.Unavailable("database", fmt.Errorf("sqlstore: open postgres: %w", err))
	}
	s := &Store{
		pg:    true,
		opts:  o,
		pool:  pool,
		db:    stdlib.OpenDBFromPool(pool),
		txOpt: &sql.TxOptions{Isolation: sql.LevelReadCommitted},
	}
	// database/sql would keep idle connections of its own out of the pool
	// (two by default): it gives each back at once instead.
	s.db.SetMaxIdleConns(0)
	s.pgr = pgPool{p: pool, closed: &s.pgClosed}
	return s, nil
}

// pgRunner runs statements on PostgreSQL: the pool (Store.Read) or a write
// transaction (Store.Write). Queries use $n placeholders.
type pgRunner interface {
	exec(ctx context.Context, q string, args []any) (sql.Result, error)
	query(ctx context.Context, q string, args []any) (rowSet, error)
	queryRow(ctx context.Context, q string, args []any) scanner
}

// pgPool runs each statement on a connection of the pool.
type pgPool struct {
	p      *pgxpool.Pool
	closed *atomic.Bool
}

func (p pgPool) exec(ctx context.Context, q string, args []any) (sql.Result, error) {
	if p.closed.Load() {
		return nil, errClosed
	}
	ct, err := p.p.Exec(ctx, q, args...)
	if err != nil {
		return nil, pgPoolErr(err)
	}
	return pgResult(ct.RowsAffected()), nil
}

func (p pgPool) query(ctx context.Context, q string, args []any) (rowSet, error) {
	if p.closed.Load() {
		return nil, errClosed
	}
	rows, err := p.p.Query(ctx, q, args...)
	if err != nil {
		return nil, pgPoolErr(err)
	}
	return pgRows{rows}, nil
}

func (p pgPool) queryRow(ctx context.Context, q string, args []any) scanner {
	if p.closed.Load() {
		return errRow{errClosed}
	}
	return pgPoolRow{p.p.QueryRow(ctx, q, args...)}
}

// pgPoolRow maps the pool's errors.
type pgPoolRow struct{ pgx.Row }

// Scan implements scanner.
func (r pgPoolRow) Scan(dest ...any) error { return pgPoolErr(r.Row.Scan(dest...)) }

// pgPoolErr turns the error of a closed pool into errClosed (unavailable).
func pgPoolErr(err error) error {
	if errors.Is(err, puddle.ErrClosedPool) {
		return fmt.Errorf("%w: %w", errClosed, err)
	}
	return err
}

// pgResult is the sql.Result of a PostgreSQL statement: rows affected.
type pgResult int64

// LastInsertId implements sql.Result; PostgreSQL has none.
func (pgResult) LastInsertId() (int64, error) {
	return 0, errors.New("sqlstore: LastInsertId is not supported by PostgreSQL")
}

// RowsAffected implements sql.Result.
func (r pgResult) RowsAffected() (int64, error) { return int64(r), nil }

// pgRows adapts pgx.Rows to rowSet.
type pgRows struct{ pgx.Rows }

// Close implements rowSet.
func (r pgRows) Close() error {
	r.Rows.Close()
	return r.Rows.Err()
}

// errRow is a row whose Scan fails with err.
type errRow struct{ err error }

// Scan implements scanner.
func (r errRow) Scan(...any) error { return r.err }

// pgWrite is a deferred write: it goes out with the next statement or COMMIT.
type pgWrite struct {
	kind string
	q    string
	args []any
	// one: the statement is wrapped so that touching no row fails it with
	// division_by_zero, which becomes not_found (kind).
	one bool
	// rows, when positive: the statement is wrapped so that touching any
	// other number of rows fails it as one does.
	rows int
	// redraw: a unique violation means a value drawn at random was taken;
	// the transaction fails with errRedraw, which Write retries.
	redraw bool
}

// pgTx is a PostgreSQL write transaction on one connection of the pool.
type pgTx struct {
	conn *pgx.Conn
	// begun: BEGIN has gone out (possibly with statements after it).
	begun bool
	// pending writes, in order.
	pending []pgWrite
	// err is the first failure of a deferred write (already mapped): every
	// later statement fails with it and the transaction can only roll back.
	err error
	// customPlans: the transaction plans each statement for its arguments.
	customPlans bool
}

// planEach makes the rest of the transaction plan every statement for its
// own arguments and the tables' sizes now (SET LOCAL plan_cache_mode,
// queued with the next statement, so it costs no round trip). The set
// statements of a send batch (a list of ids of a table that grows by
// millions within minutes: deliveries) otherwise settle, after five runs on
// a connection, on a generic plan made while the table was small — a
// sequential scan, kept until the table is next analyzed; a campaign on a
// fresh database read every delivery per statement for its first minute.
// The stamp path keeps generic plans: planning each of its statements
// doubled PostgreSQL's CPU per stamp.
func (p *pgTx) planEach() {
	if p.customPlans {
		return
	}
	p.customPlans = true
	p.pending = append(p.pending, pgWrite{kind: "transaction", q: "SET LOCAL plan_cache_mode = force_custom_plan"})
}

// oneRow wraps an UPDATE or DELETE so that PostgreSQL fails it when it
// touches no row: the check happens on the server, before a COMMIT that may
// travel in the same pipeline.
func oneRow(q string) string {
	return "WITH sqlstore_one AS (" + q + " RETURNING 1) SELECT 1 / COUNT(*) FROM sqlstore_one"
}

// later queues a write.
func (p *pgTx) later(w pgWrite) {
	w.args = snapshotArgs(w.args)
	switch {
	case w.one:
		w.q = oneRow(w.q)
	case w.rows > 0:
		w.q = "WITH sqlstore_one AS (" + w.q + " RETURNING 1) SELECT 1 / (CASE COUNT(*) WHEN " + strconv.Itoa(w.rows) +
			" THEN 1 ELSE 0 END) FROM sqlstore_one"
		w.one = true
	}
	p.pending = append(p.pending, w)
}

// snapshotArgs copies the values behind pointer arguments, so that a
// deferred write sends what the caller passed, not what the pointers hold
// by the time it goes out.
func snapshotArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case *string:
			a = deref(v, a)
		case *int:
			a = deref(v, a)
		case *int64:
			a = deref(v, a)
		case *int32:
			a = deref(v, a)
		case *bool:
			a = deref(v, a)
		case *float64:
			a = deref(v, a)
		case *time.Time:
			a = deref(v, a)
		case []byte:
			if v != nil {
				a = append([]byte(nil), v...)
			}
		}
		out[i] = a
	}
	return out
}

// deref returns the value behind p, or orig (a typed nil, which is NULL)
// when p is nil.
func deref[T any](p *T, orig any) any {
	if p == nil {
		return orig
	}
	return *p
}

// direct reports whether a statement can go out alone: the transaction has
// begun and nothing waits.
func (p *pgTx) direct() bool { return p.begun && len(p.pending) == 0 }

// prefix returns a batch with BEGIN (unless sent) and the pending writes.
func (p *pgTx) prefix() *pgx.Batch {
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(p.pending)+2)}
	if !p.begun {
		b.Queue(pgBegin)
	}
	for _, w := range p.pending {
		b.Queue(w.q, w.args...)
	}
	return b
}

// send sends a batch made by prefix (and whatever was queued after) and reads
// the results of BEGIN and the pending writes; the caller reads the rest and
// closes br. A failure is also stored in p.err.
func (p *pgTx) send(ctx context.Context, b *pgx.Batch) (pgx.BatchResults, error) {
	withBegin := !p.begun
	p.begun = true
	pending := p.pending
	p.pending = p.pending[:0]
	br := p.conn.SendBatch(ctx, b)
	if withBegin {
		if _, err := br.Exec(); err != nil {
			return br, p.fail(err, "transaction")
		}
	}
	for _, w := range pending {
		if _, err := br.Exec(); err != nil {
			var pe *pgconn.PgError
			if w.one && errors.As(err, &pe) && pe.Code == "22012" {
				return br, p.fail(hub.NotFound(w.kind), w.kind)
			}
			if w.redraw && errors.As(err, &pe) && pe.Code == "23505" {
				return br, p.fail(fmt.Errorf("%w: %w", errRedraw, err), w.kind)
			}
			return br, p.fail(err, w.kind)
		}
	}
	return br, nil
}

// fail records the first failure of the transaction.
func (p *pgTx) fail(err error, kind string) error {
	if p.err == nil {
		p.err = mapErr(err, kind)
	}
	return p.err
}

func (p *pgTx) exec(ctx context.Context, q string, args []any) (sql.Result, error) {
	if p.err != nil {
		return nil, p.err
	}
	if p.direct() {
		ct, err := p.conn.Exec(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		return pgResult(ct.RowsAffected()), nil
	}
	b := p.prefix()
	b.Queue(q, args...)
	br, err := p.send(ctx, b)
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	ct, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return pgResult(ct.RowsAffected()), nil
}

func (p *pgTx) query(ctx context.Context, q string, args []any) (rowSet, error) {
	if p.err != nil {
		return nil, p.err
	}
	if p.direct() {
		rows, err := p.conn.Query(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		return pgRows{rows}, nil
	}
	b := p.prefix()
	b.Queue(q, args...)
	br, err := p.send(ctx, b)
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		rows.Close()
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

func (p *pgTx) queryRow(ctx context.Context, q string, args []any) scanner {
	if p.err != nil {
		return errRow{p.err}
	}
	if p.direct() {
		return p.conn.QueryRow(ctx, q, args...)
	}
	b := p.prefix()
	b.Queue(q, args...)
	br, err := p.send(ctx, b)
	if err != nil {
		_ = br.Close()
		return errRow{err}
	}
	return &batchRow{row: br.QueryRow(), br: br}
}

// batchRow is the row of the last statement of a batch; Scan also ends the
// batch.
type batchRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

// Scan implements scanner.
func (r *batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// batchRows are the rows of the last statement of a batch; Close also ends
// the batch.
type batchRows struct {
	pgx.Rows
	br pgx.BatchResults
}

// Close implements rowSet.
func (r *batchRows) Close() error {
	r.Rows.Close()
	err := r.Rows.Err()
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// commit sends the pending writes and COMMIT together. A transaction that
// ran nothing needs neither BEGIN nor COMMIT.
func (p *pgTx) commit(ctx context.Context) error {
	if p.err != nil {
		return p.err
	}
	if !p.begun && len(p.pending) == 0 {
		return nil
	}
	b := p.prefix()
	b.Queue("COMMIT")
	br, err := p.send(ctx, b)
	if err == nil {
		_, err = br.Exec()
		if err != nil {
			err = mapErr(err, "transaction")
		}
	}
	if cerr := br.Close(); err == nil && cerr != nil {
		err = mapErr(cerr, "transaction")
	}
	if err != nil {
		return err
	}
	p.begun, p.customPlans = false, false
	return nil
}

// rollback ends the transaction unless it has ended. When ROLLBACK fails
// the connection is closed, and the server ends the transaction with it.
func (p *pgTx) rollback() {
	p.pending, p.customPlans = nil, false
	if !p.begun || p.conn.IsClosed() {
		return
	}
	p.begun = false
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.conn.Exec(ctx, "ROLLBACK"); err != nil {
		_ = p.conn.Close(ctx)
	}
}

// writePG runs fn in a PostgreSQL transaction on a connection of the pool.
func (s *Store) writePG(ctx context.Context, fn func(hub.Tx) error) error {
	if s.pgClosed.Load() {
		return mapErr(errClosed, "transaction")
	}
	defer s.pgWrites.Add(-1)
	if s.pgWrites.Add(1) > int64(s.opts.maxConns+s.opts.maxWaiting) {
		return hub.Errorf(hub.EUnavailable, "the database is busy: too many writes wait for a connection; try again shortly")
	}
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return mapErr(pgPoolErr(err), "transaction")
	}
	p := &pgTx{conn: c.Conn()}
	defer func() {
		// Also when fn panics: the connection goes back to the pool idle (or
		// closed, which the pool drops).
		p.rollback()
		c.Release()
	}()
	if err := fn(&tx{s: s, pg: p, write: true}); err != nil {
		return err
	}
	if err := p.commit(ctx); err != nil {
		return err
	}
	return nil
}
