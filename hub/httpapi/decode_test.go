package httpapi

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
)

// writeInputs are the bodies of every write endpoint.
func writeInputs() []any {
	return []any{
		&hub.BusinessInput{}, &hub.LocationInput{}, &hub.StaffInput{}, &hub.APIKeyInput{},
		&hub.CardTemplateInput{}, &hub.VoucherTemplateInput{}, &hub.IssueCardInput{},
		&hub.AddStampsInput{}, &hub.StampByCustomerInput{}, &hub.IssueVoucherInput{},
		&hub.RedeemInput{}, &redeemByIDInput{}, &hub.LotteryPlayInput{}, &hub.CustomerPatch{},
	}
}

func TestDecodeStrict(t *testing.T) {
	tests := []struct {
		body string
		code hub.Code
		want int
	}{
		{`{"count":3}`, "", 3},
		{``, "", 0},
		{`  `, "", 0},
		{`{"count":3`, hub.EInvalidJSON, 0},
		{`{"count":3}x`, hub.EInvalidJSON, 0},
		{`{"count":"3"}`, hub.EValidation, 0},
		{`{"count":3,"x":1}`, hub.EValidation, 0},
		{`[]`, hub.EValidation, 0},
		{`null`, "", 0},
		{`{"count":3,"count":4}`, hub.EValidation, 0},
		{"{\"count\":3,\"x\":\"\xff\"}", hub.EValidation, 0},
	}
	for _, tt := range tests {
		var in hub.AddStampsInput
		err := decodeStrict([]byte(tt.body), &in)
		if got := hub.ErrorCode(err); got != tt.code {
			t.Errorf("decodeStrict(%q) code = %q (%v), want %q", tt.body, got, err, tt.code)
		}
		if tt.code == "" && tt.want != 0 && (in.Count == nil || *in.Count != tt.want) {
			t.Errorf("decodeStrict(%q) count = %v", tt.body, in.Count)
		}
	}
}

// FuzzDecodeStrict: whatever the body, decoding into any write input either
// succeeds with a value that encodes again, or fails with invalid_json or
// validation_failed — never another code, never a panic.
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{`{}`, `{"count":1}`, `{"customer":{"email":"a@b.co"}}`, `{"goals":[{"stamps":1,"reward":{"title":"x"}}]}`,
		`{"consent":{"email":true}}`, `[`, `{"a":`, `"x"`, `{"count":1e999}`, "{\"title\":\"\xff\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, dst := range writeInputs() {
			err := decodeStrict(body, dst)
			switch hub.ErrorCode(err) {
			case "":
				if _, err := json.Marshal(dst); err != nil {
					t.Fatalf("decoded %T from %q does not encode: %v", dst, body, err)
				}
			case hub.EInvalidJSON, hub.EValidation:
			default:
				t.Fatalf("decodeStrict(%q) into %T = %v", body, dst, err)
			}
		}
	})
}

// TestScanJSON names the field of each hidden flaw: repeated keys, control
// characters and invalid UTF-8, at any depth.
func TestScanJSON(t *testing.T) {
	tests := []struct {
		name, body string
		want       map[string]string // nil: accepted
	}{
		{"plain", `{"name":"Café","variants":[{"text":"a\tb\nc\r\n"}]}`, nil},
		{"same key in two objects", `{"a":{"x":1},"b":{"x":2}}`, nil},
		{"repeated key", `{"name":"a","name":"b"}`, map[string]string{"name": "is given twice"}},
		{"repeated nested key", `{"variants":[{"text":"a"},{"text":"b","text":"c"}]}`,
			map[string]string{"variants[1].text": "is given twice"}},
		{"NUL escaped", `{"settings":{"bot_token":"a\u0000b"}}`,
			map[string]string{"settings.bot_token": "must not contain control characters (U+0000)"}},
		{"escape character in an array", `{"tags":["ok","\u001b[31m"]}`,
			map[string]string{"tags[1]": "must not contain control characters (U+001B)"}},
		{"C1 control", `{"text":"\u0085"}`, map[string]string{"text": "must not contain control characters (U+0085)"}},
		{"control in a key", `{"a\u0001":1}`, map[string]string{"a\x01": "has a control character in its name"}},
		{"invalid UTF-8", "{\"text\":\"\xc3\x28\"}", map[string]string{"body": "is not valid UTF-8"}},
		{"a bare string", `"\u0000"`, map[string]string{"body": "must not contain control characters (U+0000)"}},
		{"syntax errors are the decoder's", `{"a":`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := scanJSON([]byte(tt.body))
			var got map[string]string
			if err != nil {
				var e *hub.Error
				if !errors.As(err, &e) || e.Code != hub.EValidation {
					t.Fatalf("scanJSON = %v, want validation_failed", err)
				}
				got = e.Fields
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecodeStrictTimes: a time field with a value that is not an RFC 3339
// time is validation_failed naming the field (the JSON is well-formed).
func TestDecodeStrictTimes(t *testing.T) {
	tests := []struct {
		name, body string
		dst        any
		code       hub.Code
		field      string
	}{
		{"word", `{"as_of":"yesterday"}`, &hub.SweepRunInput{}, hub.EValidation, "as_of"},
		{"date only", `{"as_of":"2026-05-11"}`, &hub.SweepRunInput{}, hub.EValidation, "as_of"},
		{"number", `{"as_of":5}`, &hub.SweepRunInput{}, hub.EValidation, "as_of"},
		{"after a good field", `{"business_id":"b_1","as_of":"soon"}`, &hub.SweepRunInput{}, hub.EValidation, "as_of"},
		{"campaign send_at", `{"name":"x","send_at":"tomorrow"}`, &hub.CampaignInput{}, hub.EValidation, "send_at"},
		{"good time", `{"as_of":"2026-05-11T10:00:00+02:00"}`, &hub.SweepRunInput{}, "", ""},
		{"null", `{"as_of":null}`, &hub.SweepRunInput{}, "", ""},
		{"malformed", `{"as_of":"2026-05-11T10:00:00Z"`, &hub.SweepRunInput{}, hub.EInvalidJSON, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := decodeStrict([]byte(tt.body), tt.dst)
			if got := hub.ErrorCode(err); got != tt.code {
				t.Fatalf("code = %q (%v), want %q", got, err, tt.code)
			}
			var e *hub.Error
			if tt.field != "" && (!errors.As(err, &e) || e.Fields[tt.field] == "") {
				t.Errorf("err = %#v, want a problem with %s", err, tt.field)
			}
		})
	}
}

func TestJSONContentType(t *testing.T) {
	for header, ok := range map[string]bool{
		"": true, "application/json": true, "application/json; charset=utf-8": true, "application/merge-patch+json": true,
		"text/plain": false, "application/x-www-form-urlencoded": false, "multipart/form-data; boundary=x": false, "garbage;;": false,
	} {
		err := jsonContentType(header)
		if (err == nil) != ok || (err != nil && hub.ErrorCode(err) != hub.EUnsupportedMediaType) {
			t.Errorf("jsonContentType(%q) = %v, want ok %v", header, err, ok)
		}
	}
}
