package httpapi

import (
	"encoding/json"
	"errors"
	"testing"

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
