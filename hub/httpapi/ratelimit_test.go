package httpapi_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub/httpapi"
	"github.com/7loc/hub/hub/ratelimit"
	"github.com/7loc/hub/hub/redistest"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// TestRateLimitPerKey runs the real limiter on Redis: a key's burst goes
// through with the RateLimit headers counting down, the next call gets 429
// rate_limited with Retry-After and changes nothing, and another key has a
// budget of its own.
func TestRateLimitPerKey(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		rdb, _ := redistest.Client(t)
		h := newHarness(t, st, withLimiter(ratelimit.New(rdb, 1, 4, redistest.Prefix(t, rdb))))
		card := h.card("ann@example.com")
		var remaining []string
		for i := 0; i < 3; i++ {
			r := h.call("GET", "/v1/me", "")
			if r.status != 200 || r.header.Get("RateLimit-Limit") != "4" {
				t.Fatalf("call %d within the burst = %d, RateLimit-Limit %q: %s", i, r.status, r.header.Get("RateLimit-Limit"), r.body)
			}
			remaining = append(remaining, r.header.Get("RateLimit-Remaining"))
		}
		if diff := cmp.Diff([]string{"2", "1", "0"}, remaining); diff != "" {
			t.Errorf("RateLimit-Remaining (-want +got):\n%s", diff)
		}
		before, _, err := h.svc.Events(context.Background(), eventsOf(h.business))
		if err != nil {
			t.Fatal(err)
		}
		r := h.call("POST", "/v1/cards/"+card+"/stamps", `{"count":1}`)
		if r.status != 429 || r.code() != "rate_limited" || r.header.Get("Retry-After") != "1" {
			t.Errorf("past the burst = %d, Retry-After %q: %s; want 429 rate_limited, Retry-After 1", r.status, r.header.Get("Retry-After"), r.body)
		}
		after, _, _ := h.svc.Events(context.Background(), eventsOf(h.business))
		if len(after) != len(before) {
			t.Errorf("a refused stamp wrote %d events", len(after)-len(before))
		}

		h.admin("POST", "/admin/v1/businesses/"+h.business+"/staff", `{"login":"cashier","name":"Cy"}`, 201)
		other := str(h.admin("POST", "/admin/v1/businesses/"+h.business+"/api-keys", `{"login":"cashier","name":"Till 2"}`, 201)["key"])
		if r := h.send("GET", "/v1/me", nil, map[string]string{"Authorization": "Bearer " + other}); r.status != 200 {
			t.Errorf("another key = %d %s; want 200 (a budget of its own)", r.status, r.body)
		}
	})
}

// TestRateLimitPerAddress: the public card page is limited per client
// address (the peer: no proxy is trusted, so X-Forwarded-For changes
// nothing); past the burst it is 429 with Retry-After, while health checks
// and API calls are not counted.
func TestRateLimitPerAddress(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		rdb, _ := redistest.Client(t)
		l := ratelimit.New(rdb, 1, 3, redistest.Prefix(t, rdb))
		h := newHarness(t, st, func(c *httpapi.Config) { c.PublicLimiter = l })
		card := h.card("ann@example.com")
		page := "/c/" + card + "?t=wrong"
		for i := 0; i < 3; i++ {
			r := h.exchange("GET", page, nil, map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i)}, false)
			if r.status != 404 {
				t.Fatalf("guess %d within the burst = %d %s, want 404", i, r.status, r.body)
			}
		}
		r := h.exchange("GET", page, nil, map[string]string{"X-Forwarded-For": "198.51.100.7"}, false)
		if r.status != 429 || r.code() != "rate_limited" || r.header.Get("Retry-After") == "" {
			t.Errorf("past the burst = %d %s (Retry-After %q), want 429 rate_limited", r.status, r.body, r.header.Get("Retry-After"))
		}
		if r := h.exchange("GET", "/healthz", nil, nil, false); r.status != 200 {
			t.Errorf("healthz = %d, want it unlimited", r.status)
		}
		if r := h.call("GET", "/v1/me", ""); r.status != 200 {
			t.Errorf("API call = %d, want it outside the per-address limit", r.status)
		}
	})
}

// TestTrustedProxyNamesTheClient: behind a trusted proxy, each client
// named by X-Forwarded-For has a budget of its own.
func TestTrustedProxyNamesTheClient(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		rdb, _ := redistest.Client(t)
		l := ratelimit.New(rdb, 1, 1, redistest.Prefix(t, rdb))
		h := newHarness(t, st, func(c *httpapi.Config) { c.PublicLimiter = l; c.TrustedProxies = []string{"127.0.0.1/8", "::1"} })
		card := h.card("ann@example.com")
		for i := 0; i < 3; i++ {
			r := h.exchange("GET", "/c/"+card+"?t=wrong", nil, map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i)}, false)
			if r.status != 404 {
				t.Errorf("client %d = %d %s, want 404 (its own budget)", i, r.status, r.body)
			}
		}
	})
}
