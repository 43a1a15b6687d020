// Package sqltest gives tests a fresh, migrated sqlstore.Store on SQLite and
// on PostgreSQL, so that every package tests against both databases.
//
// SQLite stores live in a file under t.TempDir(). PostgreSQL stores live in a
// schema of their own (t_<random>), created for the test and dropped at its
// cleanup, in the database named by HUB_TEST_POSTGRES_URL (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable). When PostgreSQL
// does not answer, its tests are skipped, or fail when
// HUB_TEST_REQUIRE_POSTGRES=1.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/7loc/hub/hub/sqlstore"
)

// Environment variables read by this package.
const (
	// EnvPostgresURL names the PostgreSQL database tests use.
	EnvPostgresURL = "HUB_TEST_POSTGRES_URL"
	// EnvRequirePostgres, set to 1, turns a missing PostgreSQL into a failure.
	EnvRequirePostgres = "HUB_TEST_REQUIRE_POSTGRES"
	// DefaultPostgresURL is used when EnvPostgresURL is empty.
	DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

// Dialects lists the databases Run covers, in order.
var Dialects = []string{sqlstore.DialectSQLite, sqlstore.DialectPostgres}

// Run runs fn as the subtests "sqlite" and "postgres", each with a fresh,
// migrated Store that is closed (and, on PostgreSQL, dropped) at cleanup.
func Run(t *testing.T, fn func(t *testing.T, s *sqlstore.Store)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}

// Open returns a fresh, migrated Store of the dialect ("sqlite" or
// "postgres"), opened with opts and closed at cleanup. For PostgreSQL it
// skips the test when the database does not answer (fails with
// HUB_TEST_REQUIRE_POSTGRES=1).
func Open(t testing.TB, dialect string, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var dbURL string
	switch dialect {
	case sqlstore.DialectSQLite:
		dbURL = filepath.Join(t.TempDir(), "hub.db")
	case sqlstore.DialectPostgres:
		dbURL = postgresSchema(t)
	default:
		t.Fatalf("sqltest: unknown dialect %q", dialect)
	}
	s, err := sqlstore.Open(ctx, dbURL, opts...)
	if err != nil {
		t.Fatalf("sqltest: open %s: %v", dialect, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("sqltest: migrate %s: %v", dialect, err)
	}
	return s
}

// PostgresURL returns the PostgreSQL URL tests use.
func PostgresURL() string {
	if u := os.Getenv(EnvPostgresURL); u != "" {
		return u
	}
	return DefaultPostgresURL
}

var (
	adminOnce sync.Once
	adminDB   *sql.DB
	adminErr  error
)

// admin returns one shared connection pool to the test database, or why
// there is none. It is opened once per test binary and never closed.
func admin() (*sql.DB, error) {
	adminOnce.Do(func() {
		db, err := sql.Open("pgx", PostgresURL())
		if err != nil {
			adminErr = err
			return
		}
		db.SetMaxOpenConns(4)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := db.PingContext(ctx); err != nil {
			_ = db.Close()
			adminErr = err
			return
		}
		adminDB = db
	})
	return adminDB, adminErr
}

// postgresSchema creates a schema of its own for the test, drops it at
// cleanup, and returns a URL whose connections use it.
func postgresSchema(t testing.TB) string {
	t.Helper()
	if !sqlstore.IsPostgresURL(PostgresURL()) {
		t.Fatalf("sqltest: %s must be a postgres:// URL", EnvPostgresURL)
	}
	db, err := admin()
	if err != nil {
		msg := "sqltest: PostgreSQL at " + redact(PostgresURL()) + " is unreachable (" + err.Error() +
			"); set " + EnvPostgresURL + " to test against it"
		if os.Getenv(EnvRequirePostgres) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("sqltest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("sqltest: drop schema %s: %v", schema, err)
		}
	})
	u, err := withSearchPath(PostgresURL(), schema)
	if err != nil {
		t.Fatalf("sqltest: %s: %v", EnvPostgresURL, err)
	}
	return u
}

// withSearchPath adds search_path, a run-time parameter pgx sends on
// connect, to a postgres:// URL.
func withSearchPath(conn, schema string) (string, error) {
	u, err := url.Parse(conn)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// redact hides a password in a URL for messages.
func redact(conn string) string {
	u, err := url.Parse(conn)
	if err != nil || u.User == nil {
		return conn
	}
	return u.Redacted()
}
