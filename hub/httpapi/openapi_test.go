package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/7loc/hub/hub"
)

// openapiLoad loads and validates an OpenAPI document the way the checker of
// package openapitest does.
func openapiLoad(data []byte) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, err
	}
	return doc, doc.Validate(context.Background(),
		openapi3.EnableSchemaPatternValidation(),
		openapi3.EnableSchemaDefaultsValidation(),
		openapi3.EnableExamplesValidation())
}

func openapiDoc(t *testing.T) *openapi3.T {
	t.Helper()
	data, err := OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapiLoad(data)
	if err != nil {
		t.Fatalf("the served document is not a valid OpenAPI document: %v", err)
	}
	return doc
}

func TestOpenAPIIsValid31(t *testing.T) {
	fromYAML, err := openapiLoad(OpenAPIYAML())
	if err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	if fromYAML.OpenAPI != "3.1.0" || !fromYAML.IsOpenAPI31OrLater() {
		t.Errorf("openapi = %q, want 3.1.0", fromYAML.OpenAPI)
	}
	fromJSON := openapiDoc(t)

	// The served JSON says exactly what the YAML says.
	a, err := json.Marshal(fromYAML)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(fromJSON)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("OpenAPIJSON() differs from openapi.yaml")
	}
	j, _ := OpenAPIJSON()
	if !json.Valid(j) || !bytes.HasPrefix(j, []byte(`{"openapi":"3.1.0"`)) {
		t.Errorf("OpenAPIJSON() = %.60s…, want compact JSON in document order", j)
	}
	j[0] = 'x'
	if again, _ := OpenAPIJSON(); again[0] != '{' {
		t.Error("OpenAPIJSON() returns a shared slice")
	}
}

// TestOpenAPIValidationCatchesMistakes makes sure TestOpenAPIIsValid31 can
// fail: the validator must reject documents with typical mistakes.
func TestOpenAPIValidationCatchesMistakes(t *testing.T) {
	src := string(OpenAPIYAML())
	for _, tc := range []struct{ name, old, new string }{
		{"unknown type in a type array", "type: [string, 'null']", "type: [string, 'nothing']"},
		{"dangling $ref", "$ref: '#/components/schemas/Card'\n", "$ref: '#/components/schemas/Kard'\n"},
		{"type arrays in a 3.0 document", "openapi: 3.1.0", "openapi: 3.0.3"},
		{"operation without responses", "operationId: getMe\n      summary: Who am I\n", "operationId: getMe\n      summary: Who am I\n      responses: {}\n"},
		{"duplicate operationId", "operationId: getCard\n", "operationId: getMe\n"},
		{"bad regular expression", "pattern: '^\\+[1-9][0-9]{7,14}$'", "pattern: '^\\+([1-9][0-9]{7,14}$'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(src, tc.old) {
				t.Fatalf("the document no longer contains %q", tc.old)
			}
			broken := strings.Replace(src, tc.old, tc.new, 1)
			if _, err := openapiLoad([]byte(broken)); err == nil {
				t.Errorf("a document with %s passed validation", tc.name)
			}
		})
	}
}

// openapiContract lists every call of the public contract (shared/API.md).
var openapiContract = []string{
	"POST /admin/v1/businesses",
	"POST /admin/v1/businesses/{b}/locations",
	"POST /admin/v1/businesses/{b}/staff",
	"POST /admin/v1/businesses/{b}/owners",
	"GET /admin/v1/businesses/{b}/api-keys",
	"POST /admin/v1/businesses/{b}/api-keys",
	"POST /admin/v1/businesses/{b}/api-keys/{id}/regenerate",
	"DELETE /admin/v1/businesses/{b}/api-keys/{id}",
	"POST /admin/v1/businesses/{b}/card-templates",
	"POST /admin/v1/businesses/{b}/voucher-templates",
	"GET /v1/me",
	"GET /v1/card-templates",
	"GET /v1/card-templates/{id}",
	"POST /v1/cards",
	"GET /v1/cards",
	"GET /v1/cards/{id}",
	"GET /v1/cards/{id}/history",
	"POST /v1/cards/{id}/stamps",
	"POST /v1/stamps",
	"POST /v1/vouchers",
	"GET /v1/vouchers",
	"GET /v1/vouchers/{id}",
	"POST /v1/vouchers/{id}/redeem",
	"POST /v1/vouchers/redeem",
	"POST /v1/cards/{id}/lottery",
	"GET /v1/customers",
	"GET /v1/customers/{id}",
	"PATCH /v1/customers/{id}",
	"GET /v1/events",
	"GET /v1/events/samples",
	"GET /v1/events/{id}",
	"POST /v1/events/{id}/redeliver",
	"POST /v1/hooks",
	"GET /v1/hooks",
	"DELETE /v1/hooks",
	"GET /v1/hooks/{id}",
	"DELETE /v1/hooks/{id}",
	"GET /v1/hooks/{id}/deliveries",
	"POST /v1/hooks/{id}/rotate-secret",
	"POST /v1/hooks/{id}/enable",
	// Channels (issue 4).
	"GET /v1/channels",
	"GET /v1/channels/{provider}",
	"PUT /v1/channels/{provider}",
	"POST /v1/channels/{provider}/test",
	"POST /v1/channels/{provider}/webhook",
	"POST /v1/customers/{id}/links/{channel}",
	"GET /v1/deliveries",
	"GET /v1/deliveries/{id}",
	// Messaging.
	"GET /v1/settings",
	"PATCH /v1/settings",
	"POST /v1/message-templates",
	"GET /v1/message-templates",
	"GET /v1/message-templates/{id}",
	"PATCH /v1/message-templates/{id}",
	"DELETE /v1/message-templates/{id}",
	"POST /v1/message-templates/{id}/preview",
	"POST /v1/messages",
	"POST /v1/audiences/preview",
	"POST /v1/campaigns",
	"GET /v1/campaigns",
	"GET /v1/campaigns/{id}",
	"PATCH /v1/campaigns/{id}",
	"POST /v1/campaigns/{id}/send",
	"POST /v1/campaigns/{id}/pause",
	"POST /v1/campaigns/{id}/resume",
	"POST /v1/campaigns/{id}/cancel",
	"GET /v1/campaigns/{id}/recipients",
	// Automations and sweeps.
	"POST /v1/automations",
	"GET /v1/automations",
	"GET /v1/automations/{id}",
	"PATCH /v1/automations/{id}",
	"DELETE /v1/automations/{id}",
	"POST /admin/v1/sweeps/{kind}/run",
	// Sales.
	"PATCH /v1/card-templates/{id}",
	"POST /v1/sales",
	"GET /v1/sales",
	"POST /v1/sales/{source}/{order_id}/refund",
	"GET /v1/pos",
	"GET /v1/pos/{provider}",
	"PUT /v1/pos/{provider}",
	"DELETE /v1/pos/{provider}",
	"POST /v1/pos/{provider}/reconcile",
	"POST /pos/generic/{business_id}",
	"GET /healthz",
	"GET /readyz",
	"GET /metrics",
	"GET /v1/openapi.json",
	"GET /c/{card_id}",
}

func TestOpenAPICoversTheContract(t *testing.T) {
	doc := openapiDoc(t)
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for _, call := range openapiContract {
		if !documented[call] {
			t.Errorf("%s is not documented", call)
		}
		delete(documented, call)
	}
	for call := range documented {
		t.Errorf("%s is documented but not in the contract list of this test", call)
	}
}

// TestOpenAPIOperationConventions checks what every operation of its kind
// must document: auth, idempotency and the shared error responses.
func TestOpenAPIOperationConventions(t *testing.T) {
	doc := openapiDoc(t)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			if op.OperationID == "" || op.Summary == "" || len(op.Tags) == 0 {
				t.Errorf("%s: needs operationId, summary and tags", name)
			}
			has := func(code string) bool { return op.Responses.Value(code) != nil }
			var want []string
			switch {
			case strings.HasPrefix(path, "/admin/v1/"):
				if op.Security == nil || len(*op.Security) != 1 || (*op.Security)[0]["adminToken"] == nil {
					t.Errorf("%s: must require the adminToken scheme only", name)
				}
				want = append(want, "401", "500", "503")
			case strings.HasPrefix(path, "/v1/") && path != "/v1/openapi.json":
				if op.Security != nil {
					t.Errorf("%s: must use the document's API key security", name)
				}
				want = append(want, "401", "429", "500", "503")
			default:
				if op.Security == nil || len(*op.Security) != 0 {
					t.Errorf("%s: must be public (security: [])", name)
				}
			}
			// A till's webhook (/pos/) is replayed by its provider, not by an
			// Idempotency-Key: the order decides.
			if method == http.MethodPost && strings.HasPrefix(path, "/pos/") {
				want = append(want, "400", "413", "422")
			} else if method == http.MethodPost {
				want = append(want, "409", "400", "413", "422")
				if !slices.ContainsFunc(op.Parameters, func(p *openapi3.ParameterRef) bool {
					return p.Value != nil && p.Value.Name == "Idempotency-Key" && p.Value.In == "header"
				}) {
					t.Errorf("%s: must take the Idempotency-Key header", name)
				}
				for code, resp := range op.Responses.Map() {
					if code[0] == '2' && resp.Value.Headers["Idempotent-Replayed"] == nil {
						t.Errorf("%s %s: must document the Idempotent-Replayed header", name, code)
					}
				}
			}
			if item.Parameters.GetByInAndName("path", "id") != nil || item.Parameters.GetByInAndName("path", "b") != nil {
				if method != http.MethodDelete || strings.HasPrefix(path, "/admin/") {
					want = append(want, "404")
				}
			}
			for _, code := range want {
				if !has(code) {
					t.Errorf("%s: does not document %s", name, code)
				}
			}
			if r := op.Responses.Value("429"); r != nil && r.Value.Headers["Retry-After"] == nil {
				t.Errorf("%s: 429 without Retry-After", name)
			}
		}
	}
}

// TestOpenAPIErrorResponses ties the error envelope to the hub's error codes
// and their HTTP statuses: every code is in the enum, and every documented
// error status allows exactly the codes that map to it.
func TestOpenAPIErrorResponses(t *testing.T) {
	doc := openapiDoc(t)
	var codes []string
	for code := range statusOf {
		codes = append(codes, string(code))
	}
	sort.Strings(codes)
	var enum []string
	for _, v := range doc.Components.Schemas["ErrorCode"].Value.Enum {
		enum = append(enum, v.(string))
	}
	sort.Strings(enum)
	if !slices.Equal(codes, enum) {
		t.Errorf("ErrorCode enum = %v, the hub's codes are %v", enum, codes)
	}

	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "getReadiness" {
				continue // its 503 is the readiness report
			}
			for status, resp := range op.Responses.Map() {
				n, err := strconv.Atoi(status)
				if err != nil || n < 400 {
					continue
				}
				media := resp.Value.Content.Get("application/json")
				if media == nil {
					t.Errorf("%s %s %s: no JSON error body", method, path, status)
					continue
				}
				for code, st := range statusOf {
					body := fmt.Sprintf(`{"error":{"code":%q,"message":"m"}}`, code)
					if code == hub.EValidation {
						body = `{"error":{"code":"validation_failed","message":"m","fields":{"a":"b"}}}`
					}
					var v any
					_ = json.Unmarshal([]byte(body), &v)
					err := media.Schema.Value.VisitJSON(v, openapi3.EnableJSONSchema2020())
					if (st == n) != (err == nil) {
						t.Errorf("%s %s %s: code %s accepted=%v", method, path, status, code, err == nil)
					}
				}
			}
		}
	}
}

// TestOpenAPIIdsAndFormats checks the document's patterns and enums against
// values the hub really makes.
func TestOpenAPIIdsAndFormats(t *testing.T) {
	doc := openapiDoc(t)
	schema := func(name string) *openapi3.Schema {
		s := doc.Components.Schemas[name]
		if s == nil {
			t.Fatalf("no schema %s", name)
		}
		return s.Value
	}
	match := func(name string, value any) {
		t.Helper()
		if err := schema(name).VisitJSON(value, openapi3.EnableJSONSchema2020()); err != nil {
			t.Errorf("%s rejects %v: %v", name, value, err)
		}
	}
	reject := func(name string, value any) {
		t.Helper()
		if err := schema(name).VisitJSON(value, openapi3.EnableJSONSchema2020()); err == nil {
			t.Errorf("%s accepts %v", name, value)
		}
	}
	prefixes := map[string]string{
		hub.PrefixBusiness: "BusinessId", hub.PrefixLocation: "LocationId", hub.PrefixStaff: "StaffId",
		hub.PrefixAPIKey: "ApiKeyId", hub.PrefixCustomer: "CustomerId", hub.PrefixCardTemplate: "CardTemplateId",
		hub.PrefixVoucherTemplate: "VoucherTemplateId", hub.PrefixCard: "CardId", hub.PrefixWalletPass: "WalletPassId",
		hub.PrefixVoucher: "VoucherId", hub.PrefixEvent: "EventId", hub.PrefixHook: "HookId",
		hub.PrefixCampaign: "CampaignId", hub.PrefixMessageTemplate: "MessageTemplateId",
		hub.PrefixAutomation: "AutomationId", hub.PrefixDelivery: "DeliveryId",
	}
	if len(prefixes) != 16 {
		t.Fatalf("%d id prefixes, the contract has 16", len(prefixes))
	}
	for prefix, name := range prefixes {
		id := hub.NewID(prefix)
		match(name, id)
		reject(name, strings.ToLower(id))
		reject(name, id+"0")
		for other := range prefixes {
			if other != prefix {
				reject(name, hub.NewID(other))
			}
		}
	}
	match("OptionalLocationId", hub.NewID(hub.PrefixLocation))
	match("OptionalLocationId", "")
	match("OptionalLocationId", nil)
	reject("OptionalLocationId", hub.NewID(hub.PrefixCard))

	key := hub.NewAPIKeySecret()
	match("ApiKeyWithSecret", map[string]any{
		"id": hub.NewID(hub.PrefixAPIKey), "name": "till", "login": "till", "masked_key": hub.MaskAPIKey(key),
		"status": "active", "created_at": "2026-05-11T12:34:56.123Z", "last_used_at": nil, "key": key,
	})
	match("RedeemCode", hub.NewRedeemCode())
	reject("RedeemCode", "ab")
	match("Phone", "+380671234567")
	reject("Phone", "380671234567")
	match("Timestamp", "2026-05-11T12:34:56.123Z")
	reject("Timestamp", "2026-05-11T12:34:56.123+02:00")
	match("NullableTimestamp", nil)
	match("Language", "pt-BR")
	reject("Language", "EN")

	enum := func(name string) []string {
		var out []string
		for _, v := range schema(name).Enum {
			out = append(out, v.(string))
		}
		return out
	}
	var events []string
	for _, e := range hub.EventTypes {
		events = append(events, string(e))
	}
	if got := enum("EventName"); !slices.Equal(got, events) || len(got) != 14 {
		t.Errorf("EventName = %v, the hub's event types are %v", got, events)
	}
	if got := enum("HookEventName"); !slices.Equal(got, append([]string{"*"}, events...)) {
		t.Errorf("HookEventName = %v, want * and the 14 event names", got)
	}
	for name, want := range map[string][]string{
		"Channel": hub.Channels, "RedeemedVia": hub.RedeemedVia, "RedeemCodeFormat": hub.RedeemCodeFormats,
		"AutomationTriggerEvent": hub.AutomationTriggers(), "SweepKind": hub.SweepKinds,
		"AutomationActionType": {hub.ActionSendMessage, hub.ActionIssueVoucher},
	} {
		if got := enum(name); !slices.Equal(got, want) {
			t.Errorf("%s = %v, the hub has %v", name, got, want)
		}
	}
}

// TestOpenAPIShapesAreClosed checks that every object in a request or
// response body refuses unknown fields, and that response objects list every
// field as required (absent values are null, never left out).
func TestOpenAPIShapesAreClosed(t *testing.T) {
	for _, p := range openapiShapeProblems(openapiDoc(t)) {
		t.Error(p)
	}

	// The rule must catch the mistakes it is for.
	src := string(OpenAPIYAML())
	for _, tc := range []struct{ name, old, new, want string }{
		{"open object", "    Location:\n      description: A shop or branch of a business.\n      type: object\n      additionalProperties: false\n",
			"    Location:\n      description: A shop or branch of a business.\n      type: object\n", "Location: additionalProperties must be false"},
		{"optional response field", "required: [id, name, created_at]\n", "required: [id, created_at]\n", `Location: response field "name" is not required`},
	} {
		if !strings.Contains(src, tc.old) {
			t.Fatalf("%s: the document no longer contains %q", tc.name, tc.old)
		}
		doc, err := openapiLoad([]byte(strings.Replace(src, tc.old, tc.new, 1)))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := strings.Join(openapiShapeProblems(doc), "\n"); !strings.Contains(got, tc.want) {
			t.Errorf("%s: problems %q do not mention %q", tc.name, got, tc.want)
		}
	}
}

func openapiShapeProblems(doc *openapi3.T) []string {
	var problems []string
	// Optional by design: the error envelope's fields appear only with
	// validation_failed, an event's parts only when they apply, and a
	// send_message action's channels only when set (API.md).
	optional := map[string]bool{"fields": true,
		"Event.customer": true, "Event.card": true, "Event.voucher": true,
		"Event.lottery": true, "Event.campaign": true, "Event.data": true,
		"SendMessageAction.channels": true}
	var seen map[*openapi3.Schema]bool
	var walk func(where string, s *openapi3.SchemaRef, response bool)
	walk = func(where string, ref *openapi3.SchemaRef, response bool) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if ref.Ref != "" {
			where = strings.TrimPrefix(ref.Ref, "#/components/schemas/")
		}
		if s.Type != nil && s.Type.Includes("object") && len(s.Properties) > 0 {
			if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
				problems = append(problems, where+": additionalProperties must be false")
			}
			if response {
				for name := range s.Properties {
					if !slices.Contains(s.Required, name) && !optional[name] && !optional[where+"."+name] {
						problems = append(problems, fmt.Sprintf("%s: response field %q is not required", where, name))
					}
				}
			}
		}
		for name, p := range s.Properties {
			walk(where+"."+name, p, response)
		}
		walk(where+"[]", s.Items, response)
		walk(where+"{}", s.AdditionalProperties.Schema, response)
		for _, list := range []openapi3.SchemaRefs{s.AllOf, s.OneOf, s.AnyOf} {
			for _, sub := range list {
				walk(where, sub, response)
			}
		}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "getOpenAPI" {
				continue // the document itself is open by nature
			}
			name := method + " " + path
			if op.RequestBody != nil {
				for _, m := range op.RequestBody.Value.Content {
					seen = map[*openapi3.Schema]bool{}
					walk(name+" request", m.Schema, false)
				}
			}
			for status, resp := range op.Responses.Map() {
				for _, m := range resp.Value.Content {
					seen = map[*openapi3.Schema]bool{}
					walk(name+" "+status, m.Schema, true)
				}
			}
		}
	}
	sort.Strings(problems)
	return slices.Compact(problems)
}

func TestOpenAPIDescriptions(t *testing.T) {
	doc := openapiDoc(t)
	for _, topic := range []string{"Authentication", "Errors", "Idempotency", "Pagination", "Rate limits", "50 requests per second", "100"} {
		if !strings.Contains(doc.Info.Description, topic) {
			t.Errorf("info.description does not mention %q", topic)
		}
	}
	for name, s := range doc.Components.Schemas {
		if s.Value.Description == "" && !regexp.MustCompile(`Request$`).MatchString(name) {
			t.Errorf("schema %s has no description", name)
		}
	}
}
