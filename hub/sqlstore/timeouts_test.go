package sqlstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/7loc/hub/hub"
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

// TestWaitingWritesBounded: with every connection of the pool held by a
// write and the waiting room full, one more write is refused at once as
// unavailable; the writes that waited run once a connection is free.
func TestWaitingWritesBounded(t *testing.T) {
	s := sqltest.Open(t, sqlstore.DialectPostgres, sqlstore.WithMaxConns(2), sqlstore.WithMaxWaitingWrites(3))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	release := make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	defer free() // a failed test lets the holders go before the store closes
	held := make(chan struct{}, 2)
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	write := func(hold bool) {
		defer wg.Done()
		errs <- s.Write(ctx, func(tx hub.Tx) error {
			if hold {
				held <- struct{}{}
				<-release
			}
			_, err := tx.Business(ctx, "b_none")
			if hub.ErrorCode(err) == hub.ENotFound {
				return nil
			}
			return err
		})
	}
	wg.Add(2)
	go write(true)
	go write(true)
	for range 2 {
		select {
		case <-held:
		case err := <-errs:
			t.Fatalf("a holding write ended: %v", err)
		case <-ctx.Done():
			t.Fatal("the two writes did not both get a connection of the pool of 2")
		}
	}
	wg.Add(3)
	for range 3 {
		go write(false) // these wait for a connection
	}
	// Give the three time to reach the pool's queue (they cannot be
	// observed there); a fourth is then one too many.
	time.Sleep(500 * time.Millisecond)
	pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
	start := time.Now()
	refused := s.Write(pctx, func(hub.Tx) error { return nil })
	pcancel()
	if hub.ErrorCode(refused) != hub.EUnavailable || !strings.Contains(refused.Error(), "too many writes") {
		t.Fatalf("a write past the waiting room = %v, want unavailable", refused)
	}
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Errorf("refused after %v, want at once", took)
	}
	free()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a write that waited failed: %v", err)
		}
	}
	if err := s.Write(ctx, func(hub.Tx) error { return nil }); err != nil {
		t.Errorf("a write after the crowd: %v", err)
	}
}
