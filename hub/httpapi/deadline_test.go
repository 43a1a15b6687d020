package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/cardpage"
	"github.com/7loc/hub/hub/httpapi"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// TestRequestDeadline: a request whose work outlasts RequestTimeout answers
// 503 unavailable with Retry-After and writes nothing.
func TestRequestDeadline(t *testing.T) {
	runBoth(t, func(t *testing.T, h *harness) {
		pages, err := cardpage.New()
		if err != nil {
			t.Fatal(err)
		}
		handler, err := httpapi.New(httpapi.Config{Service: h.svc, AdminToken: adminToken, Pages: pages,
			RequestTimeout: time.Nanosecond})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(handler)
		defer srv.Close()
		before := h.snapshot()
		req, _ := http.NewRequest("POST", srv.URL+"/v1/cards", strings.NewReader(`{"template_id":"`+h.template+`","customer":{"email":"late@example.com"}}`))
		req.Header.Set("Authorization", "Bearer "+h.key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
			t.Errorf("past the deadline = %d (Retry-After %q), want 503 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
		}
		if after := h.snapshot(); after != before {
			t.Errorf("a request past its deadline changed the data")
		}
		if res, err := http.Get(srv.URL + "/healthz"); err != nil || res.StatusCode != 200 {
			t.Errorf("healthz with the deadline = %v, %v", res, err)
		}
	})
}

// TestLockTimeout: on PostgreSQL a stamp on a card that another transaction
// holds locked answers 503 unavailable with Retry-After once lock_timeout
// passes, instead of waiting for the lock, and writes nothing; once the lock
// is released the stamp goes through.
func TestLockTimeout(t *testing.T) {
	const lockTimeout = 300 * time.Millisecond
	st := sqltest.Open(t, sqlstore.DialectPostgres, sqlstore.WithLockTimeout(lockTimeout))
	h := newHarness(t, st)
	card := h.card("locked@example.com")
	before := h.snapshot()

	// Another connection of the pool holds the card's row lock until release
	// (or 5 s, so that a hub without lock_timeout ends the test too).
	locked, release := make(chan struct{}), make(chan struct{})
	holderDone := make(chan error, 1)
	go func() {
		holderDone <- st.Write(context.Background(), func(tx hub.Tx) error {
			if _, err := tx.Card(context.Background(), h.business, card, true); err != nil {
				return err
			}
			close(locked)
			select {
			case <-release:
			case <-time.After(5 * time.Second):
			}
			return nil
		})
	}()
	<-locked
	start := time.Now()
	r := h.call("POST", "/v1/cards/"+card+"/stamps", `{}`)
	took := time.Since(start)
	close(release)
	if err := <-holderDone; err != nil {
		t.Fatalf("lock holder: %v", err)
	}
	if r.status != http.StatusServiceUnavailable || r.code() != "unavailable" || r.header.Get("Retry-After") == "" {
		t.Errorf("stamp on a locked card = %d %s (Retry-After %q), want 503 unavailable with Retry-After",
			r.status, r.body, r.header.Get("Retry-After"))
	}
	if took < lockTimeout || took > lockTimeout+2*time.Second {
		t.Errorf("stamp on a locked card answered after %v, want about the lock timeout (%v)", took, lockTimeout)
	}
	if after := h.snapshot(); after != before {
		t.Errorf("a stamp refused for a lock changed the data")
	}
	res := h.ok("POST", "/v1/cards/"+card+"/stamps", `{}`, 200)
	if got := res["card"].(map[string]any)["stamps"]; got != 1.0 {
		t.Errorf("stamps after the lock is released = %v, want 1", got)
	}
}
