package gateway_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/channels/gateway"
	"github.com/7loc/hub/channels/gateway/gatewayfake"
	"github.com/7loc/hub/hub"
)

var now = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// decodeSetup returns a fake on the test clock and a sender that decodes its
// callbacks.
func decodeSetup(t *testing.T) (*gatewayfake.Server, *gateway.Sender) {
	t.Helper()
	fake := gatewayfake.New(gatewayfake.Config{Now: clock})
	t.Cleanup(fake.Close)
	s, err := gateway.New(fake.ChannelConfig("biz_1", ""), gateway.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	return fake, s
}

func TestDecodeEvents(t *testing.T) {
	at := "2026-03-14T11:59:30+02:00"
	atT := time.Date(2026, 3, 14, 9, 59, 30, 0, time.UTC)
	tests := []struct {
		name string
		ev   gatewayfake.Event
		want []hub.Inbound
	}{
		{"status", gatewayfake.Event{Type: "status", Channel: "viber", MessageID: "gw_1", DeliveryID: "dlv_1",
			Status: "delivered", At: at},
			[]hub.Inbound{{Type: hub.InboundStatus, Channel: "viber", ProviderMessageID: "gw_1", DeliveryID: "dlv_1",
				Status: hub.ProviderDelivered, At: atT}}},
		{"failed status without message id", gatewayfake.Event{Type: "status", DeliveryID: "dlv_1", Status: "failed",
			Reason: "blocked"},
			[]hub.Inbound{{Type: hub.InboundStatus, DeliveryID: "dlv_1", Status: hub.ProviderFailed,
				Reason: "blocked", At: now}}},
		{"link", gatewayfake.Event{Type: "link", Channel: "telegram", Address: "123456789", Token: "lnk_abc",
			Name: "Olena", At: at},
			[]hub.Inbound{{Type: hub.InboundLink, Channel: "telegram", Address: "123456789", Token: "lnk_abc",
				Name: "Olena", At: atT}}},
		{"stop", gatewayfake.Event{Type: "stop", Channel: "whatsapp", Address: "+380671234567"},
			[]hub.Inbound{{Type: hub.InboundStop, Channel: "whatsapp", Address: "+380671234567", At: now}}},
		{"message", gatewayfake.Event{Type: "message", Channel: "whatsapp", Address: "+380671234567", Name: "O"},
			[]hub.Inbound{{Type: hub.InboundMessage, Channel: "whatsapp", Address: "+380671234567", Name: "O", At: now}}},
		{"unknown type is ignored", gatewayfake.Event{Type: "typing", Channel: "whatsapp", Address: "+1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, s := decodeSetup(t)
			evs, reply, err := s.Decode(fake.CallbackRequest(tt.ev))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if d := cmp.Diff(tt.want, evs); d != "" {
				t.Errorf("events (-want +got):\n%s", d)
			}
			if reply.ContentType != "" || len(reply.Body) != 0 {
				t.Errorf("reply %+v, want an empty 200", reply)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	good := []byte(`{"type":"stop","channel":"viber","address":"u1"}`)
	tests := []struct {
		name string
		req  func(*gatewayfake.Server) hub.InboundRequest
		want hub.Code
	}{
		{"unsigned", func(*gatewayfake.Server) hub.InboundRequest {
			return hub.InboundRequest{Method: http.MethodPost, Body: good}
		}, hub.EUnauthorized},
		{"stale", func(f *gatewayfake.Server) hub.InboundRequest {
			return f.SignedRequest(good, now.Add(-6*time.Minute))
		}, hub.EUnauthorized},
		{"future", func(f *gatewayfake.Server) hub.InboundRequest {
			return f.SignedRequest(good, now.Add(6*time.Minute))
		}, hub.EUnauthorized},
		{"tampered", func(f *gatewayfake.Server) hub.InboundRequest {
			r := f.SignedRequest(good, now)
			r.Body = []byte(strings.Replace(string(good), "u1", "u2", 1))
			return r
		}, hub.EUnauthorized},
		{"other secret", func(*gatewayfake.Server) hub.InboundRequest {
			other := gatewayfake.New(gatewayfake.Config{Secret: "other", Now: clock})
			defer other.Close()
			return other.SignedRequest(good, now)
		}, hub.EUnauthorized},
		{"get", func(f *gatewayfake.Server) hub.InboundRequest {
			r := f.SignedRequest(good, now)
			r.Method = http.MethodGet
			return r
		}, hub.EValidation},
		{"not json", func(f *gatewayfake.Server) hub.InboundRequest { return f.SignedRequest([]byte("{"), now) },
			hub.EValidation},
		{"bad status", func(f *gatewayfake.Server) hub.InboundRequest {
			return f.CallbackRequest(gatewayfake.Event{Type: "status", MessageID: "m", Status: "bounced"})
		}, hub.EValidation},
		{"status without id", func(f *gatewayfake.Server) hub.InboundRequest {
			return f.CallbackRequest(gatewayfake.Event{Type: "status", Status: "read"})
		}, hub.EValidation},
		{"link without token", func(f *gatewayfake.Server) hub.InboundRequest {
			return f.CallbackRequest(gatewayfake.Event{Type: "link", Channel: "viber", Address: "u1"})
		}, hub.EValidation},
		{"stop without address", func(f *gatewayfake.Server) hub.InboundRequest {
			return f.CallbackRequest(gatewayfake.Event{Type: "stop", Channel: "viber"})
		}, hub.EValidation},
		{"unknown channel", func(f *gatewayfake.Server) hub.InboundRequest {
			return f.CallbackRequest(gatewayfake.Event{Type: "message", Channel: "sms", Address: "+1"})
		}, hub.EValidation},
		{"bad time", func(f *gatewayfake.Server) hub.InboundRequest {
			return f.CallbackRequest(gatewayfake.Event{Type: "message", Channel: "viber", Address: "u", At: "yesterday"})
		}, hub.EValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, s := decodeSetup(t)
			evs, _, err := s.Decode(tt.req(fake))
			if got := hub.ErrorCode(err); got != tt.want {
				t.Fatalf("Decode: %v, want %q", err, tt.want)
			}
			if evs != nil {
				t.Errorf("decoded %v", evs)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, ev := range []gatewayfake.Event{
		{Type: "status", Channel: "viber", MessageID: "gw_1", Status: "read", At: "2026-03-14T11:59:30Z"},
		{Type: "link", Channel: "telegram", Address: "1", Token: "t", Name: "n"},
		{Type: "stop", Channel: "whatsapp", Address: "+1"},
		{Type: "message", Channel: "whatsapp", Address: "+1"},
	} {
		b, _ := json.Marshal(ev)
		f.Add(b)
	}
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))
	fake := gatewayfake.New(gatewayfake.Config{Now: clock})
	defer fake.Close()
	s, err := gateway.New(fake.ChannelConfig("b", ""), gateway.Options{Now: clock})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := fake.SignedRequest(body, now)
		evs, reply, err := s.Decode(req)
		if err != nil {
			if hub.ErrorCode(err) != hub.EValidation || evs != nil {
				t.Fatalf("signed body: %v, %v", evs, err)
			}
			return
		}
		if len(reply.Body) != 0 || len(evs) > 1 {
			t.Fatalf("reply %+v, events %v", reply, evs)
		}
		for _, ev := range evs {
			if ev.Type != hub.InboundStatus && (ev.Channel == "" || ev.Address == "") {
				t.Fatalf("event without channel or address: %+v", ev)
			}
		}
		http.Header(req.Header).Set(gateway.HeaderSignature, "v1,AAAA")
		if evs, _, err := s.Decode(req); hub.ErrorCode(err) != hub.EUnauthorized || evs != nil {
			t.Fatalf("bad signature: %v, %v", evs, err)
		}
	})
}
