package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// automations lists the business's automations (one page of 100) as the
// key sees them.
func (h *harness) automations(key string) []map[string]any {
	h.t.Helper()
	var out []map[string]any
	for _, a := range h.as(key, "GET", "/v1/automations?limit=100", "", 200)["data"].([]any) {
		out = append(out, a.(map[string]any))
	}
	return out
}

// automationNamed returns the listed automation whose name starts with prefix.
func automationNamed(t *testing.T, list []map[string]any, prefix string) map[string]any {
	t.Helper()
	for _, a := range list {
		if strings.HasPrefix(str(a["name"]), prefix) {
			return a
		}
	}
	t.Fatalf("no automation named %q… among %v", prefix, list)
	return nil
}

// TestReadyMadeAutomations: a new business has the four ready-made
// automations, disabled, each sending one of its ready-made templates; the
// birthday one issues a "Birthday gift" voucher first.
func TestReadyMadeAutomations(t *testing.T) {
	runBoth(t, func(t *testing.T, h *harness) {
		list := h.automations(h.key)
		if len(list) != 4 {
			t.Fatalf("%d automations, want the 4 ready-made ones: %v", len(list), list)
		}
		templates := map[string]bool{}
		for _, mt := range h.ok("GET", "/v1/message-templates?limit=100", "", 200)["data"].([]any) {
			templates[str(mt.(map[string]any)["id"])] = true
		}
		tests := []struct {
			prefix, trigger string
			actions         []string
		}{
			{"Birthday", "birthday_reached", []string{"issue_voucher", "send_message"}},
			{"We miss you", "inactivity_trigger", []string{"send_message"}},
			{"Goal reached", "goal_reached", []string{"send_message"}},
			{"Voucher expiring", "voucher_expiring", []string{"send_message"}},
		}
		for _, tt := range tests {
			t.Run(tt.prefix, func(t *testing.T) {
				a := automationNamed(t, list, tt.prefix)
				got := map[string]any{"enabled": a["enabled"], "trigger": a["trigger"], "delay_seconds": a["delay_seconds"],
					"condition": a["condition"]}
				want := map[string]any{"enabled": false, "trigger": map[string]any{"event": tt.trigger}, "delay_seconds": 0.0,
					"condition": map[string]any{"all": []any{}}}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("automation (-want +got):\n%s", diff)
				}
				var types []string
				for _, act := range a["actions"].([]any) {
					m := act.(map[string]any)
					types = append(types, str(m["type"]))
					if m["type"] == "send_message" && !templates[str(m["template_id"])] {
						t.Errorf("send_message names %v, not one of the business's templates", m["template_id"])
					}
					if m["type"] == "issue_voucher" && !strings.HasPrefix(str(m["voucher_template_id"]), "vt_") {
						t.Errorf("issue_voucher names %v", m["voucher_template_id"])
					}
				}
				if diff := cmp.Diff(tt.actions, types); diff != "" {
					t.Errorf("action types (-want +got):\n%s", diff)
				}
			})
		}
	})
}

func TestAutomations(t *testing.T) {
	runBoth(t, func(t *testing.T, h *harness) {
		mt := str(h.ok("POST", "/v1/message-templates", `{"name":"Thanks","variants":[{"language":"en","kind":"text","text":"Thanks, {{ customer.name }}"}]}`, 201)["id"])
		body := `{"name":"Welcome gift","enabled":true,"trigger":{"event":"card_issued"},"delay_seconds":3600,
			"condition":{"field":"stamps","op":"lt","value":3},
			"actions":[{"type":"issue_voucher","voucher_template_id":"` + h.vtpl + `"},
			           {"type":"send_message","template_id":"` + mt + `","channels":["messengers","email"]}]}`
		created := h.ok("POST", "/v1/automations", body, 201)
		id := str(created["id"])
		if !strings.HasPrefix(id, "au_") {
			t.Fatalf("id = %q", id)
		}
		want := map[string]any{"id": id, "name": "Welcome gift", "enabled": true, "trigger": map[string]any{"event": "card_issued"},
			"delay_seconds": 3600.0, "condition": map[string]any{"field": "stamps", "op": "lt", "value": 3.0},
			"actions": []any{
				map[string]any{"type": "issue_voucher", "voucher_template_id": h.vtpl},
				map[string]any{"type": "send_message", "template_id": mt, "channels": []any{"messengers", "email"}},
			},
			"created_at": created["created_at"], "updated_at": created["updated_at"]}
		if diff := cmp.Diff(want, created); diff != "" {
			t.Errorf("new automation (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want, h.ok("GET", "/v1/automations/"+id, "", 200)); diff != "" {
			t.Errorf("GET of the new automation (-want +got):\n%s", diff)
		}
		list := h.automations(h.key)
		if len(list) != 5 || str(list[0]["id"]) != id {
			t.Errorf("list = %v, want the new automation first, then the 4 ready-made ones", list)
		}

		// A minimal automation takes the defaults.
		minimal := h.ok("POST", "/v1/automations", `{"name":"Thank you","trigger":{"event":"voucher_redeemed"},
			"actions":[{"type":"send_message","template_id":"`+mt+`"}]}`, 201)
		got := map[string]any{"enabled": minimal["enabled"], "delay_seconds": minimal["delay_seconds"],
			"condition": minimal["condition"], "actions": minimal["actions"]}
		if diff := cmp.Diff(map[string]any{"enabled": false, "delay_seconds": 0.0, "condition": map[string]any{"all": []any{}},
			"actions": []any{map[string]any{"type": "send_message", "template_id": mt}}}, got); diff != "" {
			t.Errorf("defaults (-want +got):\n%s", diff)
		}

		// PATCH changes only the fields given.
		patches := []struct {
			name, patch string
			change      func(m map[string]any)
		}{
			{"disable", `{"enabled":false}`, func(m map[string]any) { m["enabled"] = false }},
			{"trigger and delay", `{"trigger":{"event":"voucher_expiring"},"delay_seconds":0}`, func(m map[string]any) {
				m["trigger"] = map[string]any{"event": "voucher_expiring"}
				m["delay_seconds"] = 0.0
			}},
			{"condition", `{"condition":{"all":[]}}`, func(m map[string]any) { m["condition"] = map[string]any{"all": []any{}} }},
			{"actions replace the list", `{"actions":[{"type":"send_message","template_id":"` + mt + `"}]}`, func(m map[string]any) {
				m["actions"] = []any{map[string]any{"type": "send_message", "template_id": mt}}
			}},
			{"nulls change nothing", `{"name":null,"enabled":null,"trigger":null,"delay_seconds":null,"actions":null}`, func(map[string]any) {}},
			{"empty patch", `{}`, func(map[string]any) {}},
		}
		for _, p := range patches {
			p.change(want)
			got := h.ok("PATCH", "/v1/automations/"+id, p.patch, 200)
			want["updated_at"] = got["updated_at"]
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: PATCH answer (-want +got):\n%s", p.name, diff)
			}
			if diff := cmp.Diff(want, h.ok("GET", "/v1/automations/"+id, "", 200)); diff != "" {
				t.Errorf("%s: GET after PATCH (-want +got):\n%s", p.name, diff)
			}
		}

		o := h.otherBusiness()
		theirs := str(h.automations(o.key)[0]["id"])
		unknown := "au_01JTZ6W1Q9M3N4R5S6T7V8W9XY"
		action := `"actions":[{"type":"send_message","template_id":"` + mt + `"}]`
		bad := []struct {
			name, method, path, body string
			status                   int
			code, field, prefix      string
		}{
			{"malformed JSON", "POST", "/v1/automations", `{"name":`, 400, "invalid_json", "", ""},
			{"not an object", "POST", "/v1/automations", `[1]`, 422, "validation_failed", "body", ""},
			{"wrong type", "POST", "/v1/automations", `{"name":5,"trigger":{"event":"card_issued"},` + action + `}`, 422, "validation_failed", "name", "must be a string"},
			{"wrong nested type", "POST", "/v1/automations", `{"name":"x","trigger":{"event":1},` + action + `}`, 422, "validation_failed", "trigger.event", "must be a string"},
			{"delay as a string", "POST", "/v1/automations", `{"name":"x","trigger":{"event":"card_issued"},"delay_seconds":"60",` + action + `}`, 422, "validation_failed", "delay_seconds", "must be a number"},
			{"unknown field", "POST", "/v1/automations", `{"name":"x","trigger":{"event":"card_issued"},"when":"now",` + action + `}`, 422, "validation_failed", "when", "is not a known field"},
			{"unknown field in an action", "POST", "/v1/automations", `{"name":"x","trigger":{"event":"card_issued"},"actions":[{"type":"send_message","template_id":"` + mt + `","urgent":true}]}`, 422, "validation_failed", "urgent", "is not a known field"}, // the decoder names unknown fields without their path,
			{"unknown trigger", "POST", "/v1/automations", `{"name":"x","trigger":{"event":"card_lost"},` + action + `}`, 422, "validation_failed", "trigger.event", "must be one of"},
			{"no trigger", "POST", "/v1/automations", `{"name":"x",` + action + `}`, 422, "validation_failed", "trigger", "is required"},
			{"no name", "POST", "/v1/automations", `{"trigger":{"event":"card_issued"},` + action + `}`, 422, "validation_failed", "name", "must not be empty"},
			{"bad condition op", "POST", "/v1/automations", `{"name":"x","trigger":{"event":"card_issued"},"condition":{"field":"stamps","op":"like","value":1},` + action + `}`, 422, "validation_failed", "condition.op", "must be one of"},
			{"bad condition field", "POST", "/v1/automations", `{"name":"x","trigger":{"event":"card_issued"},"condition":{"all":[{"field":"mood","op":"eq","value":"happy"}]},` + action + `}`, 422, "validation_failed", "condition.all[0].field", "must be one of"},
			{"no actions", "POST", "/v1/automations", `{"name":"x","trigger":{"event":"card_issued"},"actions":[]}`, 422, "validation_failed", "actions", "must have 1 to 5"},
			{"unknown action", "POST", "/v1/automations", `{"name":"x","trigger":{"event":"card_issued"},"actions":[{"type":"call"}]}`, 422, "validation_failed", "actions[0].type", "must be send_message or issue_voucher"},
			{"unknown template id", "POST", "/v1/automations", `{"name":"x","trigger":{"event":"card_issued"},"actions":[{"type":"send_message","template_id":"mt_01JTZ6W1Q9M3N4R5S6T7V8W9XY"}]}`, 422, "validation_failed", "actions[0].template_id", "is not a message template of this business"},
			{"another business's template", "POST", "/v1/automations", `{"name":"x","trigger":{"event":"card_issued"},"actions":[{"type":"send_message","template_id":"` + o.msgTemplate + `"}]}`, 422, "validation_failed", "actions[0].template_id", "is not a message template of this business"},
			{"not a template id", "POST", "/v1/automations", `{"name":"x","trigger":{"event":"card_issued"},"actions":[{"type":"send_message","template_id":"` + h.vtpl + `"}]}`, 422, "validation_failed", "actions[0].template_id", "must be a message template id"},
			{"unknown voucher template", "POST", "/v1/automations", `{"name":"x","trigger":{"event":"card_issued"},"actions":[{"type":"issue_voucher","voucher_template_id":"vt_01JTZ6W1Q9M3N4R5S6T7V8W9XY"}]}`, 422, "validation_failed", "actions[0].voucher_template_id", "is not a voucher template of this business"},
			{"issue_voucher with a template", "POST", "/v1/automations", `{"name":"x","trigger":{"event":"card_issued"},"actions":[{"type":"issue_voucher","voucher_template_id":"` + h.vtpl + `","template_id":"` + mt + `"}]}`, 422, "validation_failed", "actions[0]", "issue_voucher takes only"},
			{"bad channels", "POST", "/v1/automations", `{"name":"x","trigger":{"event":"card_issued"},"actions":[{"type":"send_message","template_id":"` + mt + `","channels":["fax"]}]}`, 422, "validation_failed", "actions[0].channels[0]", "must be one of"},
			{"delay too long", "POST", "/v1/automations", `{"name":"x","trigger":{"event":"card_issued"},"delay_seconds":7776001,` + action + `}`, 422, "validation_failed", "delay_seconds", "must be between 0 and 7776000"},
			{"negative delay", "PATCH", "/v1/automations/" + id, `{"delay_seconds":-1}`, 422, "validation_failed", "delay_seconds", "must be between"},
			{"bad patch trigger", "PATCH", "/v1/automations/" + id, `{"trigger":{"event":"*"}}`, 422, "validation_failed", "trigger.event", ""},
			{"empty patch name", "PATCH", "/v1/automations/" + id, `{"name":" "}`, 422, "validation_failed", "name", "must not be empty"},
			{"malformed patch", "PATCH", "/v1/automations/" + id, `{"enabled":`, 400, "invalid_json", "", ""},
			{"another business's automation", "GET", "/v1/automations/" + theirs, ``, 404, "not_found", "", ""},
			{"patch another business's automation", "PATCH", "/v1/automations/" + theirs, `{"enabled":true}`, 404, "not_found", "", ""},
			{"unknown automation", "GET", "/v1/automations/" + unknown, ``, 404, "not_found", "", ""},
			{"patch an unknown automation", "PATCH", "/v1/automations/" + unknown, `{"enabled":true}`, 404, "not_found", "", ""},
			{"not an automation id", "GET", "/v1/automations/" + mt, ``, 404, "not_found", "", ""},
			{"bad limit", "GET", "/v1/automations?limit=0", ``, 422, "validation_failed", "limit", ""},
		}
		before := h.ok("GET", "/v1/automations?limit=100", "", 200)
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				refused(t, h.call(tt.method, tt.path, tt.body), tt.status, tt.code, tt.field, tt.prefix)
			})
		}
		if diff := cmp.Diff(before, h.ok("GET", "/v1/automations?limit=100", "", 200)); diff != "" {
			t.Errorf("refused requests changed the automations (-before +after):\n%s", diff)
		}

		// Deleting another business's automation answers 204 and leaves it.
		if r := h.call("DELETE", "/v1/automations/"+theirs, ""); r.status != http.StatusNoContent {
			t.Errorf("DELETE of another business's automation = %d %s", r.status, r.body)
		}
		h.as(o.key, "GET", "/v1/automations/"+theirs, "", 200)

		// DELETE, and again.
		for range 2 {
			if r := h.call("DELETE", "/v1/automations/"+id, ""); r.status != http.StatusNoContent || len(r.body) != 0 {
				t.Fatalf("DELETE = %d %s, want 204", r.status, r.body)
			}
		}
		refused(t, h.call("GET", "/v1/automations/"+id, ""), 404, "not_found", "", "")
		refused(t, h.call("PATCH", "/v1/automations/"+id, `{"enabled":true}`), 404, "not_found", "", "")
		var ids []string
		for _, a := range h.automations(h.key) {
			ids = append(ids, str(a["id"]))
		}
		if len(ids) != 5 || ids[0] != str(minimal["id"]) {
			t.Errorf("after DELETE the list is %v", ids)
		}
	})
}

// sweep runs a sweep as the operator; it must answer 200 and returns fired.
func (h *harness) sweep(kind, body string) float64 {
	h.t.Helper()
	fired, ok := h.admin("POST", "/admin/v1/sweeps/"+kind+"/run", body, 200)["fired"].(float64)
	if !ok {
		h.t.Fatalf("sweep %s: no fired count", kind)
	}
	return fired
}

func TestSweepRun(t *testing.T) {
	runBoth(t, func(t *testing.T, h *harness) {
		run := func(token, kind, body string) response {
			t.Helper()
			headers := map[string]string{}
			if token != "" {
				headers["Authorization"] = "Bearer " + token
			}
			var b []byte
			if body != "" {
				b = []byte(body)
			}
			return h.send("POST", "/admin/v1/sweeps/"+kind+"/run", b, headers)
		}
		bad := []struct {
			name, token, kind, body string
			status                  int
			code, field, prefix     string
		}{
			{"no token", "", "birthday", `{}`, 401, "unauthorized", "", ""},
			{"wrong token", "not-the-token", "birthday", `{}`, 401, "unauthorized", "", ""},
			{"an API key", h.key, "birthday", `{}`, 401, "unauthorized", "", ""},
			{"unknown kind", adminToken, "weather", `{}`, 404, "not_found", "", ""},
			{"as_of not a time", adminToken, "birthday", `{"as_of":"yesterday"}`, 422, "validation_failed", "as_of", "must be an RFC 3339 time"},
			{"as_of a date only", adminToken, "inactivity", `{"as_of":"2026-06-15"}`, 422, "validation_failed", "as_of", "must be an RFC 3339 time"},
			{"as_of a number", adminToken, "voucher-expiring", `{"as_of":1781500000}`, 422, "validation_failed", "as_of", "must be an RFC 3339 time"},
			{"bad business id", adminToken, "birthday", `{"business_id":"x"}`, 422, "validation_failed", "business_id", "must be a business id"},
			{"business id of a wrong type", adminToken, "birthday", `{"business_id":5}`, 422, "validation_failed", "business_id", "must be a string"},
			{"unknown field", adminToken, "birthday", `{"date":"2026-06-15"}`, 422, "validation_failed", "date", "is not a known field"},
			{"unknown business", adminToken, "birthday", `{"business_id":"b_01JTZ6W1Q9M3N4R5S6T7V8W9XY"}`, 404, "not_found", "", ""},
			{"malformed JSON", adminToken, "birthday", `{"as_of":`, 400, "invalid_json", "", ""},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				refused(t, run(tt.token, tt.kind, tt.body), tt.status, tt.code, tt.field, tt.prefix)
			})
		}

		// Birthdays: once per customer and birthday year, whoever runs it.
		ann := h.customer(`"email":"ann@example.com","name":"Ann"`)
		h.ok("PATCH", "/v1/customers/"+ann, `{"birthday":"1990-06-15"}`, 200)
		biz := `"business_id":"` + h.business + `"`
		births := []struct {
			name, body string
			want       float64
		}{
			{"not the birthday", `{` + biz + `,"as_of":"2026-06-14T09:00:00Z"}`, 0},
			{"the birthday", `{` + biz + `,"as_of":"2026-06-15T09:00:00Z"}`, 1},
			{"the same day again", `{` + biz + `,"as_of":"2026-06-15T09:00:00Z"}`, 0},
			{"later that day, every business", `{"as_of":"2026-06-15T18:00:00Z"}`, 0},
			{"next year", `{` + biz + `,"as_of":"2027-06-15T09:00:00Z"}`, 1},
			{"next year again", `{"as_of":"2027-06-15T09:00:00+03:00"}`, 0},
		}
		for _, b := range births {
			if got := h.sweep("birthday", b.body); got != b.want {
				t.Errorf("%s: fired %v, want %v", b.name, got, b.want)
			}
		}
		var birthdays int
		for _, e := range h.ok("GET", "/v1/events?type=birthday_reached", "", 200)["data"].([]any) {
			if str(e.(map[string]any)["customer"].(map[string]any)["id"]) == ann {
				birthdays++
			}
		}
		if birthdays != 2 {
			t.Errorf("%d birthday_reached events for Ann, want 2", birthdays)
		}

		// Expiring vouchers start the enabled voucher_expiring automation
		// once per voucher, 3 days (the default) before the expiry.
		expiring := automationNamed(t, h.automations(h.key), "Voucher expiring")
		v := h.ok("POST", "/v1/vouchers", `{"customer_id":"`+ann+`","voucher_template_id":"`+h.vtpl+`"}`, 201)
		exp, err := time.Parse(time.RFC3339, str(v["expires_at"]))
		if err != nil {
			t.Fatal(err)
		}
		kyiv, err := time.LoadLocation("Europe/Kyiv")
		if err != nil {
			t.Fatal(err)
		}
		asOf := `{` + biz + `,"as_of":"` + exp.In(kyiv).AddDate(0, 0, -3).Format(time.RFC3339) + `"}`
		if got := h.sweep("voucher-expiring", asOf); got != 0 {
			t.Errorf("with the automation disabled: fired %v, want 0", got)
		}
		h.ok("PATCH", "/v1/automations/"+str(expiring["id"]), `{"enabled":true}`, 200)
		for i, want := range []float64{1, 0, 0} {
			if got := h.sweep("voucher-expiring", asOf); got != want {
				t.Errorf("run %d: fired %v, want %v", i+1, got, want)
			}
		}
		if got := h.sweep("voucher-expiring", `{"as_of":"`+exp.AddDate(0, 0, -10).Format(time.RFC3339)+`"}`); got != 0 {
			t.Errorf("another day: fired %v, want 0", got)
		}

		// Inactivity needs no stamp for 30 days; nothing is that old here.
		if got := h.sweep("inactivity", `{`+biz+`}`); got != 0 {
			t.Errorf("inactivity: fired %v, want 0", got)
		}
		// voucher-expiry expires what is due now: nothing.
		if got := h.sweep("voucher-expiry", ``); got != 0 {
			t.Errorf("voucher-expiry: fired %v, want 0", got)
		}

		// A replayed request (same Idempotency-Key) answers the kept result.
		headers := map[string]string{"Authorization": "Bearer " + adminToken, "Idempotency-Key": "sweep-1"}
		body := []byte(`{` + biz + `,"as_of":"2028-06-15T09:00:00Z"}`)
		first := h.send("POST", "/admin/v1/sweeps/birthday/run", body, headers)
		again := h.send("POST", "/admin/v1/sweeps/birthday/run", body, headers)
		if diff := cmp.Diff([]any{200, `{"fired":1}`, ""}, []any{first.status, string(first.body), first.header.Get("Idempotent-Replayed")}); diff != "" {
			t.Errorf("first run (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]any{200, `{"fired":1}`, "true"}, []any{again.status, string(again.body), again.header.Get("Idempotent-Replayed")}, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("replayed run (-want +got):\n%s", diff)
		}
	})
}
