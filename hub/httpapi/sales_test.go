package httpapi_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSalesOverHTTP: a sale by phone adds the earning rule's stamps once;
// a repeat answers 200 with the first result; the refund takes them back
// once; the list filters by status.
func TestSalesOverHTTP(t *testing.T) {
	runBoth(t, func(t *testing.T, h *harness) {
		h.ok("POST", "/v1/cards", `{"template_id":"`+h.template+`","customer":{"phone":"+380671234567"}}`, 201)
		tpl := h.ok("PATCH", "/v1/card-templates/"+h.template,
			`{"earning":{"per":"amount","amount_per_stamp":"5","min_total":"2.5","max_stamps_per_sale":4}}`, 200)
		want := map[string]any{"per": "amount", "amount_per_stamp": "5.00", "min_total": "2.50", "max_stamps_per_sale": 4.0, "items": []any{}}
		if diff := cmp.Diff(want, tpl["earning"]); diff != "" {
			t.Errorf("earning (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(tpl, h.ok("GET", "/v1/card-templates/"+h.template, "", 200)); diff != "" {
			t.Errorf("GET after PATCH (-patch +get):\n%s", diff)
		}
		body := `{"source":"mytill","order_id":"A-1001","total":"12.40","currency":"EUR","location_id":"` + h.location + `",
			"customer":{"phone":"+38 067 123 45 67"},"items":[{"sku":"LATTE","quantity":2,"price":"3.20"},{"sku":"BUN","quantity":"0.5","price":"6.00"}],
			"closed_at":"2026-05-11T12:34:56Z"}`
		first := h.ok("POST", "/v1/sales", body, 201)
		if first["status"] != "applied" || first["stamps_added"] != 2.0 || first["total"] != "12.40" {
			t.Errorf("first = %v", first)
		}
		card := first["card"].(map[string]any)
		if card["stamps"] != 2.0 || card["stamps_total"] != 2.0 {
			t.Errorf("card = %v", card)
		}
		again := h.ok("POST", "/v1/sales", strings.Replace(body, "12.40", "99.00", 1), 200)
		if again["id"] != first["id"] || again["stamps_added"] != 2.0 || again["total"] != "12.40" {
			t.Errorf("repeat = %v", again)
		}
		refund := h.ok("POST", "/v1/sales/mytill/A-1001/refund", "", 200)
		if refund["stamps_removed"] != 2.0 || refund["card"].(map[string]any)["stamps"] != 0.0 {
			t.Errorf("refund = %v", refund)
		}
		if diff := cmp.Diff(refund, h.ok("POST", "/v1/sales/mytill/A-1001/refund", "", 200)); diff != "" {
			t.Errorf("second refund differs (-first +second):\n%s", diff)
		}
		unmatched := h.ok("POST", "/v1/sales", `{"source":"mytill","order_id":"A-1002","total":"3.00","currency":"EUR"}`, 201)
		if unmatched["status"] != "unmatched" || unmatched["card"] != nil {
			t.Errorf("sale without a customer = %v", unmatched)
		}
		list := h.ok("GET", "/v1/sales?status=refunded", "", 200)["data"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["order_id"] != "A-1001" {
			t.Errorf("refunded sales = %v", list)
		}
		var types []string
		for _, e := range h.ok("GET", "/v1/events?limit=10", "", 200)["data"].([]any) {
			types = append(types, str(e.(map[string]any)["event"]))
		}
		if diff := cmp.Diff([]string{"sale_refunded", "stamp_added", "card_issued"}, types); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}

// TestSalesRefuseBadInput: every refusal is the documented envelope and
// changes nothing.
func TestSalesRefuseBadInput(t *testing.T) {
	runBoth(t, func(t *testing.T, h *harness) {
		h.ok("POST", "/v1/cards", `{"template_id":"`+h.template+`","customer":{"phone":"+380671234567"}}`, 201)
		o := h.otherBusiness()
		theirCard := str(h.as(o.key, "GET", "/v1/cards?limit=1", "", 200)["data"].([]any)[0].(map[string]any)["id"])
		theirTemplate := str(h.as(o.key, "GET", "/v1/card-templates?limit=1", "", 200)["data"].([]any)[0].(map[string]any)["id"])
		ok := `"source":"till","order_id":"X-1","currency":"EUR"`
		bad := []struct {
			name, method, path, body string
			status                   int
			code, field, prefix      string
		}{
			{"malformed JSON", "POST", "/v1/sales", `{"source":`, 400, "invalid_json", "", ""},
			{"not an object", "POST", "/v1/sales", `[]`, 422, "validation_failed", "body", ""},
			{"total as a number", "POST", "/v1/sales", `{` + ok + `,"total":12.5}`, 422, "validation_failed", "total", "must be a string"},
			{"total as a float string", "POST", "/v1/sales", `{` + ok + `,"total":"1.2e1"}`, 422, "validation_failed", "total", "must be a non-negative decimal"},
			{"total with five decimals", "POST", "/v1/sales", `{` + ok + `,"total":"1.00001"}`, 422, "validation_failed", "total", ""},
			{"huge total", "POST", "/v1/sales", `{` + ok + `,"total":"` + strings.Repeat("9", 309) + `"}`, 422, "validation_failed", "total", ""},
			{"no total", "POST", "/v1/sales", `{` + ok + `}`, 422, "validation_failed", "total", "is required"},
			{"unknown field", "POST", "/v1/sales", `{` + ok + `,"total":"1","tip":"2"}`, 422, "validation_failed", "tip", "is not a known field"},
			{"customer as a string", "POST", "/v1/sales", `{` + ok + `,"total":"1","customer":"+380671234567"}`, 422, "validation_failed", "customer", "must be an object"},
			{"quantity as a word", "POST", "/v1/sales", `{` + ok + `,"total":"1","items":[{"sku":"A","quantity":"two","price":"1"}]}`, 422, "validation_failed", "items[0].quantity", ""},
			{"negative quantity", "POST", "/v1/sales", `{` + ok + `,"total":"1","items":[{"sku":"A","quantity":-1,"price":"1"}]}`, 422, "validation_failed", "items[0].quantity", ""},
			{"price as a number", "POST", "/v1/sales", `{` + ok + `,"total":"1","items":[{"sku":"A","quantity":1,"price":1}]}`, 422, "validation_failed", "items.price", "must be a string"},
			{"source with a slash", "POST", "/v1/sales", `{"source":"a/b","order_id":"1","total":"1","currency":"EUR"}`, 422, "validation_failed", "source", ""},
			{"another business's location", "POST", "/v1/sales", `{` + ok + `,"total":"1","location_id":"loc_01JTZ6W1Q9M3N4R5S6T7V8W9XY"}`, 404, "not_found", "", ""},
			{"bad status filter", "GET", "/v1/sales?status=lost", ``, 422, "validation_failed", "status", ""},
			{"refund of an unknown order", "POST", "/v1/sales/till/nope/refund", ``, 404, "not_found", "", ""},
			{"refund with a body", "POST", "/v1/sales/till/nope/refund", `{"all":true}`, 422, "validation_failed", "all", "is not a known field"},
			{"patch without earning", "PATCH", "/v1/card-templates/" + h.template, `{}`, 422, "validation_failed", "earning", "is required"},
			{"patch the name", "PATCH", "/v1/card-templates/" + h.template, `{"name":"New"}`, 422, "validation_failed", "name", "is not a known field"},
			{"patch a bad rule", "PATCH", "/v1/card-templates/" + h.template, `{"earning":{"per":"amount"}}`, 422, "validation_failed", "earning.amount_per_stamp", "is required"},
			{"patch with a float step", "PATCH", "/v1/card-templates/" + h.template, `{"earning":{"per":"amount","amount_per_stamp":5}}`, 422, "validation_failed", "earning.amount_per_stamp", "must be a string"},
			{"patch another business's template", "PATCH", "/v1/card-templates/" + theirTemplate, `{"earning":null}`, 404, "not_found", "", ""},
		}
		before := h.snapshot() + h.call("GET", "/v1/sales?limit=100", "").String() + h.call("GET", "/v1/card-templates/"+h.template, "").String()
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				refused(t, h.call(tt.method, tt.path, tt.body), tt.status, tt.code, tt.field, tt.prefix)
			})
		}
		// Another business's card is not an error: the sale stays unmatched and stamps nothing.
		theirs := h.ok("POST", "/v1/sales", `{`+ok+`,"total":"1","customer":{"card_id":"`+theirCard+`"}}`, 201)
		if theirs["status"] != "unmatched" {
			t.Errorf("sale naming another business's card = %v", theirs)
		}
		h.ok("POST", "/v1/sales/till/X-1/refund", "", 200)
		after := h.snapshot()
		if !strings.HasPrefix(before, after[:strings.Index(after, "\n")]) {
			t.Errorf("refused requests changed the event log")
		}
		if got := h.as(o.key, "GET", "/v1/cards/"+theirCard, "", 200)["stamps_total"]; got != 0.0 {
			t.Errorf("their card has %v stamps", got)
		}
	})
}

// TestSalesConcurrentTwinsOverHTTP: the same order posted 20 times at once
// adds its stamp once; one answer is 201, the rest 200 with the same id.
func TestSalesConcurrentTwinsOverHTTP(t *testing.T) {
	runBoth(t, func(t *testing.T, h *harness) {
		card := str(h.ok("POST", "/v1/cards", `{"template_id":"`+h.template+`","customer":{"phone":"+380671234567"}}`, 201)["id"])
		const n = 20
		var wg sync.WaitGroup
		statuses := make(chan string, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := h.call("POST", "/v1/sales", `{"source":"till","order_id":"T-1","total":"4.00","currency":"EUR","customer":{"phone":"+380671234567"}}`)
				var id string
				if r.status == 200 || r.status == 201 {
					id = str(r.json(t)["id"])
				}
				statuses <- fmt.Sprintf("%d %s", r.status, id)
			}()
		}
		wg.Wait()
		close(statuses)
		created, ids := 0, map[string]bool{}
		for s := range statuses {
			status, id, _ := strings.Cut(s, " ")
			if status == "201" {
				created++
			} else if status != "200" {
				t.Errorf("answer %s", s)
			}
			ids[id] = true
		}
		if created != 1 || len(ids) != 1 {
			t.Errorf("201 answers = %d, sale ids %v; want one of each", created, ids)
		}
		if got := h.ok("GET", "/v1/cards/"+card, "", 200)["stamps_total"]; got != 1.0 {
			t.Errorf("stamps_total = %v, want 1", got)
		}
	})
}

// String is the response body, for snapshots.
func (r response) String() string { return string(r.body) }
