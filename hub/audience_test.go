package hub_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/7loc/hub/hub"
	"github.com/google/go-cmp/cmp"
)

const tplID = "tpl_01HZY3M6T6Q5B7W9X2C4D8E0FG"

// mustParse parses a filter and fails the test on an error.
func mustParse(t *testing.T, s string) *hub.Audience {
	t.Helper()
	a, err := hub.ParseAudience([]byte(s), "audience")
	if err != nil {
		t.Fatalf("ParseAudience(%s): %v (fields %v)", s, err, hub.ErrorFields(err))
	}
	return a
}

func leaf(field, op string, value any) *hub.Audience {
	return &hub.Audience{Field: field, Op: op, Value: value}
}

func TestParseAudienceAccepts(t *testing.T) {
	tests := []struct {
		in   string
		want *hub.Audience
	}{
		{`{"all": []}`, &hub.Audience{All: []*hub.Audience{}}},
		{`{"field": "language", "op": "eq", "value": "EN"}`, leaf("language", "eq", "en")},
		{`{"field": "language", "op": "in", "value": ["uk", "pt_br", "x-klingon"]}`,
			leaf("language", "in", []string{"uk", "pt-BR", "x-klingon"})},
		{`{"field": "card_template_id", "op": "ne", "value": "` + tplID + `"}`, leaf("card_template_id", "ne", tplID)},
		{`{"field": "stamps", "op": "gte", "value": 5}`, leaf("stamps", "gte", 5)},
		{`{"field": "stamps_total", "op": "lt", "value": 1000000}`, leaf("stamps_total", "lt", 1000000)},
		{`{"field": "open_vouchers", "op": "in", "value": [0, 2.0, 1e1]}`, leaf("open_vouchers", "in", []int{0, 2, 10})},
		{`{"field": "days_since_last_stamp", "op": "gt", "value": 36500}`, leaf("days_since_last_stamp", "gt", 36500)},
		{`{"field": "days_since_joined", "op": "lte", "value": 0}`, leaf("days_since_joined", "lte", 0)},
		{`{"field": "birthday_month", "op": "in", "value": [1, 12]}`, leaf("birthday_month", "in", []int{1, 12})},
		{`{"field": "has_channel", "op": "eq", "value": "telegram"}`, leaf("has_channel", "eq", "telegram")},
		{`{"field": "consent", "op": "in", "value": ["email", "push"]}`, leaf("consent", "in", []string{"email", "push"})},
		{`{"value": 3, "op": "ne", "field": "birthday_month"}`, leaf("birthday_month", "ne", 3)},
		{`{"any": [{"not": {"field": "stamps", "op": "eq", "value": 0}}, {"all": []}]}`,
			&hub.Audience{Any: []*hub.Audience{{Not: leaf("stamps", "eq", 0)}, {All: []*hub.Audience{}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got := mustParse(t, tc.in)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("ParseAudience mismatch (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseAudienceRefuses(t *testing.T) {
	const channels = "must be one of email, push, telegram, whatsapp, viber"
	tests := []struct {
		name   string
		in     string
		prefix string
		want   map[string]string
	}{
		{"empty", ``, "audience", map[string]string{"audience": "is required"}},
		{"null", `null`, "condition", map[string]string{"condition": "is required"}},
		{"no prefix", `[]`, "", map[string]string{"audience": `must be a filter object: {"all": [...]}, {"any": [...]}, {"not": {...}} or {"field": ..., "op": ..., "value": ...}`}},
		{"empty object", `{}`, "audience", map[string]string{"audience": "must be exactly one of all, any, not or a field condition (field, op, value)"}},
		{"mixed", `{"all": [], "not": {"all": []}}`, "audience", map[string]string{"audience": "must be exactly one of all, any, not or a field condition (field, op, value)"}},
		{"mixed leaf", `{"all": [{"any": [{"all": []}], "field": "stamps"}]}`, "audience",
			map[string]string{"audience.all[0]": "must be exactly one of all, any, not or a field condition (field, op, value)"}},
		{"unknown key", `{"all": [], "sql": "1=1"}`, "audience",
			map[string]string{"audience.sql": "is not a filter key; use all, any, not, or field, op and value"}},
		{"unknown key in leaf", `{"any": [{"field": "stamps", "op": "eq", "value": 1, "col": "x"}]}`, "audience",
			map[string]string{"audience.any[0].col": "is not a filter key; use all, any, not, or field, op and value"}},
		{"empty any", `{"any": []}`, "audience", map[string]string{"audience.any": "must not be empty"}},
		{"all not an array", `{"all": {}}`, "audience", map[string]string{"audience.all": "must be an array of filters"}},
		{"item not an object", `{"all": [1]}`, "audience", map[string]string{"audience.all[0]": `must be a filter object: {"all": [...]}, {"any": [...]}, {"not": {...}} or {"field": ..., "op": ..., "value": ...}`}},
		{"leaf missing all", `{"all": [{"all": []}, {"field": null}]}`, "audience", map[string]string{
			"audience.all[1].field": "is required", "audience.all[1].op": "is required", "audience.all[1].value": "is required"}},
		{"unknown field", `{"field": "password", "op": "lt", "value": 1}`, "audience", map[string]string{
			"audience.field": "must be one of language, card_template_id, stamps, stamps_total, days_since_last_stamp, days_since_joined, birthday_month, has_channel, consent, open_vouchers"}},
		{"unknown field and op", `{"field": 1, "op": "like", "value": 1}`, "audience", map[string]string{
			"audience.field": "must be one of language, card_template_id, stamps, stamps_total, days_since_last_stamp, days_since_joined, birthday_month, has_channel, consent, open_vouchers",
			"audience.op":    "must be one of eq, ne, lt, lte, gt, gte, in"}},
		{"string op", `{"all": [{"all": []}, {"field": "language", "op": "gt", "value": "en"}]}`, "audience",
			map[string]string{"audience.all[1].op": "must be one of eq, ne, in"}},
		{"channel op", `{"not": {"field": "consent", "op": "lte", "value": "email"}}`, "audience",
			map[string]string{"audience.not.op": "must be one of eq, ne, in"}},
		{"number op", `{"field": "stamps", "op": "EQ", "value": 1}`, "audience",
			map[string]string{"audience.op": "must be one of eq, ne, lt, lte, gt, gte, in"}},
		{"fraction", `{"field": "stamps", "op": "eq", "value": 1.5}`, "audience",
			map[string]string{"audience.value": "must be a whole number from 0 to 1000000"}},
		{"string number", `{"field": "open_vouchers", "op": "eq", "value": "1"}`, "audience",
			map[string]string{"audience.value": "must be a whole number from 0 to 1000000"}},
		{"negative", `{"field": "stamps_total", "op": "gt", "value": -1}`, "audience",
			map[string]string{"audience.value": "must be a whole number from 0 to 1000000"}},
		{"too many stamps", `{"field": "stamps", "op": "gt", "value": 1000001}`, "audience",
			map[string]string{"audience.value": "must be a whole number from 0 to 1000000"}},
		{"too many days", `{"field": "days_since_joined", "op": "gt", "value": 36501}`, "audience",
			map[string]string{"audience.value": "must be a whole number from 0 to 36500"}},
		{"month 0", `{"field": "birthday_month", "op": "eq", "value": 0}`, "audience",
			map[string]string{"audience.value": "must be a whole number from 1 to 12"}},
		{"month in", `{"field": "birthday_month", "op": "in", "value": [1, 13, true]}`, "audience", map[string]string{
			"audience.value[1]": "must be a whole number from 1 to 12", "audience.value[2]": "must be a whole number from 1 to 12"}},
		{"channel", `{"field": "has_channel", "op": "eq", "value": "sms"}`, "audience", map[string]string{"audience.value": channels}},
		{"channel in", `{"field": "consent", "op": "in", "value": ["email", 1]}`, "audience", map[string]string{"audience.value[1]": channels}},
		{"template", `{"field": "card_template_id", "op": "eq", "value": "c_01HZY3M6T6Q5B7W9X2C4D8E0FG"}`, "audience",
			map[string]string{"audience.value": "must be a card template id (tpl_…)"}},
		{"language short", `{"field": "language", "op": "eq", "value": "e"}`, "audience",
			map[string]string{"audience.value": "must be a language code such as en or uk"}},
		{"language long", `{"field": "language", "op": "eq", "value": "abcdefghijk"}`, "audience",
			map[string]string{"audience.value": "must be a language code such as en or uk"}},
		{"language quote", `{"field": "language", "op": "ne", "value": "en' OR 1=1"}`, "audience",
			map[string]string{"audience.value": "must be a language code such as en or uk"}},
		{"in not an array", `{"field": "stamps", "op": "in", "value": 3}`, "audience",
			map[string]string{"audience.value": "must be a non-empty array of at most 100 values"}},
		{"in empty", `{"field": "language", "op": "in", "value": []}`, "audience",
			map[string]string{"audience.value": "must be a non-empty array of at most 100 values"}},
		{"in too long", `{"field": "stamps", "op": "in", "value": [` + strings.Repeat("1,", 100) + `1]}`, "audience",
			map[string]string{"audience.value": "must be a non-empty array of at most 100 values"}},
		{"scalar op with array", `{"field": "stamps", "op": "eq", "value": [1]}`, "audience",
			map[string]string{"audience.value": "must be a whole number from 0 to 1000000"}},
		{"too deep", nest(9), "audience", map[string]string{
			"audience" + strings.Repeat(".not", 8): "nests too deeply (at most 8 levels)"}},
		{"too many nodes", `{"all": [` + strings.Repeat(`{"all": []},`, 99) + `{"all": []}]}`, "audience",
			map[string]string{"audience": "has too many filters (at most 100 nodes)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := hub.ParseAudience([]byte(tc.in), tc.prefix)
			if a != nil {
				t.Errorf("ParseAudience returned %+v with the error", a)
			}
			if code := hub.ErrorCode(err); code != hub.EValidation {
				t.Fatalf("code = %q, want %q (err %v)", code, hub.EValidation, err)
			}
			if d := cmp.Diff(tc.want, hub.ErrorFields(err)); d != "" {
				t.Errorf("fields mismatch (-want +got):\n%s", d)
			}
		})
	}
}

// nest returns levels nodes: nots around an empty all.
func nest(levels int) string {
	return strings.Repeat(`{"not": `, levels-1) + `{"all": []}` + strings.Repeat(`}`, levels-1)
}

func TestParseAudienceBounds(t *testing.T) {
	mustParse(t, nest(hub.MaxAudienceDepth))
	// 100 nodes: the root and 99 leaves.
	mustParse(t, `{"all": [`+strings.Repeat(`{"field": "stamps", "op": "gt", "value": 1},`, 98)+
		`{"field": "stamps", "op": "gt", "value": 1}]}`)
	// A huge tree stops at the node bound: nothing past node 100 is looked at.
	_, err := hub.ParseAudience([]byte(`{"any": [`+strings.Repeat(`{"field": "x"},`, 5000)+`{"all": []}]}`), "audience")
	fields := hub.ErrorFields(err)
	if got := fields["audience"]; got != "has too many filters (at most 100 nodes)" {
		t.Errorf("audience: %q", got)
	}
	for k := range fields {
		var i int
		if k != "audience" {
			if _, err := fmt.Sscanf(k, "audience.any[%d]", &i); err != nil || i >= hub.MaxAudienceNodes-1 {
				t.Errorf("problem past the bound: %s", k)
			}
		}
	}
	if len(fields) != 1+99*3 {
		t.Errorf("%d problems, want 298 (the bound, and field, op and value of 99 leaves)", len(fields))
	}
}

func TestParseAudienceInvalidJSON(t *testing.T) {
	for _, in := range []string{`{`, `{"all": [}`, `{"all": []} x`} {
		_, err := hub.ParseAudience([]byte(in), "audience")
		if code := hub.ErrorCode(err); code != hub.EInvalidJSON {
			t.Errorf("ParseAudience(%s) code = %q, want %q", in, code, hub.EInvalidJSON)
		}
	}
}

func TestAudienceJSONRoundTrip(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"all": []}`, `{"all":[]}`},
		{`{"any":[{"field":"language","op":"in","value":["en","uk"]}]}`, ""},
		{`{"not":{"not":{"field":"stamps","op":"gte","value":5}}}`, ""},
		{`{"all":[{"field":"birthday_month","op":"eq","value":4},{"any":[{"field":"consent","op":"eq","value":"email"},{"all":[]}]}]}`, ""},
		{`{"field":"open_vouchers","op":"in","value":[1.0,2]}`, `{"field":"open_vouchers","op":"in","value":[1,2]}`},
	}
	for _, tc := range tests {
		want := tc.want
		if want == "" {
			want = tc.in
		}
		a := mustParse(t, tc.in)
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		if string(b) != want {
			t.Errorf("Marshal(ParseAudience(%s)) = %s, want %s", tc.in, b, want)
		}
		// json.Unmarshal validates the same way and gives the same tree.
		var again hub.Audience
		if err := json.Unmarshal(b, &again); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if d := cmp.Diff(a, &again); d != "" {
			t.Errorf("round trip mismatch (-want +got):\n%s", d)
		}
	}
	// The zero Audience is everyone.
	if b, _ := json.Marshal(hub.Audience{}); string(b) != `{"all":[]}` {
		t.Errorf("Marshal(Audience{}) = %s", b)
	}
	// Unmarshal refuses with a validation error.
	var x struct {
		Audience *hub.Audience `json:"audience"`
	}
	err := json.Unmarshal([]byte(`{"audience": {"field": "stamps", "op": "eq", "value": -1}}`), &x)
	var he *hub.Error
	if !errors.As(err, &he) || he.Fields["audience.value"] == "" {
		t.Errorf("Unmarshal error = %v, want a validation error on audience.value", err)
	}
}

func FuzzParseAudience(f *testing.F) {
	for _, s := range []string{
		`{"all": []}`, `{"any": [{"not": {"field": "stamps", "op": "in", "value": [1, 2]}}]}`,
		`{"field": "language", "op": "eq", "value": "en"}`, `{"field": "consent", "op": "ne", "value": "push"}`,
		nest(12), `{"all": [1, null, {}, []]}`, `{"field": "days_since_joined", "op": "gt", "value": 1e400}`, `null`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		a, err := hub.ParseAudience(raw, "audience")
		if err != nil {
			if a != nil {
				t.Fatalf("tree and error: %v", err)
			}
			if c := hub.ErrorCode(err); c != hub.EValidation && c != hub.EInvalidJSON {
				t.Fatalf("code %q", c)
			}
			return
		}
		// What parses marshals to what parses to the same tree.
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		again, err := hub.ParseAudience(b, "audience")
		if err != nil {
			t.Fatalf("reparse %s: %v", b, err)
		}
		if d := cmp.Diff(a, again); d != "" {
			t.Fatalf("reparse mismatch (-want +got):\n%s", d)
		}
	})
}
