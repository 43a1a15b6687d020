package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// TestStatementTimeout: WithStatementTimeout reaches every pooled
// connection, so the server cancels a statement that runs longer; Migrate
// (run by sqltest.Open) is not bound by it.
func TestStatementTimeout(t *testing.T) {
	s := sqltest.Open(t, sqlstore.DialectPostgres,
		sqlstore.WithStatementTimeout(150*time.Millisecond), sqlstore.WithLockTimeout(100*time.Millisecond))
	ctx := context.Background()
	start := time.Now()
	err := s.ExecForTest(ctx, "SELECT pg_sleep(3)")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" {
		t.Fatalf("a 3 s statement under a 150 ms statement_timeout: %v, want SQLSTATE 57014", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the statement was cancelled after %v, want about 150 ms", took)
	}
	if err := s.ExecForTest(ctx, "DO $$ BEGIN IF current_setting('lock_timeout') <> '100ms' THEN "+
		"RAISE EXCEPTION 'lock_timeout is %', current_setting('lock_timeout'); END IF; END $$"); err != nil {
		t.Errorf("lock_timeout: %v", err)
	}
}
