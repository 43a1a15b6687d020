package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"

	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// TestWalkthrough follows the README: issue a card, stamp it to a reward,
// redeem the reward, read the events.
func TestWalkthrough(t *testing.T) {
	runBoth(t, func(t *testing.T, h *harness) {
		me := h.ok("GET", "/v1/me", "", 200)
		if me["name"] != "Café Ann · barista" {
			t.Errorf("me.name = %v", me["name"])
		}
		card := h.ok("POST", "/v1/cards", `{"template_id":"`+h.template+`","customer":{"email":"Ann@Example.com","phone":"+380 67 123 45 67","name":"Ann"},"location_id":"`+h.location+`"}`, 201)
		id := str(card["id"])
		again := h.call("POST", "/v1/cards", `{"template_id":"`+h.template+`","customer":{"phone":"+380671234567"}}`)
		if again.status != 200 || str(again.json(t)["id"]) != id {
			t.Fatalf("second issue = %d %s, want 200 with the same card", again.status, again.body)
		}
		res := h.ok("POST", "/v1/cards/"+id+"/stamps", `{"count":2}`, 200)
		if got := res["rewards"].([]any); len(got) != 0 {
			t.Errorf("rewards after 2 stamps: %v", got)
		}
		res = h.ok("POST", "/v1/stamps", `{"customer":{"email":"ann@example.com"},"location_id":"`+h.location+`"}`, 200)
		rewards := res["rewards"].([]any)
		if len(rewards) != 1 {
			t.Fatalf("rewards after 3 stamps: %v", rewards)
		}
		reward := rewards[0].(map[string]any)
		var events []string
		for _, e := range res["events"].([]any) {
			events = append(events, str(e.(map[string]any)["event"]))
		}
		if diff := cmp.Diff([]string{"stamp_added", "goal_reached", "reward_issued"}, events); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		code := str(reward["redeem_code"])
		redeemed := h.ok("POST", "/v1/vouchers/redeem", `{"redeem_code":"`+strings.ToLower(code)+`","redeemed_via":"staff_scanner"}`, 200)
		if redeemed["status"] != "redeemed" || redeemed["redeemed_via"] != "staff_scanner" {
			t.Errorf("redeemed = %v", redeemed)
		}
		if r := h.call("POST", "/v1/vouchers/"+str(reward["id"])+"/redeem", ""); r.status != 409 || r.code() != "already_redeemed" {
			t.Errorf("second redeem = %d %s", r.status, r.body)
		}
		evs := h.ok("GET", "/v1/events?limit=100", "", 200)["data"].([]any)
		var types []string
		for _, e := range evs {
			types = append(types, str(e.(map[string]any)["event"]))
		}
		want := []string{"voucher_redeemed", "reward_issued", "goal_reached", "stamp_added", "stamp_added", "card_issued"}
		if diff := cmp.Diff(want, types); diff != "" {
			t.Errorf("event log, newest first (-want +got):\n%s", diff)
		}
		first := evs[len(evs)-1].(map[string]any)
		if first["location_id"] != h.location || first["business_id"] != h.business {
			t.Errorf("card_issued envelope = %v", first)
		}
		one := h.ok("GET", "/v1/events/"+str(first["id"]), "", 200)
		if diff := cmp.Diff(first, one); diff != "" {
			t.Errorf("GET /v1/events/{id} differs from the feed (-feed +one):\n%s", diff)
		}
		newer := h.ok("GET", "/v1/events?since_id="+str(evs[1].(map[string]any)["id"]), "", 200)["data"].([]any)
		if len(newer) != 1 || str(newer[0].(map[string]any)["event"]) != "voucher_redeemed" {
			t.Errorf("since_id feed = %v", newer)
		}
		hist := h.ok("GET", "/v1/cards/"+id+"/history", "", 200)["data"].([]any)
		if len(hist) != 6 {
			t.Errorf("history has %d events, want 6", len(hist))
		}
		got := h.ok("GET", "/v1/cards/"+id, "", 200)
		if got["stamps"] != 3.0 || got["goal_index"] != 1.0 || got["stamps_total"] != 3.0 || got["cycle"] != 1.0 {
			t.Errorf("card = %v", got)
		}
		cust := got["customer"].(map[string]any)
		h.ok("GET", "/v1/customers/"+str(cust["id"]), "", 200)
		h.ok("PATCH", "/v1/customers/"+str(cust["id"]), `{"language":"uk","consent":{"email":true}}`, 200)
		if l := h.ok("GET", "/v1/customers?email=ANN@example.com", "", 200)["data"].([]any); len(l) != 1 {
			t.Errorf("customer search = %v", l)
		}
		if l := h.ok("GET", "/v1/cards?phone=%2B380671234567", "", 200)["data"].([]any); len(l) != 1 {
			t.Errorf("card search = %v", l)
		}
		h.ok("GET", "/v1/card-templates", "", 200)
		h.ok("GET", "/v1/card-templates/"+h.template, "", 200)
		v := h.ok("POST", "/v1/vouchers", `{"customer_id":"`+str(cust["id"])+`","voucher_template_id":"`+h.vtpl+`"}`, 201)
		h.ok("GET", "/v1/vouchers/"+str(v["id"]), "", 200)
		if l := h.ok("GET", "/v1/vouchers?status=issued&customer_id="+str(cust["id"]), "", 200)["data"].([]any); len(l) != 1 {
			t.Errorf("issued vouchers = %d, want 1", len(l))
		}
		lot := h.ok("POST", "/v1/cards/"+id+"/lottery", "", 200)
		if _, ok := lot["result"].(map[string]any)["won"].(bool); !ok {
			t.Errorf("lottery = %v", lot)
		}
		// The card page shows the open voucher's code with a QR image.
		page := h.send("GET", strings.TrimPrefix(str(got["page_url"]), "https://hub.test"), nil, nil)
		if page.status != 200 || !strings.Contains(string(page.body), str(v["redeem_code"])) || !strings.Contains(string(page.body), "data:image/png;base64,") {
			t.Errorf("card page = %d %.300s", page.status, page.body)
		}
		if r := h.send("GET", "/c/"+id+"?t=wrong", nil, nil); r.status != 404 {
			t.Errorf("card page with a wrong token = %d", r.status)
		}
	})
}

// TestBadInput sends every write endpoint malformed JSON, wrong types,
// unknown and missing fields, oversize bodies and other tenants' ids: each
// answer is the documented envelope, and nothing changes.
func TestBadInput(t *testing.T) {
	runBoth(t, func(t *testing.T, h *harness) {
		cardID := h.card("ann@example.com")
		v := h.ok("POST", "/v1/vouchers", `{"card_id":"`+cardID+`","title":"Gift"}`, 201)
		custID := str(v["customer_id"])
		// Another business with its own card and voucher.
		other := h.admin("POST", "/admin/v1/businesses", `{"name":"Other"}`, 201)
		ob := str(other["id"])
		h.admin("POST", "/admin/v1/businesses/"+ob+"/staff", `{"login":"x"}`, 201)
		okey := str(h.admin("POST", "/admin/v1/businesses/"+ob+"/api-keys", `{"login":"x"}`, 201)["key"])
		otpl := str(h.admin("POST", "/admin/v1/businesses/"+ob+"/card-templates", `{"name":"T","goals":[{"stamps":2,"reward":{"title":"R"}}]}`, 201)["id"])
		oc := h.send("POST", "/v1/cards", []byte(`{"template_id":"`+otpl+`","customer":{"email":"z@example.com"}}`), map[string]string{"X-API-Key": okey})
		if oc.status != 201 {
			t.Fatalf("other card = %d %s", oc.status, oc.body)
		}
		otherCard := str(oc.json(t)["id"])
		ov := h.send("POST", "/v1/vouchers", []byte(`{"card_id":"`+otherCard+`","title":"Theirs"}`), map[string]string{"X-API-Key": okey})
		otherVoucher := str(ov.json(t)["id"])

		huge := `{"note":"` + strings.Repeat("x", 1<<20) + `"}`
		tests := []struct {
			name, method, path, body string
			status                   int
			code                     string
			field                    string
		}{
			{"malformed JSON", "POST", "/v1/cards", `{"template_id":`, 400, "invalid_json", ""},
			{"not JSON", "POST", "/v1/cards/" + cardID + "/stamps", `count=3`, 400, "invalid_json", ""},
			{"trailing data", "POST", "/v1/cards/" + cardID + "/stamps", `{"count":1} {"count":2}`, 400, "invalid_json", ""},
			{"array body", "POST", "/v1/cards", `[1,2]`, 422, "validation_failed", "body"},
			{"wrong type count", "POST", "/v1/cards/" + cardID + "/stamps", `{"count":"3"}`, 422, "validation_failed", "count"},
			{"fractional count", "POST", "/v1/cards/" + cardID + "/stamps", `{"count":1.5}`, 422, "validation_failed", "count"},
			{"count zero", "POST", "/v1/cards/" + cardID + "/stamps", `{"count":0}`, 422, "validation_failed", "count"},
			{"count too big", "POST", "/v1/cards/" + cardID + "/stamps", `{"count":101}`, 422, "validation_failed", "count"},
			{"unknown field", "POST", "/v1/cards/" + cardID + "/stamps", `{"count":1,"stampz":2}`, 422, "validation_failed", "stampz"},
			{"wrong nested type", "POST", "/v1/cards", `{"template_id":"` + h.template + `","customer":{"email":5}}`, 422, "validation_failed", "customer.email"},
			{"missing customer", "POST", "/v1/cards", `{"template_id":"` + h.template + `"}`, 422, "validation_failed", "customer"},
			{"empty body", "POST", "/v1/cards", ``, 422, "validation_failed", "template_id"},
			{"bad email", "POST", "/v1/cards", `{"template_id":"` + h.template + `","customer":{"email":"ann"}}`, 422, "validation_failed", "customer.email"},
			{"bad phone", "POST", "/v1/cards", `{"template_id":"` + h.template + `","customer":{"phone":"+38 067 abc"}}`, 422, "validation_failed", "customer.phone"},
			{"huge body", "POST", "/v1/cards/" + cardID + "/stamps", huge, 413, "payload_too_large", ""},
			{"unknown card", "POST", "/v1/cards/card_01JTZ6W1Q9M3N4R5S6T7V8W9XY/stamps", `{}`, 404, "not_found", ""},
			{"malformed card id", "POST", "/v1/cards/123/stamps", `{}`, 404, "not_found", ""},
			{"other tenant's card", "POST", "/v1/cards/" + otherCard + "/stamps", `{}`, 404, "not_found", ""},
			{"other tenant's card read", "GET", "/v1/cards/" + otherCard, ``, 404, "not_found", ""},
			{"other tenant's template", "POST", "/v1/cards", `{"template_id":"` + otpl + `","customer":{"email":"q@example.com"}}`, 404, "not_found", ""},
			{"other tenant's voucher", "POST", "/v1/vouchers/" + otherVoucher + "/redeem", `{}`, 404, "not_found", ""},
			{"other tenant's voucher read", "GET", "/v1/vouchers/" + otherVoucher, ``, 404, "not_found", ""},
			{"other tenant's card for a voucher", "POST", "/v1/vouchers", `{"card_id":"` + otherCard + `","title":"x"}`, 404, "not_found", ""},
			{"other tenant's lottery", "POST", "/v1/cards/" + otherCard + "/lottery", ``, 404, "not_found", ""},
			{"unknown location", "POST", "/v1/cards/" + cardID + "/stamps", `{"location_id":"loc_01JTZ6W1Q9M3N4R5S6T7V8W9XY"}`, 404, "not_found", ""},
			{"voucher without title", "POST", "/v1/vouchers", `{"card_id":"` + cardID + `"}`, 422, "validation_failed", "title"},
			{"voucher with bad format", "POST", "/v1/vouchers", `{"card_id":"` + cardID + `","title":"x","redeem_code_formats":["nfc"]}`, 422, "validation_failed", "redeem_code_formats[0]"},
			{"voucher with bad expiry", "POST", "/v1/vouchers", `{"card_id":"` + cardID + `","title":"x","expires_at":"soon"}`, 422, "validation_failed", "expires_at"},
			{"redeem without code", "POST", "/v1/vouchers/redeem", `{}`, 422, "validation_failed", "redeem_code"},
			{"redeem unknown code", "POST", "/v1/vouchers/redeem", `{"redeem_code":"NOPE1234"}`, 404, "not_found", ""},
			{"redeem via fax", "POST", "/v1/vouchers/" + str(v["id"]) + "/redeem", `{"redeemed_via":"fax"}`, 422, "validation_failed", "redeemed_via"},
			{"patch bad birthday", "PATCH", "/v1/customers/" + custID, `{"birthday":"31.12.1990"}`, 422, "validation_failed", "birthday"},
			{"patch unknown field", "PATCH", "/v1/customers/" + custID, `{"nickname":"A"}`, 422, "validation_failed", "nickname"},
			{"bad limit", "GET", "/v1/events?limit=0", ``, 422, "validation_failed", "limit"},
			{"huge limit", "GET", "/v1/cards?limit=1000", ``, 422, "validation_failed", "limit"},
			{"bad cursor", "GET", "/v1/events?cursor=zzz", ``, 422, "validation_failed", "cursor"},
			{"bad event type", "GET", "/v1/events?type=coffee_spilled", ``, 422, "validation_failed", "type"},
			{"bad voucher status", "GET", "/v1/vouchers?status=lost", ``, 422, "validation_failed", "status"},
			{"repeated key", "POST", "/v1/cards/" + cardID + "/stamps", `{"count":1,"count":100}`, 422, "validation_failed", "count"},
			{"NUL in a nested string", "POST", "/v1/cards", `{"template_id":"` + h.template + `","customer":{"email":"a@example.com","name":"A\u0000B"}}`, 422, "validation_failed", "customer.name"},
			{"escape in a name", "PATCH", "/v1/customers/" + custID, `{"name":"\u001b[2J"}`, 422, "validation_failed", "name"},
			{"invalid UTF-8", "PATCH", "/v1/customers/" + custID, "{\"name\":\"\xff\xfe\"}", 422, "validation_failed", "body"},
		}
		before := h.snapshot()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := h.call(tt.method, tt.path, tt.body)
				if r.status != tt.status || r.code() != tt.code {
					t.Fatalf("%s %s = %d %s, want %d %s", tt.method, tt.path, r.status, r.body, tt.status, tt.code)
				}
				if tt.field != "" {
					fields, _ := r.json(t)["error"].(map[string]any)["fields"].(map[string]any)
					if _, ok := fields[tt.field]; !ok {
						t.Errorf("fields = %v, want %q among them", fields, tt.field)
					}
				}
			})
		}
		for _, r := range []struct{ method, path string }{{"GET", "/v1/nothing"}, {"DELETE", "/v1/cards"}, {"GET", "/v1/cards/"}} {
			res := h.exchange(r.method, r.path, nil, map[string]string{"Authorization": "Bearer " + h.key}, false)
			if res.status != 404 || res.code() != "not_found" {
				t.Errorf("%s %s = %d %s, want the 404 envelope", r.method, r.path, res.status, res.body)
			}
		}
		// A body declared as something other than JSON is 415 (the envelope).
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded"} {
			res := h.exchange("POST", "/v1/cards/"+cardID+"/stamps", []byte(`{"count":1}`),
				map[string]string{"Authorization": "Bearer " + h.key, "Content-Type": ct}, false)
			if res.status != 415 || res.code() != "unsupported_media_type" {
				t.Errorf("Content-Type %s = %d %s, want 415 unsupported_media_type", ct, res.status, res.body)
			}
		}
		if after := h.snapshot(); after != before {
			t.Errorf("refused requests changed the data:\nbefore: %.500s\nafter:  %.500s", before, after)
		}
	})
}

func TestAuthentication(t *testing.T) {
	runBoth(t, func(t *testing.T, h *harness) {
		tests := []struct {
			name    string
			headers map[string]string
			status  int
		}{
			{"no key", nil, 401},
			{"malformed key", map[string]string{"Authorization": "Bearer nope"}, 401},
			{"unknown key", map[string]string{"Authorization": "Bearer 7loc_sc_" + strings.Repeat("a", 40)}, 401},
			{"basic scheme", map[string]string{"Authorization": "Basic " + h.key}, 401},
			{"bearer", map[string]string{"Authorization": "Bearer " + h.key}, 200},
			{"x-api-key", map[string]string{"X-API-Key": h.key}, 200},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := h.send("GET", "/v1/me", nil, tt.headers)
				if r.status != tt.status {
					t.Errorf("status = %d, want %d: %s", r.status, tt.status, r.body)
				}
				if tt.status == 401 && r.code() != "unauthorized" {
					t.Errorf("code = %q", r.code())
				}
			})
		}
		keys := h.admin("GET", "/admin/v1/businesses/"+h.business+"/api-keys", "", 200)["data"].([]any)
		k := keys[0].(map[string]any)
		if _, has := k["key"]; has || !strings.HasPrefix(str(k["masked_key"]), "7loc_sc_…") || str(k["masked_key"])[len("7loc_sc_…"):] != h.key[len(h.key)-4:] {
			t.Errorf("listed key = %v", k)
		}
		if r := h.send("POST", "/admin/v1/businesses/"+h.business+"/api-keys", []byte(`{"login":"barista"}`), map[string]string{"Authorization": "Bearer " + adminToken}); r.status != 409 {
			t.Errorf("second key for a login = %d", r.status)
		}
		if r := h.send("POST", "/admin/v1/businesses/"+h.business+"/api-keys", []byte(`{"login":"ghost"}`), map[string]string{"Authorization": "Bearer " + adminToken}); r.status != 404 {
			t.Errorf("key for an unknown login = %d", r.status)
		}
		if r := h.send("POST", "/admin/v1/businesses", []byte(`{"name":"x"}`), map[string]string{"Authorization": "Bearer wrong"}); r.status != 401 {
			t.Errorf("operator call with a wrong token = %d", r.status)
		}
		if r := h.send("POST", "/admin/v1/businesses", []byte(`{"name":"x"}`), map[string]string{"Authorization": "Bearer " + h.key}); r.status != 401 {
			t.Errorf("operator call with an API key = %d", r.status)
		}
		// Regenerate: the old key stops at once, the new one works.
		re := h.admin("POST", "/admin/v1/businesses/"+h.business+"/api-keys/"+str(k["id"])+"/regenerate", "", 200)
		old := h.key
		if r := h.call("GET", "/v1/me", ""); r.status != 401 {
			t.Errorf("old key after regenerate = %d", r.status)
		}
		h.key = str(re["key"])
		if h.key == old {
			t.Fatal("regenerate returned the same key")
		}
		h.ok("GET", "/v1/me", "", 200)
		// Delete: the key stops at once; deleting again is fine.
		h.admin("DELETE", "/admin/v1/businesses/"+h.business+"/api-keys/"+str(k["id"]), "", 204)
		if r := h.call("GET", "/v1/me", ""); r.status != 401 {
			t.Errorf("key after delete = %d", r.status)
		}
		h.admin("DELETE", "/admin/v1/businesses/"+h.business+"/api-keys/"+str(k["id"]), "", 204)
		if r := h.send("POST", "/admin/v1/businesses/"+h.business+"/api-keys/"+str(k["id"])+"/regenerate", nil, map[string]string{"Authorization": "Bearer " + adminToken}); r.status != 409 {
			t.Errorf("regenerate a deleted key = %d", r.status)
		}
		if r := h.send("POST", "/admin/v1/businesses/b_01JTZ6W1Q9M3N4R5S6T7V8W9XY/staff", []byte(`{"login":"a"}`), map[string]string{"Authorization": "Bearer " + adminToken}); r.status != 404 {
			t.Errorf("staff of an unknown business = %d", r.status)
		}
	})
}

func TestIdempotencyKeys(t *testing.T) {
	runBoth(t, func(t *testing.T, h *harness) {
		cardID := h.card("ann@example.com")
		hdr := map[string]string{"Authorization": "Bearer " + h.key, "Idempotency-Key": "stamp-1"}
		first := h.send("POST", "/v1/cards/"+cardID+"/stamps", []byte(`{"count":2}`), hdr)
		second := h.send("POST", "/v1/cards/"+cardID+"/stamps", []byte(`{"count":2}`), hdr)
		if first.status != 200 || second.status != 200 || string(first.body) != string(second.body) {
			t.Fatalf("replay = %d %s, first %d %s", second.status, second.body, first.status, first.body)
		}
		if second.header.Get("Idempotent-Replayed") != "true" || first.header.Get("Idempotent-Replayed") != "" {
			t.Errorf("Idempotent-Replayed: first %q, second %q", first.header.Get("Idempotent-Replayed"), second.header.Get("Idempotent-Replayed"))
		}
		if r := h.send("POST", "/v1/cards/"+cardID+"/stamps", []byte(`{"count":3}`), hdr); r.status != 409 || r.code() != "idempotency_mismatch" {
			t.Errorf("same key, other body = %d %s", r.status, r.body)
		}
		if r := h.send("POST", "/v1/vouchers", []byte(`{"count":2}`), hdr); r.status != 409 || r.code() != "idempotency_mismatch" {
			t.Errorf("same key, other path = %d %s", r.status, r.body)
		}
		if got := h.ok("GET", "/v1/cards/"+cardID, "", 200)["stamps_total"]; got != 2.0 {
			t.Errorf("stamps_total = %v, want 2 (the replay must not stamp again)", got)
		}
		// A refused first request is replayed as refused, too.
		bad := map[string]string{"Authorization": "Bearer " + h.key, "Idempotency-Key": "bad-1"}
		a := h.send("POST", "/v1/cards/"+cardID+"/stamps", []byte(`{"count":0}`), bad)
		b := h.send("POST", "/v1/cards/"+cardID+"/stamps", []byte(`{"count":0}`), bad)
		if a.status != 422 || b.status != 422 || b.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("refused replay = %d/%d %q", a.status, b.status, b.header.Get("Idempotent-Replayed"))
		}
		long := map[string]string{"Authorization": "Bearer " + h.key, "Idempotency-Key": strings.Repeat("k", 256)}
		if r := h.send("POST", "/v1/cards/"+cardID+"/stamps", []byte(`{}`), long); r.status != 422 {
			t.Errorf("256-character key = %d", r.status)
		}
		// Concurrent requests with one key stamp once.
		var wg sync.WaitGroup
		statuses := make(chan int, 10)
		race := map[string]string{"Authorization": "Bearer " + h.key, "Idempotency-Key": "race-1"}
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses <- h.send("POST", "/v1/cards/"+cardID+"/stamps", []byte(`{}`), race).status
			}()
		}
		wg.Wait()
		close(statuses)
		for s := range statuses {
			if s != 200 && s != 409 {
				t.Errorf("concurrent idempotent call = %d", s)
			}
		}
		if got := h.ok("GET", "/v1/cards/"+cardID, "", 200)["stamps_total"]; got != 3.0 {
			t.Errorf("stamps_total = %v, want 3 after ten calls with one key", got)
		}
	})
}

func TestConcurrentCalls(t *testing.T) {
	runBoth(t, func(t *testing.T, h *harness) {
		cardID := h.card("ann@example.com")
		var wg sync.WaitGroup
		fails := make(chan string, 100)
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := h.call("POST", "/v1/cards/"+cardID+"/stamps", ""); r.status != 200 {
					fails <- fmt.Sprintf("stamp: %d %s", r.status, r.body)
				}
			}()
		}
		wg.Wait()
		card := h.ok("GET", "/v1/cards/"+cardID, "", 200)
		if card["stamps_total"] != 50.0 {
			t.Errorf("stamps_total after 50 concurrent calls = %v", card["stamps_total"])
		}
		v := h.ok("POST", "/v1/vouchers", `{"card_id":"`+cardID+`","title":"Once"}`, 201)
		var ok, already int
		var mu sync.Mutex
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := h.call("POST", "/v1/vouchers/"+str(v["id"])+"/redeem", "")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case r.status == 200:
					ok++
				case r.status == 409 && r.code() == "already_redeemed":
					already++
				default:
					fails <- fmt.Sprintf("redeem: %d %s", r.status, r.body)
				}
			}()
		}
		wg.Wait()
		close(fails)
		for f := range fails {
			t.Error(f)
		}
		if ok != 1 || already != 19 {
			t.Errorf("20 concurrent redeems: %d ok, %d already_redeemed", ok, already)
		}
	})
}

func TestPagination(t *testing.T) {
	runBoth(t, func(t *testing.T, h *harness) {
		for i := 0; i < 7; i++ {
			h.card(fmt.Sprintf("c%d@example.com", i))
		}
		var seen []string
		cursor := ""
		for pages := 0; pages < 10; pages++ {
			page := h.ok("GET", "/v1/cards?limit=3"+cursor, "", 200)
			for _, c := range page["data"].([]any) {
				seen = append(seen, str(c.(map[string]any)["id"]))
			}
			next, _ := page["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = "&cursor=" + next
		}
		if len(seen) != 7 {
			t.Fatalf("walked %d cards, want 7: %v", len(seen), seen)
		}
		for i := 1; i < len(seen); i++ {
			if seen[i] >= seen[i-1] {
				t.Errorf("not newest first: %s then %s", seen[i-1], seen[i])
			}
		}
	})
}

type failingLimiter struct{}

func (failingLimiter) Allow(context.Context, string) (bool, int, int, time.Duration, error) {
	return false, 0, 0, 0, errors.New("redis: connection refused")
}

// TestDependenciesDown: with the database or Redis gone, calls answer 503
// unavailable and /readyz says so.
func TestDependenciesDown(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		cardID := h.card("ann@example.com")
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		r := h.call("POST", "/v1/cards/"+cardID+"/stamps", "")
		if r.status != 503 || r.code() != "unavailable" || r.header.Get("Retry-After") == "" {
			t.Errorf("stamp with the database closed = %d %s", r.status, r.body)
		}
		if r := h.send("GET", "/readyz", nil, nil); r.status != 503 {
			t.Errorf("readyz with the database closed = %d %s", r.status, r.body)
		}
		if r := h.send("GET", "/healthz", nil, nil); r.status != 200 {
			t.Errorf("healthz = %d", r.status)
		}
	})
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st, withLimiter(failingLimiter{}))
		before, _, err := h.svc.Events(context.Background(), eventsOf(h.business))
		if err != nil {
			t.Fatal(err)
		}
		r := h.call("POST", "/v1/cards", `{"template_id":"`+h.template+`","customer":{"email":"a@example.com"}}`)
		if r.status != 503 || r.code() != "unavailable" {
			t.Errorf("call with Redis down = %d %s", r.status, r.body)
		}
		after, _, _ := h.svc.Events(context.Background(), eventsOf(h.business))
		if len(after) != len(before) {
			t.Errorf("a refused call wrote %d events", len(after)-len(before))
		}
	})
}

func TestOperations(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		if r := h.send("GET", "/readyz", nil, nil); r.status != 200 {
			t.Errorf("readyz = %d %s", r.status, r.body)
		}
		h.call("GET", "/v1/me", "")
		m := h.send("GET", "/metrics", nil, nil)
		if m.status != 200 || !strings.Contains(string(m.body), `hub_http_request_duration_seconds_count{method="GET",route="/v1/me",status="200"}`) {
			t.Errorf("metrics = %d %.500s", m.status, m.body)
		}
		doc := h.send("GET", "/v1/openapi.json", nil, nil)
		if doc.status != 200 || !strings.Contains(string(doc.body), `"openapi":"3.1`) && !strings.Contains(string(doc.body), `"openapi": "3.1`) {
			t.Errorf("openapi.json = %d %.200s", doc.status, doc.body)
		}
		if r := h.send("GET", "/v1/me", nil, map[string]string{"Authorization": "Bearer " + h.key, "Content-Length": "0"}); r.status != http.StatusOK {
			t.Errorf("GET with an empty body = %d", r.status)
		}
	})
}

func eventsOf(businessID string) hub.EventFilter {
	return hub.EventFilter{BusinessID: businessID, Page: hub.Page{Limit: 100}}
}
