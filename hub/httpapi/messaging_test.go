package httpapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/7loc/hub/templates"
)

// fieldsOf returns the fields of a validation error response.
func fieldsOf(t *testing.T, r response) map[string]any {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	f, _ := e["fields"].(map[string]any)
	return f
}

// refused checks an error response: status, code and, when field is set,
// that fields names it (and, when prefix is set, that its problem starts
// with prefix).
func refused(t *testing.T, r response, status int, code, field, prefix string) {
	t.Helper()
	if r.status != status || r.code() != code {
		t.Fatalf("= %d %s, want %d %s", r.status, r.body, status, code)
	}
	if field == "" {
		return
	}
	fields := fieldsOf(t, r)
	problem, ok := fields[field]
	if !ok {
		t.Fatalf("fields = %v, want %q among them", fields, field)
	}
	if !strings.HasPrefix(str(problem), prefix) {
		t.Errorf("fields[%q] = %q, want it to start with %q", field, problem, prefix)
	}
}

// other is a second business with its own key, card template, customer and
// message template.
type other struct {
	key, customer, msgTemplate string
}

func (h *harness) otherBusiness() other {
	h.t.Helper()
	b := str(h.admin("POST", "/admin/v1/businesses", `{"name":"Other"}`, 201)["id"])
	h.admin("POST", "/admin/v1/businesses/"+b+"/staff", `{"login":"x"}`, 201)
	o := other{key: str(h.admin("POST", "/admin/v1/businesses/"+b+"/api-keys", `{"login":"x"}`, 201)["key"])}
	tpl := str(h.admin("POST", "/admin/v1/businesses/"+b+"/card-templates", `{"name":"T","goals":[{"stamps":2,"reward":{"title":"R"}}]}`, 201)["id"])
	card := h.as(o.key, "POST", "/v1/cards", `{"template_id":"`+tpl+`","customer":{"email":"z@example.com"}}`, 201)
	o.customer = str(card["customer"].(map[string]any)["id"])
	o.msgTemplate = str(h.as(o.key, "POST", "/v1/message-templates", `{"name":"Theirs","variants":[{"language":"en","kind":"text","text":"Hi"}]}`, 201)["id"])
	return o
}

// as makes a call with another API key that must answer with the status.
func (h *harness) as(key, method, path, body string, status int) map[string]any {
	h.t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	r := h.send(method, path, b, map[string]string{"Authorization": "Bearer " + key})
	if r.status != status {
		h.t.Fatalf("%s %s = %d, want %d: %s", method, path, r.status, status, r.body)
	}
	if len(r.body) == 0 {
		return nil
	}
	return r.json(h.t)
}

// customer issues a card to a new customer and returns the customer's id.
func (h *harness) customer(fields string) string {
	h.t.Helper()
	card := h.ok("POST", "/v1/cards", `{"template_id":"`+h.template+`","customer":{`+fields+`}}`, 201)
	return str(card["customer"].(map[string]any)["id"])
}

// configureEmail sets up an email provider for the business.
func (h *harness) configureEmail() {
	h.t.Helper()
	h.ok("PUT", "/v1/channels/email", `{"host":"smtp.example.com","from":"shop@example.com","password":"s3cret"}`, 200)
}

// emailCustomer is a customer with an email address who consented to email.
func (h *harness) emailCustomer(email, name string) string {
	h.t.Helper()
	nameJSON, _ := json.Marshal(name)
	id := h.customer(`"email":"` + email + `","name":` + string(nameJSON))
	h.ok("PATCH", "/v1/customers/"+id, `{"consent":{"email":true}}`, 200)
	return id
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSettings(t *testing.T) {
	runBoth(t, func(t *testing.T, h *harness) {
		got := h.ok("GET", "/v1/settings", "", 200)
		want := decode(t, `{"timezone":"Europe/Kyiv","default_language":"en",
			"messaging":{"channel_order":["messengers","push","email"],"quiet_hours":null,"frequency_cap":null},
			"triggers":{"birthday":{"enabled":true,"days_before":0,"local_time":"10:00"},
			            "inactivity":{"enabled":true,"days":30,"local_time":"11:00"},
			            "voucher_expiring":{"days_before":3,"local_time":"12:00"}}}`)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("default settings (-want +got):\n%s", diff)
		}

		// Merge semantics: each patch changes only what it names.
		steps := []struct {
			name, patch string
			change      func(m map[string]any)
		}{
			{"quiet hours and cap", `{"messaging":{"quiet_hours":{"start":"21:00","end":"09:00"},"frequency_cap":{"max":2,"per_days":7}}}`,
				func(m map[string]any) {
					msg := m["messaging"].(map[string]any)
					msg["quiet_hours"] = map[string]any{"start": "21:00", "end": "09:00"}
					msg["frequency_cap"] = map[string]any{"max": 2.0, "per_days": 7.0}
				}},
			{"one nested field", `{"triggers":{"birthday":{"days_before":3}},"default_language":"th"}`,
				func(m map[string]any) {
					m["triggers"].(map[string]any)["birthday"].(map[string]any)["days_before"] = 3.0
					m["default_language"] = "th"
				}},
			{"end of quiet hours only", `{"messaging":{"quiet_hours":{"end":"08:30"}}}`,
				func(m map[string]any) {
					m["messaging"].(map[string]any)["quiet_hours"].(map[string]any)["end"] = "08:30"
				}},
			{"null clears quiet hours", `{"messaging":{"quiet_hours":null}}`,
				func(m map[string]any) { m["messaging"].(map[string]any)["quiet_hours"] = nil }},
			{"channel order and time zone", `{"timezone":"Asia/Bangkok","messaging":{"channel_order":["email","messengers"]}}`,
				func(m map[string]any) {
					m["timezone"] = "Asia/Bangkok"
					m["messaging"].(map[string]any)["channel_order"] = []any{"email", "messengers"}
				}},
			{"empty patch", `{}`, func(map[string]any) {}},
		}
		for _, s := range steps {
			s.change(want)
			got := h.ok("PATCH", "/v1/settings", s.patch, 200)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: PATCH answer (-want +got):\n%s", s.name, diff)
			}
			if diff := cmp.Diff(want, h.ok("GET", "/v1/settings", "", 200)); diff != "" {
				t.Errorf("%s: GET after PATCH (-want +got):\n%s", s.name, diff)
			}
		}

		bad := []struct {
			name, body, field, prefix string
			status                    int
			code                      string
		}{
			{"unknown time zone", `{"timezone":"Mars/Olympus"}`, "timezone", "must be an IANA time zone", 422, "validation_failed"},
			{"bad language", `{"default_language":"english!"}`, "default_language", "must be a language code", 422, "validation_failed"},
			{"unknown channel in the order", `{"messaging":{"channel_order":["messengers","fax"]}}`, "messaging.channel_order[1]", "must be one of", 422, "validation_failed"},
			{"channel named twice", `{"messaging":{"channel_order":["email","email"]}}`, "messaging.channel_order[1]", "is named twice", 422, "validation_failed"},
			{"empty channel order", `{"messaging":{"channel_order":[]}}`, "messaging.channel_order", "must name 1 to 6", 422, "validation_failed"},
			{"bad quiet hours start", `{"messaging":{"quiet_hours":{"start":"25:00","end":"09:00"}}}`, "messaging.quiet_hours.start", "must be a time of day", 422, "validation_failed"},
			{"cap of zero", `{"messaging":{"frequency_cap":{"max":0,"per_days":7}}}`, "messaging.frequency_cap.max", "must be between 1 and 1000", 422, "validation_failed"},
			{"cap days too many", `{"messaging":{"frequency_cap":{"max":1,"per_days":366}}}`, "messaging.frequency_cap.per_days", "must be between 1 and 365", 422, "validation_failed"},
			{"inactivity days", `{"triggers":{"inactivity":{"days":0}}}`, "triggers.inactivity.days", "must be between", 422, "validation_failed"},
			{"unknown field", `{"colour":"red"}`, "colour", "is not a known field", 422, "validation_failed"},
			{"wrong type", `{"timezone":5}`, "timezone", "must be a string", 422, "validation_failed"},
			{"wrong nested type", `{"messaging":{"frequency_cap":{"max":"2","per_days":7}}}`, "messaging.frequency_cap.max", "must be a number", 422, "validation_failed"},
			{"not an object", `[1]`, "", "", 422, "validation_failed"},
			{"malformed JSON", `{"timezone":`, "", "", 400, "invalid_json"},
		}
		before := h.ok("GET", "/v1/settings", "", 200)
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				refused(t, h.call("PATCH", "/v1/settings", tt.body), tt.status, tt.code, tt.field, tt.prefix)
			})
		}
		if diff := cmp.Diff(before, h.ok("GET", "/v1/settings", "", 200)); diff != "" {
			t.Errorf("refused patches changed the settings (-before +after):\n%s", diff)
		}
	})
}

func TestMessageTemplates(t *testing.T) {
	runBoth(t, func(t *testing.T, h *harness) {
		body := `{"name":"Birthday","variants":[
			{"language":"en","kind":"text","text":"Happy birthday, {{ customer.name | default: \"friend\" }}!"},
			{"language":"EN","kind":"email","subject":"A gift for you","html":"<p>Hi {{ customer.name }}</p>","text":"Hi {{ customer.name }}"}]}`
		created := h.ok("POST", "/v1/message-templates", body, 201)
		id := str(created["id"])
		if !strings.HasPrefix(id, "mt_") {
			t.Fatalf("id = %q", id)
		}
		wantVariants := []any{
			map[string]any{"language": "en", "kind": "text", "subject": "", "html": "",
				"text": `Happy birthday, {{ customer.name | default: "friend" }}!`},
			map[string]any{"language": "en", "kind": "email", "subject": "A gift for you",
				"html": "<p>Hi {{ customer.name }}</p>", "text": "Hi {{ customer.name }}"},
		}
		if diff := cmp.Diff(wantVariants, created["variants"]); diff != "" {
			t.Errorf("variants (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(created, h.ok("GET", "/v1/message-templates/"+id, "", 200)); diff != "" {
			t.Errorf("GET differs from the POST answer (-post +get):\n%s", diff)
		}
		second := str(h.ok("POST", "/v1/message-templates", `{"name":"Second","variants":[{"language":"th","kind":"text","text":"สวัสดี"}]}`, 201)["id"])
		// The new business's ready-made templates come last (oldest).
		var listed, seeded []string
		for _, item := range h.ok("GET", "/v1/message-templates", "", 200)["data"].([]any) {
			listed = append(listed, str(item.(map[string]any)["id"]))
			seeded = append(seeded, str(item.(map[string]any)["name"]))
		}
		if len(listed) < 2 {
			t.Fatalf("listed %v, want at least the two new templates", listed)
		}
		if diff := cmp.Diff([]string{second, id}, listed[:2]); diff != "" {
			t.Errorf("list, newest first (-want +got):\n%s", diff)
		}
		var defaults []string
		for _, d := range templates.Defaults() {
			defaults = append(defaults, d.Name)
		}
		sortStrings := cmpopts.SortSlices(func(a, b string) bool { return a < b })
		if diff := cmp.Diff(defaults, seeded[2:], sortStrings); diff != "" {
			t.Errorf("the ready-made templates listed after the new ones (-want +got):\n%s", diff)
		}

		// PATCH changes only the fields given.
		patched := h.ok("PATCH", "/v1/message-templates/"+id, `{"name":"Birthday 2026"}`, 200)
		if patched["name"] != "Birthday 2026" {
			t.Errorf("name = %v", patched["name"])
		}
		if diff := cmp.Diff(wantVariants, patched["variants"]); diff != "" {
			t.Errorf("a name PATCH changed the variants (-want +got):\n%s", diff)
		}

		// Preview with sample data and with a customer.
		previews := []struct {
			name, body string
			want       map[string]any
		}{
			{"sample text", ``, map[string]any{"language": "en", "kind": "text", "subject": "", "text": "Happy birthday, Ann!", "html": ""}},
			{"sample email", `{"kind":"email"}`, map[string]any{"language": "en", "kind": "email", "subject": "A gift for you", "text": "Hi Ann", "html": "<p>Hi Ann</p>"}},
		}
		for _, p := range previews {
			got := h.ok("POST", "/v1/message-templates/"+id+"/preview", p.body, 200)
			if diff := cmp.Diff(p.want, got); diff != "" {
				t.Errorf("%s preview (-want +got):\n%s", p.name, diff)
			}
		}
		evil := `<script>alert(1)</script>Bob`
		cust := h.customer(`"email":"bob@example.com","name":"` + strings.ReplaceAll(evil, `"`, `\"`) + `"`)
		got := h.ok("POST", "/v1/message-templates/"+id+"/preview", `{"customer_id":"`+cust+`","kind":"email"}`, 200)
		if got["text"] != "Hi "+evil {
			t.Errorf("text = %q, want the name as written", got["text"])
		}
		if html := str(got["html"]); strings.Contains(html, "<script>") || !strings.Contains(html, "&lt;script&gt;") {
			t.Errorf("html = %q, want the name escaped", html)
		}
		if got := h.ok("POST", "/v1/message-templates/"+id+"/preview", `{"customer_id":"`+cust+`"}`, 200); got["text"] != "Happy birthday, "+evil+"!" {
			t.Errorf("text preview for the customer = %q", got["text"])
		}

		o := h.otherBusiness()
		long := strings.Repeat("x", 4097)
		bad := []struct {
			name, method, path, body string
			status                   int
			code, field, prefix      string
		}{
			{"unknown variable", "POST", "/v1/message-templates", `{"name":"x","variants":[{"language":"en","kind":"text","text":"Hi {{ customer.nmae }}"}]}`, 422, "validation_failed", "variants[0].text", "line 1: unknown variable"},
			{"unknown variable on line 2", "POST", "/v1/message-templates", `{"name":"x","variants":[{"language":"en","kind":"text","text":"Hi\n{{ card.stampz }}"}]}`, 422, "validation_failed", "variants[0].text", "line 2: unknown variable"},
			{"unknown filter", "POST", "/v1/message-templates", `{"name":"x","variants":[{"language":"en","kind":"text","text":"{{ customer.name | shout }}"}]}`, 422, "validation_failed", "variants[0].text", "line 1: unknown filter"},
			{"bad kind", "POST", "/v1/message-templates", `{"name":"x","variants":[{"language":"en","kind":"sms","text":"Hi"}]}`, 422, "validation_failed", "variants[0].kind", "must be text or email"},
			{"duplicate language and kind", "POST", "/v1/message-templates", `{"name":"x","variants":[{"language":"en","kind":"text","text":"A"},{"language":"en","kind":"text","text":"B"}]}`, 422, "validation_failed", "variants[1]", "repeats the language and kind"},
			{"too long", "POST", "/v1/message-templates", `{"name":"x","variants":[{"language":"en","kind":"text","text":"` + long + `"}]}`, 422, "validation_failed", "variants[0].text", "renders to 4097 characters"},
			{"subject on text", "POST", "/v1/message-templates", `{"name":"x","variants":[{"language":"en","kind":"text","text":"A","subject":"S"}]}`, 422, "validation_failed", "variants[0].subject", "is only for kind email"},
			{"no variants", "POST", "/v1/message-templates", `{"name":"x","variants":[]}`, 422, "validation_failed", "variants", "must have 1 to"},
			{"no name", "POST", "/v1/message-templates", `{"variants":[{"language":"en","kind":"text","text":"A"}]}`, 422, "validation_failed", "name", "is required"},
			{"unknown field", "POST", "/v1/message-templates", `{"name":"x","colour":"red"}`, 422, "validation_failed", "colour", ""},
			{"malformed JSON", "POST", "/v1/message-templates", `{"name":`, 400, "invalid_json", "", ""},
			{"bad patch", "PATCH", "/v1/message-templates/" + id, `{"variants":[{"language":"en","kind":"text","text":"{{ voucher.nope }}"}]}`, 422, "validation_failed", "variants[0].text", "line 1: unknown variable"},
			{"preview of a missing kind", "POST", "/v1/message-templates/" + second + "/preview", `{"kind":"email"}`, 422, "validation_failed", "kind", ""},
			{"preview with a bad kind", "POST", "/v1/message-templates/" + id + "/preview", `{"kind":"fax"}`, 422, "validation_failed", "kind", ""},
			{"preview for an unknown customer", "POST", "/v1/message-templates/" + id + "/preview", `{"customer_id":"c_01JTZ6W1Q9M3N4R5S6T7V8W9XY"}`, 404, "not_found", "", ""},
			{"preview for another business's customer", "POST", "/v1/message-templates/" + id + "/preview", `{"customer_id":"` + o.customer + `"}`, 404, "not_found", "", ""},
			{"another business's template", "GET", "/v1/message-templates/" + o.msgTemplate, ``, 404, "not_found", "", ""},
			{"patch another business's template", "PATCH", "/v1/message-templates/" + o.msgTemplate, `{"name":"mine"}`, 404, "not_found", "", ""},
			{"preview another business's template", "POST", "/v1/message-templates/" + o.msgTemplate + "/preview", ``, 404, "not_found", "", ""},
			{"malformed id", "GET", "/v1/message-templates/123", ``, 404, "not_found", "", ""},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				refused(t, h.call(tt.method, tt.path, tt.body), tt.status, tt.code, tt.field, tt.prefix)
			})
		}
		// Deleting another business's template does nothing.
		h.ok("DELETE", "/v1/message-templates/"+o.msgTemplate, "", 204)
		h.as(o.key, "GET", "/v1/message-templates/"+o.msgTemplate, "", 200)
		if diff := cmp.Diff(patched, h.ok("GET", "/v1/message-templates/"+id, "", 200)); diff != "" {
			t.Errorf("refused calls changed the template (-before +after):\n%s", diff)
		}

		h.ok("DELETE", "/v1/message-templates/"+id, "", 204)
		refused(t, h.call("GET", "/v1/message-templates/"+id, ""), 404, "not_found", "", "")
		h.ok("DELETE", "/v1/message-templates/"+id, "", 204)
	})
}

func TestSendMessage(t *testing.T) {
	runBoth(t, func(t *testing.T, h *harness) {
		tpl := str(h.ok("POST", "/v1/message-templates", `{"name":"Hi","variants":[
			{"language":"en","kind":"text","text":"Hi {{ customer.name }}, {{ data.code }}"},
			{"language":"en","kind":"email","subject":"Hello","text":"Hi {{ customer.name }}, {{ data.code }}"}]}`, 201)["id"])
		ann := h.emailCustomer("ann@example.com", "Ann")

		// No provider is configured yet: nobody can be reached.
		r := h.call("POST", "/v1/messages", `{"customer_id":"`+ann+`","text":"Hello"}`)
		refused(t, r, 422, "validation_failed", "channels", "no channel in the order")

		h.configureEmail()
		bob := h.customer(`"email":"bob@example.com"`) // no consent
		o := h.otherBusiness()

		sent := []struct {
			name, body    string
			transactional bool
		}{
			{"text", `{"customer_id":"` + ann + `","text":"Hello"}`, false},
			{"template with data", `{"customer_id":"` + ann + `","template_id":"` + tpl + `","data":{"code":"X1"}}`, false},
			{"by email, transactional", `{"customer":{"email":"ANN@example.com"},"text":"Your code","subject":"Code","channels":["email"],"transactional":true}`, true},
		}
		for _, s := range sent {
			d := h.ok("POST", "/v1/messages", s.body, 202)
			if !strings.HasPrefix(str(d["id"]), "dlv_") || d["channel"] != "email" || d["status"] != "pending" ||
				d["customer_id"] != ann || d["transactional"] != s.transactional {
				t.Errorf("%s: delivery = %v", s.name, d)
			}
			if got := h.ok("GET", "/v1/deliveries/"+str(d["id"]), "", 200); got["transactional"] != s.transactional {
				t.Errorf("%s: stored delivery = %v", s.name, got)
			}
		}

		bad := []struct {
			name, body          string
			status              int
			code, field, prefix string
		}{
			{"no consent", `{"customer_id":"` + bob + `","text":"Hi"}`, 422, "validation_failed", "channels", ""},
			{"no channel in the order", `{"customer_id":"` + ann + `","text":"Hi","channels":["messengers","push"]}`, 422, "validation_failed", "channels", ""},
			{"bad channel order", `{"customer_id":"` + ann + `","text":"Hi","channels":["fax"]}`, 422, "validation_failed", "channels[0]", "must be one of"},
			{"no customer", `{"text":"Hi"}`, 422, "validation_failed", "customer_id", ""},
			{"no template or text", `{"customer_id":"` + ann + `"}`, 422, "validation_failed", "template_id", ""},
			{"template and text", `{"customer_id":"` + ann + `","template_id":"` + tpl + `","text":"Hi"}`, 422, "validation_failed", "text", "give template_id or text"},
			{"customer_id and customer", `{"customer_id":"` + ann + `","customer":{"email":"ann@example.com"},"text":"Hi"}`, 422, "validation_failed", "customer", ""},
			{"empty text", `{"customer_id":"` + ann + `","text":" "}`, 422, "validation_failed", "text", ""},
			{"data not an object", `{"customer_id":"` + ann + `","text":"Hi","data":[1]}`, 422, "validation_failed", "data", ""},
			{"another business's template", `{"customer_id":"` + ann + `","template_id":"` + o.msgTemplate + `"}`, 422, "validation_failed", "template_id", ""},
			{"unknown customer", `{"customer_id":"c_01JTZ6W1Q9M3N4R5S6T7V8W9XY","text":"Hi"}`, 404, "not_found", "", ""},
			{"unknown email", `{"customer":{"email":"nobody@example.com"},"text":"Hi"}`, 404, "not_found", "", ""},
			{"another business's customer", `{"customer_id":"` + o.customer + `","text":"Hi"}`, 404, "not_found", "", ""},
			{"unknown field", `{"customer_id":"` + ann + `","text":"Hi","urgent":true}`, 422, "validation_failed", "urgent", ""},
			{"wrong type", `{"customer_id":"` + ann + `","text":5}`, 422, "validation_failed", "text", ""},
			{"malformed JSON", `{"customer_id":`, 400, "invalid_json", "", ""},
		}
		before := h.ok("GET", "/v1/deliveries?limit=100", "", 200)
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				refused(t, h.call("POST", "/v1/messages", tt.body), tt.status, tt.code, tt.field, tt.prefix)
			})
		}
		if diff := cmp.Diff(before, h.ok("GET", "/v1/deliveries?limit=100", "", 200)); diff != "" {
			t.Errorf("refused messages changed the ledger (-before +after):\n%s", diff)
		}
	})
}

func TestAudiencePreview(t *testing.T) {
	runBoth(t, func(t *testing.T, h *harness) {
		h.emailCustomer("ann@example.com", "Ann")          // email, consent
		h.customer(`"email":"bob@example.com"`)            // email, no consent
		h.customer(`"phone":"+380671234567","name":"Cid"`) // phone only, no consent

		preview := func(body string) map[string]any {
			t.Helper()
			return h.ok("POST", "/v1/audiences/preview", body, 200)
		}
		everyone := `{"audience":{"all":[]}}`
		want := map[string]any{"total": 3.0, "by_channel": map[string]any{}, "unreachable": 3.0}
		if diff := cmp.Diff(want, preview(everyone)); diff != "" {
			t.Errorf("before email is configured (-want +got):\n%s", diff)
		}
		h.configureEmail()
		tests := []struct {
			name, body string
			want       map[string]any
		}{
			{"everyone", everyone, map[string]any{"total": 3.0, "by_channel": map[string]any{"email": 1.0}, "unreachable": 2.0}},
			{"consent", `{"audience":{"field":"consent","op":"eq","value":"email"}}`,
				map[string]any{"total": 1.0, "by_channel": map[string]any{"email": 1.0}, "unreachable": 0.0}},
			{"not has_channel", `{"audience":{"not":{"field":"has_channel","op":"eq","value":"email"}}}`,
				map[string]any{"total": 1.0, "by_channel": map[string]any{}, "unreachable": 1.0}},
			{"any", `{"audience":{"any":[{"field":"language","op":"in","value":["th","uk"]},{"field":"stamps","op":"gte","value":0}]}}`,
				map[string]any{"total": 3.0, "by_channel": map[string]any{"email": 1.0}, "unreachable": 2.0}},
			{"nobody", `{"audience":{"all":[{"field":"stamps","op":"gt","value":5}]}}`,
				map[string]any{"total": 0.0, "by_channel": map[string]any{}, "unreachable": 0.0}},
			{"an order without email", `{"audience":{"all":[]},"channels":["messengers","push"]}`,
				map[string]any{"total": 3.0, "by_channel": map[string]any{}, "unreachable": 3.0}},
		}
		for _, tt := range tests {
			if diff := cmp.Diff(tt.want, preview(tt.body)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.name, diff)
			}
		}

		bad := []struct {
			name, body, field, prefix string
			status                    int
		}{
			{"bad op", `{"audience":{"all":[{"field":"stamps","op":"like","value":1}]}}`, "audience.all[0].op", "must be one of", 422},
			{"bad field", `{"audience":{"field":"mood","op":"eq","value":"happy"}}`, "audience.field", "must be one of", 422},
			{"op not for the field", `{"audience":{"field":"language","op":"gt","value":"en"}}`, "audience.op", "must be one of eq, ne, in", 422},
			{"bad value", `{"audience":{"not":{"field":"birthday_month","op":"eq","value":13}}}`, "audience.not.value", "must be a whole number from 1 to 12", 422},
			{"empty any", `{"audience":{"any":[]}}`, "audience.any", "must not be empty", 422},
			{"two kinds", `{"audience":{"all":[],"not":{"all":[]}}}`, "audience", "must be exactly one of", 422},
			{"unknown key", `{"audience":{"all":[{"everything":true}]}}`, "audience.all[0].everything", "is not a filter key", 422},
			{"no audience", `{}`, "audience", "is required", 422},
			{"bad channel order", `{"audience":{"all":[]},"channels":["fax"]}`, "channels[0]", "must be one of", 422},
			{"unknown field", `{"audience":{"all":[]},"limit":3}`, "limit", "", 422},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				refused(t, h.call("POST", "/v1/audiences/preview", tt.body), tt.status, "validation_failed", tt.field, tt.prefix)
			})
		}
		refused(t, h.call("POST", "/v1/audiences/preview", `{"audience":`), 400, "invalid_json", "", "")
	})
}

func TestCampaigns(t *testing.T) {
	runBoth(t, func(t *testing.T, h *harness) {
		h.configureEmail()
		ann := h.emailCustomer("ann@example.com", "Ann")
		bob := h.customer(`"email":"bob@example.com"`)
		tpl := str(h.ok("POST", "/v1/message-templates", `{"name":"Sale","variants":[
			{"language":"en","kind":"email","subject":"Sale","text":"Hi {{ customer.name }}, {{ campaign.name }}"}]}`, 201)["id"])
		zero := map[string]any{"audience": 0.0, "queued": 0.0, "sent": 0.0, "failed": 0.0, "skipped": map[string]any{}}

		created := h.ok("POST", "/v1/campaigns", `{"name":"Summer","audience":{"all":[]},"template_id":"`+tpl+`"}`, 201)
		id := str(created["id"])
		want := map[string]any{"id": id, "name": "Summer", "status": "draft", "audience": map[string]any{"all": []any{}},
			"channels": nil, "template_id": tpl, "message": nil, "send_at": nil, "stats": zero,
			"created_at": created["created_at"], "updated_at": created["updated_at"], "started_at": nil, "finished_at": nil}
		if diff := cmp.Diff(want, created); diff != "" {
			t.Errorf("new campaign (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want, h.ok("GET", "/v1/campaigns/"+id, "", 200)); diff != "" {
			t.Errorf("GET of the new campaign (-want +got):\n%s", diff)
		}

		patched := h.ok("PATCH", "/v1/campaigns/"+id, `{"name":"Summer sale","channels":["email"]}`, 200)
		want["name"], want["channels"], want["updated_at"] = "Summer sale", []any{"email"}, patched["updated_at"]
		if diff := cmp.Diff(want, patched); diff != "" {
			t.Errorf("patched draft (-want +got):\n%s", diff)
		}
		if l := h.ok("GET", "/v1/campaigns", "", 200)["data"].([]any); len(l) != 1 || str(l[0].(map[string]any)["id"]) != id {
			t.Errorf("campaign list = %v", l)
		}

		sent := h.ok("POST", "/v1/campaigns/"+id+"/send", "", 202)
		if sent["status"] != "sending" || sent["started_at"] == nil {
			t.Errorf("sent campaign = %v", sent)
		}
		if m, _ := sent["message"].(map[string]any); m == nil || len(m["variants"].([]any)) != 1 {
			t.Errorf("a sent campaign carries the template's copy; message = %v", sent["message"])
		}
		refused(t, h.call("PATCH", "/v1/campaigns/"+id, `{"name":"Too late"}`), 409, "conflict", "", "")
		refused(t, h.call("POST", "/v1/campaigns/"+id+"/send", ""), 409, "conflict", "", "")

		// One runner step walks the audience: Ann gets an email, Bob (no
		// consent) is skipped.
		if _, err := h.svc.CampaignStep(context.Background(), h.business, id, "test-runner"); err != nil {
			t.Fatal(err)
		}
		recipients := func(query string) map[string]map[string]any {
			t.Helper()
			out := map[string]map[string]any{}
			for _, r := range h.ok("GET", "/v1/campaigns/"+id+"/recipients"+query, "", 200)["data"].([]any) {
				m := r.(map[string]any)
				out[str(m["customer_id"])] = m
			}
			return out
		}
		all := recipients("")
		if r := all[ann]; r == nil || r["channel"] != "email" || r["status"] != "queued" || !strings.HasPrefix(str(r["delivery_id"]), "dlv_") {
			t.Errorf("Ann's recipient = %v", r)
		}
		if r := all[bob]; r == nil || r["status"] != "skipped" || r["reason"] != "no_channel" || r["delivery_id"] != nil {
			t.Errorf("Bob's recipient = %v", r)
		}
		if got := recipients("?status=skipped"); len(got) != 1 || got[bob] == nil {
			t.Errorf("skipped recipients = %v", got)
		}
		if got := recipients("?status=sent&limit=10"); len(got) != 0 {
			t.Errorf("sent recipients = %v", got)
		}
		stats := h.ok("GET", "/v1/campaigns/"+id, "", 200)["stats"]
		if diff := cmp.Diff(map[string]any{"audience": 2.0, "queued": 1.0, "sent": 0.0, "failed": 0.0,
			"skipped": map[string]any{"no_channel": 1.0}}, stats); diff != "" {
			t.Errorf("stats (-want +got):\n%s", diff)
		}

		// Status transitions.
		moves := []struct {
			action string
			status int
			want   string
		}{
			{"pause", 200, "paused"},
			{"pause", 200, "paused"},
			{"resume", 200, "sending"},
			{"resume", 200, "sending"},
			{"cancel", 200, "cancelled"},
			{"cancel", 200, "cancelled"},
			{"pause", 409, ""},
			{"resume", 409, ""},
			{"send", 409, ""},
		}
		for _, m := range moves {
			r := h.call("POST", "/v1/campaigns/"+id+"/"+m.action, "")
			if m.status != 200 {
				refused(t, r, m.status, "conflict", "", "")
				continue
			}
			if r.status != m.status || str(r.json(t)["status"]) != m.want {
				t.Errorf("%s = %d %s, want %d %s", m.action, r.status, r.body, m.status, m.want)
			}
		}
		final := h.ok("GET", "/v1/campaigns/"+id, "", 200)
		if final["status"] != "cancelled" || final["finished_at"] == nil {
			t.Errorf("cancelled campaign = %v", final)
		}

		// A campaign with an inline message and a future send_at is scheduled.
		future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
		later := h.ok("POST", "/v1/campaigns", `{"name":"Later","audience":{"field":"consent","op":"eq","value":"email"},
			"message":{"variants":[{"language":"en","kind":"text","text":"Soon"}]},"send_at":"`+future+`"}`, 201)
		lid := str(later["id"])
		for _, action := range []string{"pause", "resume"} {
			refused(t, h.call("POST", "/v1/campaigns/"+lid+"/"+action, ""), 409, "conflict", "", "")
		}
		for _, m := range []struct{ action, want string }{{"send", "scheduled"}, {"pause", "paused"}, {"resume", "scheduled"}, {"cancel", "cancelled"}} {
			status := 200
			if m.action == "send" {
				status = 202
			}
			if got := h.ok("POST", "/v1/campaigns/"+lid+"/"+m.action, "", status); got["status"] != m.want {
				t.Errorf("%s: status = %v, want %s", m.action, got["status"], m.want)
			}
		}
		// A draft can be cancelled.
		draft := str(h.ok("POST", "/v1/campaigns", `{"name":"Draft","audience":{"all":[]},"template_id":"`+tpl+`"}`, 201)["id"])
		if got := h.ok("POST", "/v1/campaigns/"+draft+"/cancel", "", 200); got["status"] != "cancelled" {
			t.Errorf("cancelled draft = %v", got)
		}

		// Another business's campaign is not found.
		o := h.otherBusiness()
		theirs := str(h.as(o.key, "POST", "/v1/campaigns", `{"name":"Theirs","audience":{"all":[]},"template_id":"`+o.msgTemplate+`"}`, 201)["id"])
		bad := []struct {
			name, method, path, body string
			status                   int
			code, field, prefix      string
		}{
			{"bad audience", "POST", "/v1/campaigns", `{"name":"x","audience":{"any":[]},"template_id":"` + tpl + `"}`, 422, "validation_failed", "audience.any", "must not be empty"},
			{"nested bad audience", "POST", "/v1/campaigns", `{"name":"x","audience":{"all":[{"not":{"field":"stamps","op":"eq","value":"many"}}]},"template_id":"` + tpl + `"}`, 422, "validation_failed", "audience.all[0].not.value", "must be a whole number"},
			{"no audience", "POST", "/v1/campaigns", `{"name":"x","template_id":"` + tpl + `"}`, 422, "validation_failed", "audience", "is required"},
			{"no message", "POST", "/v1/campaigns", `{"name":"x","audience":{"all":[]}}`, 422, "validation_failed", "template_id", ""},
			{"template and message", "POST", "/v1/campaigns", `{"name":"x","audience":{"all":[]},"template_id":"` + tpl + `","message":{"variants":[{"language":"en","kind":"text","text":"A"}]}}`, 422, "validation_failed", "message", ""},
			{"bad inline message", "POST", "/v1/campaigns", `{"name":"x","audience":{"all":[]},"message":{"variants":[{"language":"en","kind":"text","text":"{{ customer.nmae }}"}]}}`, 422, "validation_failed", "message.variants[0].text", "line 1: unknown variable"},
			{"no name", "POST", "/v1/campaigns", `{"audience":{"all":[]},"template_id":"` + tpl + `"}`, 422, "validation_failed", "name", ""},
			{"another business's template", "POST", "/v1/campaigns", `{"name":"x","audience":{"all":[]},"template_id":"` + o.msgTemplate + `"}`, 422, "validation_failed", "template_id", ""},
			{"bad channels", "POST", "/v1/campaigns", `{"name":"x","audience":{"all":[]},"template_id":"` + tpl + `","channels":["email","email"]}`, 422, "validation_failed", "channels[1]", "is named twice"},
			{"unknown field", "POST", "/v1/campaigns", `{"name":"x","audience":{"all":[]},"template_id":"` + tpl + `","when":"now"}`, 422, "validation_failed", "when", ""},
			{"malformed JSON", "POST", "/v1/campaigns", `{"name":`, 400, "invalid_json", "", ""},
			{"bad recipient status", "GET", "/v1/campaigns/" + id + "/recipients?status=lost", ``, 422, "validation_failed", "status", ""},
			{"another business's campaign", "GET", "/v1/campaigns/" + theirs, ``, 404, "not_found", "", ""},
			{"patch another business's campaign", "PATCH", "/v1/campaigns/" + theirs, `{"name":"mine"}`, 404, "not_found", "", ""},
			{"send another business's campaign", "POST", "/v1/campaigns/" + theirs + "/send", ``, 404, "not_found", "", ""},
			{"cancel another business's campaign", "POST", "/v1/campaigns/" + theirs + "/cancel", ``, 404, "not_found", "", ""},
			{"another business's recipients", "GET", "/v1/campaigns/" + theirs + "/recipients", ``, 404, "not_found", "", ""},
			{"unknown campaign", "GET", "/v1/campaigns/cmp_01JTZ6W1Q9M3N4R5S6T7V8W9XY", ``, 404, "not_found", "", ""},
			{"body on send", "POST", "/v1/campaigns/" + draft + "/send", `{"now":true}`, 422, "validation_failed", "now", ""},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				refused(t, h.call(tt.method, tt.path, tt.body), tt.status, tt.code, tt.field, tt.prefix)
			})
		}
		if got := h.as(o.key, "GET", "/v1/campaigns/"+theirs, "", 200); got["status"] != "draft" || got["name"] != "Theirs" {
			t.Errorf("the other business's campaign changed: %v", got)
		}
	})
}
