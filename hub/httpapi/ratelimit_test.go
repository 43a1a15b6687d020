package httpapi_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

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
