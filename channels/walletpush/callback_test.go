package walletpush_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/7loc/hub/channels/walletpush"
	"github.com/7loc/hub/hub"
	"github.com/google/go-cmp/cmp"
)

func envelope(msg string) string {
	b, _ := json.Marshal(map[string]any{
		"signature":              "MEUCIQ==",
		"intermediateSigningKey": map[string]any{"signedKey": "{}", "signatures": []string{"MEQ="}},
		"protocolVersion":        "ECv2SigningOnly",
		"signedMessage":          msg,
	})
	return string(b)
}

func TestDecodeGoogleCallback(t *testing.T) {
	const msg = `{"classId":"3388000000022000001.loyalty","objectId":"3388000000022000001.crd_1","expTimeMillis":1767225600000,"eventType":"save","nonce":"n-1"}`
	want := walletpush.GoogleCallback{
		ClassID: "3388000000022000001.loyalty", ObjectID: "3388000000022000001.crd_1", EventType: "save",
		ExpiresAt: time.UnixMilli(1767225600000).UTC(), Nonce: "n-1", ProtocolVersion: "ECv2SigningOnly",
	}
	tests := []struct {
		name    string
		body    string
		want    walletpush.GoogleCallback
		wantErr string // a problem field, or "*" for any validation error
	}{
		{name: "signed envelope", body: envelope(msg), want: want},
		{name: "bare message", body: msg, want: func() walletpush.GoogleCallback { w := want; w.ProtocolVersion = ""; return w }()},
		{name: "delete with string millis", body: envelope(`{"classId":"1.c","objectId":"1.crd_2","expTimeMillis":"5","eventType":"del","nonce":"x"}`),
			want: walletpush.GoogleCallback{ClassID: "1.c", ObjectID: "1.crd_2", EventType: "del", ExpiresAt: time.UnixMilli(5).UTC(), Nonce: "x", ProtocolVersion: "ECv2SigningOnly"}},
		{name: "not json", body: "nope", wantErr: "*"},
		{name: "signed message not json", body: envelope("nope"), wantErr: "*"},
		{name: "bad event", body: envelope(`{"classId":"1.c","objectId":"1.o","eventType":"update","nonce":"x"}`), wantErr: "eventType"},
		{name: "no nonce", body: envelope(`{"classId":"1.c","objectId":"1.o","eventType":"save"}`), wantErr: "nonce"},
		{name: "bad object", body: envelope(`{"classId":"1.c","objectId":"crd","eventType":"save","nonce":"x"}`), wantErr: "objectId"},
		{name: "other issuer's class", body: envelope(`{"classId":"2.c","objectId":"1.o","eventType":"save","nonce":"x"}`), wantErr: "classId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := walletpush.DecodeGoogleCallback([]byte(tt.body))
			if tt.wantErr != "" {
				var he *hub.Error
				if !errors.As(err, &he) || he.Code != hub.EValidation {
					t.Fatalf("err = %v, want a validation error", err)
				}
				if tt.wantErr != "*" && he.Fields[tt.wantErr] == "" {
					t.Errorf("fields %v lack %s", he.Fields, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("callback (-want +got):\n%s", d)
			}
		})
	}
	c, _ := walletpush.DecodeGoogleCallback([]byte(msg))
	if c.CardID() != "crd_1" || c.Expired(time.UnixMilli(1767225600000-1)) || !c.Expired(time.UnixMilli(1767225600000+1)) {
		t.Errorf("CardID %q / Expired wrong", c.CardID())
	}
}

func FuzzDecodeGoogleCallback(f *testing.F) {
	f.Add([]byte(envelope(`{"classId":"1.c","objectId":"1.o","expTimeMillis":1,"eventType":"save","nonce":"x"}`)))
	f.Add([]byte(`{"classId":"1.c","objectId":"1.o","expTimeMillis":"1","eventType":"del","nonce":"x"}`))
	f.Add([]byte(`{"signedMessage":null}`))
	f.Add([]byte(`{"signedMessage":"{\"expTimeMillis\":-1}"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := walletpush.DecodeGoogleCallback(body)
		if err != nil {
			if hub.ErrorCode(err) != hub.EValidation {
				t.Fatalf("error %v is not a validation error", err)
			}
			return
		}
		if c.EventType != "save" && c.EventType != "del" || c.Nonce == "" || c.CardID() == "" {
			t.Fatalf("accepted a bad callback: %+v", c)
		}
	})
}
