package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/7loc/hub/hub"
)

func TestHooks(t *testing.T) {
	runBoth(t, func(t *testing.T, h *harness) {
		first := h.call("POST", "/v1/hooks", `{"event":"voucher_redeemed","target_url":"https://hooks.zapier.com/abc"}`)
		if first.status != 201 {
			t.Fatalf("subscribe = %d %s", first.status, first.body)
		}
		hook := first.json(t)
		if !strings.HasPrefix(str(hook["secret"]), "whsec_") || hook["status"] != "active" {
			t.Errorf("hook = %v", hook)
		}
		id := str(hook["id"])
		again := h.call("POST", "/v1/hooks", `{"event":"voucher_redeemed","url":"https://hooks.zapier.com/abc"}`)
		if again.status != 200 || str(again.json(t)["id"]) != id {
			t.Errorf("same event and URL again = %d %s, want 200 with %s", again.status, again.body, id)
		}
		h.ok("POST", "/v1/hooks", `{"event":"*","url":"https://example.com/all"}`, 201)
		if l := h.ok("GET", "/v1/hooks", "", 200)["data"].([]any); len(l) != 2 {
			t.Errorf("hooks = %d, want 2", len(l))
		}
		h.ok("GET", "/v1/hooks/"+id, "", 200)
		if l := h.ok("GET", "/v1/hooks/"+id+"/deliveries", "", 200)["data"].([]any); len(l) != 0 {
			t.Errorf("deliveries of a new hook = %v", l)
		}
		rotated := h.ok("POST", "/v1/hooks/"+id+"/rotate-secret", "", 200)
		if rotated["secret"] == hook["secret"] {
			t.Error("rotate-secret kept the secret")
		}
		h.ok("POST", "/v1/hooks/"+id+"/enable", "", 200)

		// Redelivery schedules the event for the hooks subscribed to it.
		cardID := h.card("ann@example.com")
		evs := h.ok("GET", "/v1/events?card_id="+cardID, "", 200)["data"].([]any)
		evt := str(evs[0].(map[string]any)["id"])
		if r := h.call("POST", "/v1/events/"+evt+"/redeliver", ""); r.status != 202 {
			t.Fatalf("redeliver = %d %s", r.status, r.body)
		}
		jobs := h.jobs.all()
		if len(jobs) != 1 || jobs[0].EventID != evt || !jobs[0].Force {
			t.Errorf("redeliver of card_issued scheduled %+v, want one forced job for the * hook", jobs)
		}
		if r := h.call("POST", "/v1/events/"+evt+"/redeliver", `{"hook_id":"`+id+`"}`); r.status != 202 || len(h.jobs.all()) != 2 {
			t.Errorf("redeliver to one hook = %d, jobs %d", r.status, len(h.jobs.all()))
		}
		// Dispatch plans one delivery per subscribed hook.
		if err := h.svc.DispatchEventKeys(context.Background(), eventKeys(h.business, evt)); err != nil {
			t.Fatal(err)
		}
		if got := len(h.jobs.all()); got != 3 {
			t.Errorf("jobs after dispatching card_issued = %d, want 3", got)
		}

		bad := []struct{ body, field string }{
			{`{"event":"coffee","target_url":"https://x.io"}`, "event"},
			{`{"event":"*"}`, "target_url"},
			{`{"event":"*","target_url":" "}`, "target_url"},
			{`{"event":"*","target_url":"\t","url":"  "}`, "target_url"},
			{`{"event":"*","target_url":"ftp://x.io/a"}`, "target_url"},
			{`{"event":"*","target_url":"https://a.io","url":"https://b.io"}`, "url"},
			{`{"event":"*","target_url":"https://a.io","secret":"mine"}`, "secret"},
		}
		for _, b := range bad {
			r := h.call("POST", "/v1/hooks", b.body)
			if r.status != 422 {
				t.Errorf("POST /v1/hooks %s = %d %s", b.body, r.status, r.body)
				continue
			}
			if _, ok := r.json(t)["error"].(map[string]any)["fields"].(map[string]any)[b.field]; !ok {
				t.Errorf("POST /v1/hooks %s: no problem named %s in %s", b.body, b.field, r.body)
			}
		}
		h.ok("DELETE", "/v1/hooks/"+id, "", 204)
		h.ok("DELETE", "/v1/hooks/"+id, "", 204)
		if r := h.call("GET", "/v1/hooks/"+id, ""); r.status != 404 {
			t.Errorf("deleted hook = %d", r.status)
		}
		h.ok("DELETE", "/v1/hooks?target_url=https%3A%2F%2Fexample.com%2Fall", "", 204)
		if l := h.ok("GET", "/v1/hooks", "", 200)["data"].([]any); len(l) != 0 {
			t.Errorf("hooks after deleting both = %v", l)
		}
		if r := h.call("DELETE", "/v1/hooks", ""); r.status != 422 {
			t.Errorf("DELETE /v1/hooks without target_url = %d", r.status)
		}
	})
}

func TestEventSamples(t *testing.T) {
	runBoth(t, func(t *testing.T, h *harness) {
		all := h.ok("GET", "/v1/events/samples", "", 200)["data"].([]any)
		if len(all) != 14 {
			t.Errorf("samples = %d, want one per event type (14)", len(all))
		}
		one := h.ok("GET", "/v1/events/samples?type=voucher_redeemed", "", 200)["data"].([]any)
		if len(one) != 1 || one[0].(map[string]any)["event"] != "voucher_redeemed" || one[0].(map[string]any)["business_id"] != h.business {
			t.Errorf("voucher_redeemed sample = %v", one)
		}
		if r := h.call("GET", "/v1/events/samples?type=nope", ""); r.status != 422 {
			t.Errorf("sample of an unknown type = %d", r.status)
		}
	})
}

// eventKeys names events of one business.
func eventKeys(businessID string, ids ...string) []hub.EventKey {
	keys := make([]hub.EventKey, len(ids))
	for i, id := range ids {
		keys[i] = hub.EventKey{BusinessID: businessID, ID: id}
	}
	return keys
}
