package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
)

// querier is what both *sql.DB (Read) and *sql.Tx (Write) offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// scanner is a row: *sql.Row, *sql.Rows, or pgx's.
type scanner interface {
	Scan(dest ...any) error
}

// rowSet is what query returns: *sql.Rows, or pgx's rows.
type rowSet interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// tx implements hub.Tx over a transaction (Write) or the read pool (Read).
// On PostgreSQL statements run on pg (pgx's API, see pg.go), except inside
// inTx (migrations), which uses q as on SQLite.
type tx struct {
	s     *Store
	q     querier
	pg    pgRunner
	write bool
}

var _ hub.Tx = (*tx)(nil)

// errReadOnly is returned by writes attempted inside Store.Read.
var errReadOnly = errors.New("sqlstore: write attempted inside Store.Read")

// bind rewrites the ? placeholders for the dialect.
func (t *tx) bind(q string) string {
	if t.s.pg {
		return t.s.binds.get(q)
	}
	return q
}

func (t *tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if !t.write {
		return nil, errReadOnly
	}
	if t.pg != nil {
		return t.pg.exec(ctx, t.bind(q), args)
	}
	return t.q.ExecContext(ctx, t.bind(q), args...)
}

func (t *tx) queryRow(ctx context.Context, q string, args ...any) scanner {
	if t.pg != nil {
		return t.pg.queryRow(ctx, t.bind(q), args)
	}
	return t.q.QueryRowContext(ctx, t.bind(q), args...)
}

func (t *tx) query(ctx context.Context, q string, args ...any) (rowSet, error) {
	if t.pg != nil {
		return t.pg.query(ctx, t.bind(q), args)
	}
	rows, err := t.q.QueryContext(ctx, t.bind(q), args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// planEach makes the rest of a PostgreSQL write transaction plan each
// statement for its arguments (see pgTx.planEach); SQLite plans each anyway.
func (t *tx) planEach() {
	if p, ok := t.pg.(*pgTx); ok && t.write {
		p.planEach()
	}
}

// execOne runs an UPDATE that must touch exactly one row: none is not_found.
func (t *tx) execOne(ctx context.Context, kind, q string, args ...any) error {
	res, err := t.exec(ctx, q, args...)
	if err != nil {
		return mapErr(err, kind)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return mapErr(err, kind)
	}
	if n == 0 {
		return hub.NotFound(kind)
	}
	return nil
}

// deferOne is execOne for an UPDATE whose failure the caller only passes
// on. On PostgreSQL it goes out with the transaction's next statement or its
// COMMIT, saving a round trip: its error (not_found when it touches no row)
// then comes from that statement or from Write, and the transaction rolls
// back. On SQLite it runs at once.
func (t *tx) deferOne(ctx context.Context, kind, q string, args ...any) error {
	if p, ok := t.pg.(*pgTx); ok && t.write {
		p.later(pgWrite{kind: kind, q: t.bind(q), args: args, one: true})
		return nil
	}
	return t.execOne(ctx, kind, q, args...)
}

// deferCount is deferOne for an UPDATE that must touch exactly n rows:
// fewer (or more) is not_found.
func (t *tx) deferCount(ctx context.Context, kind, q string, n int, args ...any) error {
	if p, ok := t.pg.(*pgTx); ok && t.write {
		p.later(pgWrite{kind: kind, q: t.bind(q), args: args, rows: n})
		return nil
	}
	res, err := t.exec(ctx, q, args...)
	if err != nil {
		return mapErr(err, kind)
	}
	got, err := res.RowsAffected()
	if err != nil {
		return mapErr(err, kind)
	}
	if got != int64(n) {
		return hub.NotFound(kind)
	}
	return nil
}

// deferExec is deferOne for a statement that may touch any number of rows.
func (t *tx) deferExec(ctx context.Context, kind, q string, args ...any) error {
	if p, ok := t.pg.(*pgTx); ok && t.write {
		p.later(pgWrite{kind: kind, q: t.bind(q), args: args})
		return nil
	}
	_, err := t.exec(ctx, q, args...)
	return mapErr(err, kind)
}

// insert runs an INSERT that may break a unique constraint. It leaves the
// transaction usable either way, on both databases: the insert first runs
// with ON CONFLICT DO NOTHING (a PostgreSQL error would abort the whole
// transaction); only when nothing was inserted does it run again plainly,
// guarded by a savepoint, to learn which constraint it breaks.
func (t *tx) insert(ctx context.Context, kind, q string, args ...any) error {
	res, err := t.exec(ctx, q+" ON CONFLICT DO NOTHING", args...)
	if err != nil {
		return mapErr(err, kind)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return mapErr(err, kind)
	}
	if n > 0 {
		return nil
	}
	return t.guarded(ctx, kind, func() error {
		_, err := t.exec(ctx, q, args...)
		return err
	})
}

// guarded runs a statement that may fail on a constraint so that, on
// PostgreSQL, the failure does not abort the transaction (a savepoint), as
// it does not on SQLite.
func (t *tx) guarded(ctx context.Context, kind string, run func() error) error {
	if !t.write {
		return errReadOnly
	}
	if !t.s.pg {
		return mapErr(run(), kind)
	}
	if _, err := t.exec(ctx, "SAVEPOINT sqlstore_guard"); err != nil {
		return mapErr(err, kind)
	}
	if err := run(); err != nil {
		if _, rerr := t.exec(ctx, "ROLLBACK TO SAVEPOINT sqlstore_guard"); rerr != nil {
			return mapErr(errors.Join(err, rerr), kind)
		}
		return mapErr(err, kind)
	}
	if _, err := t.exec(ctx, "RELEASE SAVEPOINT sqlstore_guard"); err != nil {
		return mapErr(err, kind)
	}
	return nil
}

// tm converts a time to its stored form: UTC, truncated to milliseconds,
// TEXT on SQLite.
func (t *tx) tm(v time.Time) any {
	v = v.UTC().Truncate(time.Millisecond)
	if t.s.pg {
		return v
	}
	return v.Format(sqliteTime)
}

// ntm is tm for an optional time; nil is NULL.
func (t *tx) ntm(v *time.Time) any {
	if v == nil {
		return nil
	}
	return t.tm(*v)
}

// lock returns the FOR UPDATE clause for a row read with forUpdate inside a
// PostgreSQL write transaction. SQLite needs none: its single writer
// connection already serialises writers.
func (t *tx) lock(forUpdate bool, alias string) string {
	if forUpdate && t.write && t.s.pg {
		return " FOR UPDATE OF " + alias
	}
	return ""
}

// filter builds the WHERE clause and arguments of a list query.
type filter struct {
	where []string
	args  []any
}

// add appends a condition with its arguments.
func (f *filter) add(cond string, args ...any) {
	f.where = append(f.where, cond)
	f.args = append(f.args, args...)
}

// page adds the cursor condition on the id column and returns the ORDER BY
// and LIMIT tail: newest first, one row more than the page size.
func (f *filter) page(idCol string, p hub.Page) string {
	if p.Cursor != "" {
		f.add(idCol+" < ?", p.Cursor)
	}
	f.args = append(f.args, p.Size()+1)
	return " ORDER BY " + idCol + " DESC LIMIT ?"
}

// sql returns the WHERE clause.
func (f *filter) sql() string {
	if len(f.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(f.where, " AND ")
}

// list runs a query and scans each row.
func list[T any](ctx context.Context, t *tx, kind, q string, args []any, scan func(scanner) (*T, error)) ([]*T, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, mapErr(err, kind)
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, mapErr(err, kind)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err, kind)
	}
	return out, nil
}

// one runs a query for a single row and scans it; no row is not_found.
func one[T any](ctx context.Context, t *tx, kind, q string, args []any, scan func(scanner) (*T, error)) (*T, error) {
	v, err := scan(t.queryRow(ctx, q, args...))
	if err != nil {
		return nil, mapErr(err, kind)
	}
	return v, nil
}

// placeholders returns "(?, ?, ...)" groups for a multi-row VALUES list.
func placeholders(rows, cols int) string {
	group := "(" + strings.Repeat("?, ", cols-1) + "?)"
	var b strings.Builder
	b.Grow(rows * (len(group) + 2))
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(group)
	}
	return b.String()
}

// inList returns "?, ?, ..." for n values.
func inList(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}
