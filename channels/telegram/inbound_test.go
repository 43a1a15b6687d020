package telegram_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/channels/telegram"
	"github.com/7loc/hub/channels/telegram/telegramfake"
	"github.com/7loc/hub/hub"
)

var at = time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)

func TestDecode(t *testing.T) {
	s, err := telegram.New(config(nil, nil), telegram.Options{})
	if err != nil {
		t.Fatal(err)
	}
	inbound := func(typ, token string) []hub.Inbound {
		return []hub.Inbound{{Type: typ, Channel: hub.ChannelTelegram, Address: "42", Token: token, Name: "Ann Lee", At: at}}
	}
	edited := map[string]any{"edited_message": telegramfake.TextUpdate(42, "Ann", "Lee", "hi", at)["message"]}
	tests := []struct {
		name   string
		update any
		want   []hub.Inbound
	}{
		{"start with token", telegramfake.TextUpdate(42, "Ann", "Lee", "/start tok_AbC-9", at), inbound(hub.InboundLink, "tok_AbC-9")},
		{"start addressed to the bot", telegramfake.TextUpdate(42, "Ann", "Lee", "/start@loyalty_bot tok_1", at), inbound(hub.InboundLink, "tok_1")},
		{"start without token", telegramfake.TextUpdate(42, "Ann", "Lee", "/start", at), inbound(hub.InboundMessage, "")},
		{"stop", telegramfake.TextUpdate(42, "Ann", "Lee", "/stop", at), inbound(hub.InboundStop, "")},
		{"STOP in capitals", telegramfake.TextUpdate(42, "Ann", "Lee", "/STOP now", at), inbound(hub.InboundStop, "")},
		{"other command", telegramfake.TextUpdate(42, "Ann", "Lee", "/help", at), inbound(hub.InboundMessage, "")},
		{"text", telegramfake.TextUpdate(42, "Ann", "Lee", "what is my balance?", at), inbound(hub.InboundMessage, "")},
		{"blocked the bot", telegramfake.MyChatMemberUpdate(42, "Ann Lee", "member", "kicked", at), inbound(hub.InboundStop, "")},
		{"unblocked the bot", telegramfake.MyChatMemberUpdate(42, "Ann Lee", "kicked", "member", at), inbound(hub.InboundSubscribed, "")},
		{"made administrator", telegramfake.MyChatMemberUpdate(42, "Ann Lee", "member", "administrator", at), nil},
		{"edited message", edited, nil},
		{"unknown update kind", map[string]any{"poll": map[string]any{"id": "1"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reply, err := s.Decode(telegramfake.WebhookRequest(secret, tt.update))
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
	s, err := telegram.New(config(nil, nil), telegram.Options{})
	if err != nil {
		t.Fatal(err)
	}
	noSecret, err := telegram.New(config(nil, map[string]string{"webhook_secret": ""}), telegram.Options{})
	if err != nil {
		t.Fatal(err)
	}
	good := telegramfake.WebhookRequest(secret, telegramfake.TextUpdate(42, "Ann", "", "/stop", at))
	garbled := telegramfake.WebhookRequest(secret, map[string]any{})
	garbled.Body = []byte(`{"update_id":1,"message":`)
	wrongType := telegramfake.WebhookRequest(secret, map[string]any{})
	wrongType.Body = []byte(`{"update_id":"one"}`)
	tests := []struct {
		name   string
		sender *telegram.Sender
		req    hub.InboundRequest
		want   hub.Code
	}{
		{"missing secret", s, telegramfake.WebhookRequest("", telegramfake.TextUpdate(42, "Ann", "", "/stop", at)), hub.EUnauthorized},
		{"wrong secret", s, telegramfake.WebhookRequest("wh-Secret_2", telegramfake.TextUpdate(42, "Ann", "", "/stop", at)), hub.EUnauthorized},
		{"no secret configured", noSecret, good, hub.EUnauthorized},
		{"wrong secret, garbled body", s, func() hub.InboundRequest { r := garbled; r.Header = http.Header{}; return r }(), hub.EUnauthorized},
		{"garbled body", s, garbled, hub.EValidation},
		{"wrong field type", s, wrongType, hub.EValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := tt.sender.Decode(tt.req)
			if code := hub.ErrorCode(err); code != tt.want {
				t.Fatalf("Decode error = %v, want code %q", err, tt.want)
			}
			if got != nil {
				t.Errorf("Decode returned events %v with an error", got)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, u := range []any{
		telegramfake.TextUpdate(42, "Ann", "Lee", "/start tok_1", at),
		telegramfake.TextUpdate(-100123, "Group", "", "/stop@loyalty_bot", at),
		telegramfake.TextUpdate(7, "", "", "hello", at),
		telegramfake.MyChatMemberUpdate(42, "Ann", "member", "kicked", at),
		telegramfake.MyChatMemberUpdate(42, "Ann", "kicked", "member", at),
	} {
		f.Add(telegramfake.WebhookRequest(secret, u).Body)
	}
	f.Add([]byte(`{"update_id":1,"message":{"chat":{"id":1},"text":"/start\t\tx"}}`))
	f.Add([]byte(`{"message":null}`))
	f.Add([]byte(`[]`))
	s, err := telegram.New(config(nil, nil), telegram.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := hub.InboundRequest{Method: http.MethodPost, Header: http.Header{telegram.SecretHeader: {secret}}, Body: body}
		events, reply, err := s.Decode(req)
		if err != nil {
			if hub.ErrorCode(err) != hub.EValidation {
				t.Fatalf("error %v has code %q, want validation_failed", err, hub.ErrorCode(err))
			}
			if events != nil {
				t.Errorf("events %v returned with an error", events)
			}
			return
		}
		if reply.ContentType != "" || len(reply.Body) != 0 {
			t.Errorf("reply %+v, want an empty 200", reply)
		}
		for _, e := range events {
			if e.Channel != hub.ChannelTelegram || e.Address == "" || e.Address == "0" || e.At.IsZero() {
				t.Errorf("bad event %+v", e)
			}
			if e.Type == hub.InboundLink && e.Token == "" {
				t.Errorf("link without token: %+v", e)
			}
		}
		// Without the secret nothing is decoded.
		req.Header = http.Header{}
		if events, _, err := s.Decode(req); hub.ErrorCode(err) != hub.EUnauthorized || events != nil {
			t.Errorf("Decode without secret = %v, %v", events, err)
		}
	})
}
