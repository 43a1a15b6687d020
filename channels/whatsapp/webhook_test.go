package whatsapp_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/channels/whatsapp"
	"github.com/7loc/hub/channels/whatsapp/whatsappfake"
	"github.com/7loc/hub/hub"
)

func TestDecodeVerification(t *testing.T) {
	tests := []struct {
		name      string
		req       hub.InboundRequest
		wantReply hub.InboundReply
		wantCode  hub.Code
	}{
		{"good", whatsappfake.VerifyRequest(whatsappfake.DefaultVerifyToken, "1158201444"),
			hub.InboundReply{ContentType: "text/plain; charset=utf-8", Body: []byte("1158201444")}, ""},
		{"wrong token", whatsappfake.VerifyRequest("guess", "1158201444"), hub.InboundReply{}, hub.EUnauthorized},
		{"no token", hub.InboundRequest{Method: http.MethodGet, Query: url.Values{"hub.mode": {"subscribe"}}},
			hub.InboundReply{}, hub.EUnauthorized},
		{"not subscribe", hub.InboundRequest{Method: http.MethodGet, Query: url.Values{
			"hub.mode": {"unsubscribe"}, "hub.verify_token": {whatsappfake.DefaultVerifyToken}}},
			hub.InboundReply{}, hub.EValidation},
		{"put", hub.InboundRequest{Method: http.MethodPut}, hub.InboundReply{}, hub.EValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, s := setup(t)
			evs, reply, err := s.Decode(tt.req)
			if got := hub.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("Decode: %v, want code %q", err, tt.wantCode)
			}
			if len(evs) != 0 {
				t.Errorf("decoded %d events", len(evs))
			}
			if d := cmp.Diff(tt.wantReply, reply); d != "" {
				t.Errorf("reply (-want +got):\n%s", d)
			}
		})
	}
}

func TestDecodeNotifications(t *testing.T) {
	at := time.Date(2026, 3, 14, 11, 59, 0, 0, time.UTC)
	pnid := whatsappfake.DefaultPhoneNumberID
	tests := []struct {
		name string
		body []byte
		want []hub.Inbound
	}{
		{
			name: "messages",
			body: whatsappfake.MessagesWebhook(pnid,
				whatsappfake.Inbound{From: "+380671234567", Name: "Olena", Text: "hi", ID: "wamid.in1", At: at},
				whatsappfake.Inbound{From: "4915112345678", Name: "Jonas", Text: "STOP", ID: "wamid.in2", At: at}),
			want: []hub.Inbound{
				{Type: hub.InboundMessage, Channel: hub.ChannelWhatsApp, Address: "+380671234567", Name: "Olena",
					ProviderMessageID: "wamid.in1", At: at},
				{Type: hub.InboundMessage, Channel: hub.ChannelWhatsApp, Address: "+4915112345678", Name: "Jonas",
					ProviderMessageID: "wamid.in2", At: at},
			},
		},
		{
			name: "statuses",
			body: whatsappfake.StatusesWebhook(pnid,
				whatsappfake.Status{ID: "wamid.1", Status: "sent", RecipientID: "380671234567", At: at},
				whatsappfake.Status{ID: "wamid.1", Status: "delivered", RecipientID: "380671234567", At: at},
				whatsappfake.Status{ID: "wamid.1", Status: "read", RecipientID: "380671234567", At: at},
				whatsappfake.Status{ID: "wamid.2", Status: "failed", RecipientID: "380671234567", At: at,
					ErrorCode: 131047, ErrorTitle: "Re-engagement message"},
				whatsappfake.Status{ID: "wamid.3", Status: "deleted", RecipientID: "380671234567", At: at}),
			want: []hub.Inbound{
				{Type: hub.InboundStatus, Channel: hub.ChannelWhatsApp, Address: customer, ProviderMessageID: "wamid.1",
					Status: hub.ProviderSent, At: at},
				{Type: hub.InboundStatus, Channel: hub.ChannelWhatsApp, Address: customer, ProviderMessageID: "wamid.1",
					Status: hub.ProviderDelivered, At: at},
				{Type: hub.InboundStatus, Channel: hub.ChannelWhatsApp, Address: customer, ProviderMessageID: "wamid.1",
					Status: hub.ProviderRead, At: at},
				{Type: hub.InboundStatus, Channel: hub.ChannelWhatsApp, Address: customer, ProviderMessageID: "wamid.2",
					Status: hub.ProviderFailed, Reason: "131047 Re-engagement message", At: at},
			},
		},
		{
			name: "another phone number",
			body: whatsappfake.MessagesWebhook("999", whatsappfake.Inbound{From: "380671234567", Text: "hi", At: at}),
		},
		{
			name: "other field",
			body: []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"account_update","value":{}}]}]}`),
		},
		{
			name: "system message ignored",
			body: []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{` +
				`"messaging_product":"whatsapp","metadata":{"phone_number_id":"` + pnid + `"},` +
				`"messages":[{"from":"380671234567","id":"x","timestamp":"1","type":"system"}]}}]}]}`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, s := setup(t)
			evs, reply, err := s.Decode(fake.WebhookRequest(tt.body))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if d := cmp.Diff(tt.want, evs); d != "" {
				t.Errorf("events (-want +got):\n%s", d)
			}
			if d := cmp.Diff(hub.InboundReply{}, reply); d != "" {
				t.Errorf("reply (-want +got):\n%s", d)
			}
		})
	}
}

func TestDecodeCustomerMessageOpensWindow(t *testing.T) {
	fake, s := setup(t)
	evs, _, err := s.Decode(fake.CustomerMessage(customer, "Olena", "hello"))
	if err != nil || len(evs) != 1 || evs[0].Type != hub.InboundMessage || evs[0].Address != customer {
		t.Fatalf("Decode = %+v, %v", evs, err)
	}
	if got := fake.WindowUntil(customer); !got.Equal(now.Add(24 * time.Hour)) {
		t.Errorf("fake window until %v", got)
	}
}

func TestDecodeRejects(t *testing.T) {
	body := whatsappfake.MessagesWebhook(whatsappfake.DefaultPhoneNumberID,
		whatsappfake.Inbound{From: "380671234567", Text: "hi"})
	signed := func(b []byte) hub.InboundRequest {
		return hub.InboundRequest{Method: http.MethodPost, Header: http.Header{
			"X-Hub-Signature-256": {whatsappfake.Sign(b, whatsappfake.DefaultAppSecret)}}, Body: b}
	}
	tampered := signed(body)
	tampered.Body = []byte(strings.Replace(string(body), "380671234567", "380670000000", 1))
	tests := []struct {
		name string
		req  hub.InboundRequest
		want hub.Code
	}{
		{"no signature", hub.InboundRequest{Method: http.MethodPost, Body: body}, hub.EUnauthorized},
		{"other secret", hub.InboundRequest{Method: http.MethodPost, Header: http.Header{
			"X-Hub-Signature-256": {whatsappfake.Sign(body, "other")}}, Body: body}, hub.EUnauthorized},
		{"sha1 signature", hub.InboundRequest{Method: http.MethodPost, Header: http.Header{
			"X-Hub-Signature-256": {"sha1=abcdef"}}, Body: body}, hub.EUnauthorized},
		{"not hex", hub.InboundRequest{Method: http.MethodPost, Header: http.Header{
			"X-Hub-Signature-256": {"sha256=zz"}}, Body: body}, hub.EUnauthorized},
		{"tampered body", tampered, hub.EUnauthorized},
		{"not json", signed([]byte("{")), hub.EValidation},
		{"other object", signed([]byte(`{"object":"page","entry":[]}`)), hub.EValidation},
		{"bad timestamp", signed([]byte(strings.Replace(string(body), `"timestamp":"`, `"timestamp":"x`, 1))), hub.EValidation},
		{"bad sender", signed([]byte(strings.Replace(string(body), `"from":"380671234567"`, `"from":"abc"`, 1))), hub.EValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, s := setup(t)
			evs, _, err := s.Decode(tt.req)
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
	pnid := whatsappfake.DefaultPhoneNumberID
	f.Add(whatsappfake.MessagesWebhook(pnid, whatsappfake.Inbound{From: "380671234567", Name: "O", Text: "hi"}))
	f.Add(whatsappfake.StatusesWebhook(pnid, whatsappfake.Status{ID: "wamid.1", Status: "failed",
		RecipientID: "380671234567", ErrorCode: 131026, ErrorTitle: "Message undeliverable"}))
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"` +
		pnid + `"},"messages":[{"from":"1","timestamp":"-1"}],"statuses":[{"status":"read"}]}}]}]}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"entry":null}`))
	s, err := whatsapp.New(testConfigFor(pnid), whatsapp.Options{Now: clock})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := hub.InboundRequest{Method: http.MethodPost, Header: http.Header{
			"X-Hub-Signature-256": {whatsappfake.Sign(body, "b")}}, Body: body}
		evs, reply, err := s.Decode(req)
		if err != nil {
			if c := hub.ErrorCode(err); c != hub.EValidation {
				t.Fatalf("signed body gave %v", err)
			}
			if evs != nil {
				t.Fatalf("events with an error: %v", evs)
			}
			return
		}
		if reply.ContentType != "" || len(reply.Body) != 0 {
			t.Fatalf("reply %+v, want an empty 200", reply)
		}
		for _, ev := range evs {
			if !strings.HasPrefix(ev.Address, "+") && ev.Type == hub.InboundMessage {
				t.Fatalf("address %q", ev.Address)
			}
			if ev.Channel != hub.ChannelWhatsApp || (ev.Type != hub.InboundMessage && ev.Type != hub.InboundStatus) {
				t.Fatalf("event %+v", ev)
			}
		}
		// Without the signature nothing is decoded.
		req.Header = nil
		if evs, _, err := s.Decode(req); hub.ErrorCode(err) != hub.EUnauthorized || evs != nil {
			t.Fatalf("unsigned: %v, %v", evs, err)
		}
	})
}

// testConfigFor is testConfig for a phone number id.
func testConfigFor(pnid string) *hub.ChannelConfig {
	c := testConfig()
	c.Settings["phone_number_id"] = pnid
	return c
}
