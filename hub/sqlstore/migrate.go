package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrationFS embed.FS

// migration is one embedded SQL file: migrations/<dialect>/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the dialect's migrations in version order.
func migrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlstore: migration %s/%s: the name must start with a positive number and _", dir, name)
		}
		b, err := migrationFS.ReadFile(path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: migration %s: %w", name, err)
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("sqlstore: migrations %s and %s share a version", out[i-1].name, out[i].name)
		}
	}
	return out, nil
}

// pgMigrateLock is the advisory lock key that serialises migrators on PostgreSQL.
const pgMigrateLock = 74_100_001

// Migrate applies the embedded migrations of the store's dialect that the
// database has not seen yet, in order, in one transaction, recording each in
// schema_migrations. Running it again is a no-op; on PostgreSQL concurrent
// runs wait for each other (an advisory lock).
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations(s.Dialect())
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(q querier) error {
		appliedAt := "TEXT"
		if s.pg {
			// A migration may rewrite a large table or wait for the locks of
			// running transactions: the pool's timeouts are for requests.
			if _, err := q.ExecContext(ctx, "SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0"); err != nil {
				return mapErr(err, "migration")
			}
			if _, err := q.ExecContext(ctx, "SELECT pg_advisory_xact_lock("+strconv.Itoa(pgMigrateLock)+")"); err != nil {
				return mapErr(err, "migration")
			}
			appliedAt = "TIMESTAMPTZ"
		}
		if _, err := q.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS schema_migrations ("+
			"version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at "+appliedAt+" NOT NULL)"); err != nil {
			return mapErr(err, "migration")
		}
		applied, err := appliedVersions(ctx, q)
		if err != nil {
			return mapErr(err, "migration")
		}
		t := &tx{s: s, q: q, write: true}
		for _, m := range ms {
			if applied[m.version] {
				continue
			}
			if _, err := q.ExecContext(ctx, m.sql); err != nil {
				return mapErr(err, "migration "+m.name)
			}
			if _, err := t.exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.version, m.name, t.tm(time.Now())); err != nil {
				return mapErr(err, "migration "+m.name)
			}
		}
		return nil
	})
}

// appliedVersions reads the versions recorded in schema_migrations.
func appliedVersions(ctx context.Context, q querier) (map[int]bool, error) {
	rows, err := q.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}
