package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/7loc/hub/hub"
)

func TestRebind(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"a = ? AND b = ?", "a = $1 AND b = $2"},
		{"a = '?' AND b = ?", "a = '?' AND b = $1"},
		{`"we?ird" = ? OR c IN (?, ?)`, `"we?ird" = $1 OR c IN ($2, $3)`},
	}
	for _, tc := range tests {
		if got := rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var c bindCache
	if got := c.get("x = ?"); got != "x = $1" {
		t.Errorf("cache get = %q", got)
	}
	if got := c.get("x = ?"); got != "x = $1" || c.n.Load() != 1 {
		t.Errorf("cached get = %q, %d entries", got, c.n.Load())
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2026, 5, 11, 12, 34, 56, 123_000_000, time.UTC)
	for _, s := range []string{
		"2026-05-11T12:34:56.123Z",
		"2026-05-11T15:34:56.123+03:00",
		"2026-05-11 12:34:56.123+00:00",
		"2026-05-11 12:34:56.123",
	} {
		got, err := parseTime(s)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := parseTime("yesterday"); err == nil {
		t.Error("parseTime(yesterday) succeeded")
	}
	var p *time.Time
	if err := (nullTimeDest{&p}).Scan(nil); err != nil || p != nil {
		t.Errorf("NULL scan = %v, %v", p, err)
	}
	var v time.Time
	if err := (timeDest{&v}).Scan(nil); err == nil {
		t.Error("NULL into a NOT NULL time succeeded")
	}
	if err := (timeDest{&v}).Scan([]byte("2026-05-11T12:34:56.123Z")); err != nil || !v.Equal(want) {
		t.Errorf("bytes scan = %v, %v", v, err)
	}
}

func TestMapErr(t *testing.T) {
	domain := hub.Errorf(hub.EValidation, "bad")
	tests := []struct {
		err  error
		code hub.Code
	}{
		{nil, ""},
		{fmt.Errorf("wrapped: %w", errSQLNoRows()), hub.ENotFound},
		{domain, hub.EValidation},
		{errors.New("sql: database is closed"), hub.EUnavailable},
		{errors.New("syntax error"), hub.EInternal},
	}
	for _, tc := range tests {
		if got := hub.ErrorCode(mapErr(tc.err, "card")); got != tc.code {
			t.Errorf("mapErr(%v) code = %q, want %q", tc.err, got, tc.code)
		}
	}
}

func TestMigrationsEmbedded(t *testing.T) {
	for _, d := range []string{DialectSQLite, DialectPostgres} {
		ms, err := migrations(d)
		if err != nil || len(ms) == 0 || ms[0].version != 1 {
			t.Errorf("migrations(%s) = %d, %v", d, len(ms), err)
		}
	}
}

func errSQLNoRows() error { return sqlErrNoRows }

var sqlErrNoRows = sql.ErrNoRows

// TestWALStaysBounded writes without pause for a while: the checkpointer
// must let the WAL start over, or it grows for as long as writers run.
func TestWALStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("sustained writes")
	}
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	biz := &hub.Business{ID: hub.NewID("b"), Name: "B", Timezone: "UTC", DefaultLanguage: "en"}
	if err := s.Write(ctx, func(tx hub.Tx) error { return tx.CreateBusiness(ctx, biz) }); err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); s.ckpt.holds.Load() < 2; {
		events := make([]hub.EventRecord, 20)
		for i := range events {
			events[i] = hub.EventRecord{ID: hub.NewID("evt"), BusinessID: biz.ID, Type: hub.StampAdded, Payload: []byte(`{}`)}
		}
		if err := s.Write(ctx, func(tx hub.Tx) error { return tx.InsertEvents(ctx, events) }); err != nil {
			t.Fatal(err)
		}
		if time.Since(start) > 30*time.Second {
			t.Fatal("the checkpointer never held the writer back to finish a checkpoint")
		}
	}
	// The WAL started over after a hold, so it stays short.
	var busy, frames, copied int
	if err := s.ckpt.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied); err != nil {
		t.Fatal(err)
	}
	if frames > 8*checkpointHoldWrite {
		t.Errorf("the WAL holds %d frames", frames)
	}
}

// TestWriteQueueIsBounded: with the writer busy, MaxQueuedWrites writes
// wait and the next is refused at once as unavailable; the waiting ones
// all commit once the writer is free.
func TestWriteQueueIsBounded(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w := st.w
	w.sem <- struct{}{} // the writer is busy
	errs := make(chan error, MaxQueuedWrites)
	for range MaxQueuedWrites {
		go func() { errs <- w.submit(ctx, func(querier) error { return nil }) }()
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		w.group.mu.Lock()
		n := len(w.group.queue)
		w.group.mu.Unlock()
		if n == MaxQueuedWrites {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", n, MaxQueuedWrites)
		}
	}
	start := time.Now()
	err = w.submit(ctx, func(querier) error { return nil })
	if hub.ErrorCode(err) != hub.EUnavailable || time.Since(start) > 100*time.Millisecond {
		t.Fatalf("write past the bound = %v after %s, want unavailable at once", err, time.Since(start))
	}
	<-w.sem // free the writer: the queued writes commit
	for range MaxQueuedWrites {
		if err := <-errs; err != nil {
			t.Fatalf("a queued write failed: %v", err)
		}
	}
}
