package viber_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/channels/viber"
	"github.com/7loc/hub/channels/viber/viberfake"
	"github.com/7loc/hub/hub"
)

var at = time.Date(2026, 3, 1, 12, 30, 0, 123e6, time.UTC)

func TestDecode(t *testing.T) {
	s, err := viber.New(config(nil, nil), viber.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const token int64 = 5741311803571721087
	tokenStr := strconv.FormatInt(token, 10)
	in := func(typ, addr, name string) hub.Inbound {
		return hub.Inbound{Type: typ, Channel: hub.ChannelViber, Address: addr, Name: name, At: at}
	}
	link := in(hub.InboundLink, "01234567890A=", "Ann Lee")
	link.Token = "tok_1"
	status := func(st, reason string) hub.Inbound {
		e := in(hub.InboundStatus, "01234567890A=", "")
		e.ProviderMessageID, e.Status, e.Reason = tokenStr, st, reason
		return e
	}
	tests := []struct {
		name string
		body []byte
		want []hub.Inbound
	}{
		{"webhook check", viberfake.WebhookEvent(at), nil},
		{"conversation started with context", viberfake.ConversationStarted("01234567890A=", "Ann Lee", "tok_1", at), []hub.Inbound{link}},
		{"conversation started without context", viberfake.ConversationStarted("01234567890A=", "Ann Lee", "", at), nil},
		{"subscribed", viberfake.Subscribed("01234567890A=", "Ann Lee", at), []hub.Inbound{in(hub.InboundSubscribed, "01234567890A=", "Ann Lee")}},
		{"unsubscribed", viberfake.Unsubscribed("01234567890A=", at), []hub.Inbound{in(hub.InboundStop, "01234567890A=", "")}},
		{"message", viberfake.Message("01234567890A=", "Ann Lee", "hi", at), []hub.Inbound{in(hub.InboundMessage, "01234567890A=", "Ann Lee")}},
		{"delivered", viberfake.Delivery("delivered", token, "01234567890A=", "", at), []hub.Inbound{status(hub.ProviderDelivered, "")}},
		{"seen", viberfake.Delivery("seen", token, "01234567890A=", "", at), []hub.Inbound{status(hub.ProviderRead, "")}},
		{"failed", viberfake.Delivery("failed", token, "01234567890A=", "failure description", at), []hub.Inbound{status(hub.ProviderFailed, "failure description")}},
		{"client status", []byte(`{"event":"client_status","timestamp":1,"user_id":"x"}`), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reply, err := s.Decode(viberfake.SignedRequest(authToken, tt.body))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("inbound (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(hub.InboundReply{}, reply); diff != "" {
				t.Errorf("reply (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRefuses(t *testing.T) {
	s, err := viber.New(config(nil, nil), viber.Options{})
	if err != nil {
		t.Fatal(err)
	}
	body := viberfake.Unsubscribed("u1", at)
	unsigned := viberfake.SignedRequest(authToken, body)
	http.Header(unsigned.Header).Del(viberfake.SignatureHeader)
	tampered := viberfake.SignedRequest(authToken, body)
	tampered.Body = viberfake.Unsubscribed("u2", at)
	notHex := viberfake.SignedRequest(authToken, body)
	http.Header(notHex.Header).Set(viberfake.SignatureHeader, "zz")
	tests := []struct {
		name string
		req  hub.InboundRequest
		want hub.Code
	}{
		{"unsigned", unsigned, hub.EUnauthorized},
		{"signed with another token", viberfake.SignedRequest("other", body), hub.EUnauthorized},
		{"tampered body", tampered, hub.EUnauthorized},
		{"signature not hex", notHex, hub.EUnauthorized},
		{"garbled body", viberfake.SignedRequest(authToken, []byte(`{"event":`)), hub.EValidation},
		{"no event", viberfake.SignedRequest(authToken, []byte(`{"timestamp":1}`)), hub.EValidation},
		{"token not a number", viberfake.SignedRequest(authToken, []byte(`{"event":"seen","message_token":"abc"}`)), hub.EValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := s.Decode(tt.req)
			if code := hub.ErrorCode(err); code != tt.want {
				t.Fatalf("Decode error = %v, want code %q", err, tt.want)
			}
			if got != nil {
				t.Errorf("events %v returned with an error", got)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, b := range [][]byte{
		viberfake.WebhookEvent(at),
		viberfake.ConversationStarted("u1", "Ann", "tok_1", at),
		viberfake.Subscribed("u1", "Ann", at),
		viberfake.Unsubscribed("u1", at),
		viberfake.Message("u1", "Ann", "hi", at),
		viberfake.Delivery("failed", 5741311803571721087, "u1", "desc", at),
		[]byte(`{"event":"seen","message_token":1e400}`),
		[]byte(`null`),
	} {
		f.Add(b)
	}
	s, err := viber.New(config(nil, nil), viber.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		events, reply, err := s.Decode(viberfake.SignedRequest(authToken, body))
		if err != nil {
			if hub.ErrorCode(err) != hub.EValidation || events != nil {
				t.Fatalf("Decode = %v, %v; want a validation error and no events", events, err)
			}
			return
		}
		if len(reply.Body) != 0 {
			t.Errorf("reply %+v, want an empty 200", reply)
		}
		for _, e := range events {
			if e.Channel != hub.ChannelViber || e.At.IsZero() || (e.Address == "" && e.Type != hub.InboundStatus) {
				t.Errorf("bad event %+v", e)
			}
			if e.Type == hub.InboundStatus && e.ProviderMessageID == "" {
				t.Errorf("status without message token: %+v", e)
			}
		}
		if events, _, err := s.Decode(viberfake.SignedRequest("not-the-token", body)); hub.ErrorCode(err) != hub.EUnauthorized || events != nil {
			t.Errorf("Decode with a wrong signature = %v, %v", events, err)
		}
	})
}
