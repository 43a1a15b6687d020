package viber_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/7loc/hub/channels/viber"
	"github.com/7loc/hub/channels/viber/viberfake"
	"github.com/7loc/hub/hub"
)

const (
	authToken = "4453b6ac12345678-e02c5f12174805f9-9998c2fa81d2a6fb"
	botName   = "Coffee Club"
	botURI    = "coffeeclub"
)

func config(settings, secrets map[string]string) *hub.ChannelConfig {
	cfg := &hub.ChannelConfig{
		BusinessID: "biz_1",
		Provider:   hub.ChannelViber,
		Enabled:    true,
		Settings:   map[string]string{"sender_name": botName, "sender_avatar": "https://cdn.example/a.png", "uri": botURI},
		Secrets:    map[string]string{"auth_token": authToken},
	}
	for k, v := range settings {
		cfg.Settings[k] = v
	}
	for k, v := range secrets {
		cfg.Secrets[k] = v
	}
	return cfg
}

func fixture(t *testing.T, opt viber.Options) (*viber.Sender, *viberfake.Server) {
	t.Helper()
	fake := viberfake.New()
	t.Cleanup(fake.Close)
	fake.AddAccount(authToken, botName, botURI)
	opt.BaseURL = fake.URL
	s, err := viber.New(config(nil, nil), opt)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, fake
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]string
		secrets  map[string]string
		opt      viber.Options
		want     hub.Code
	}{
		{name: "valid"},
		{name: "no avatar", settings: map[string]string{"sender_avatar": ""}},
		{name: "no token", secrets: map[string]string{"auth_token": ""}, want: hub.EValidation},
		{name: "no sender name", settings: map[string]string{"sender_name": ""}, want: hub.EValidation},
		{name: "no uri", settings: map[string]string{"uri": ""}, want: hub.EValidation},
		{name: "bad base URL", opt: viber.Options{BaseURL: "::"}, want: hub.EInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := viber.New(config(tt.settings, tt.secrets), tt.opt)
			if got := hub.ErrorCode(err); got != tt.want {
				t.Fatalf("New error = %v, want code %q", err, tt.want)
			}
		})
	}
}

func TestSendDelivers(t *testing.T) {
	s, fake := fixture(t, viber.Options{})
	r, err := s.Send(context.Background(), hub.Message{DeliveryID: "dlv_1", To: "01234567890A=", Text: "Your stamp <3 & more"})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	want := []viberfake.SentMessage{{
		AuthToken: authToken, Receiver: "01234567890A=", Type: "text", Text: "Your stamp <3 & more",
		SenderName: botName, SenderAvatar: "https://cdn.example/a.png", TrackingData: "dlv_1",
		MinAPIVersion: 1, MessageToken: viberfake.FirstMessageToken,
	}}
	if diff := cmp.Diff(want, fake.Sent(), cmpopts.IgnoreFields(viberfake.SentMessage{}, "At")); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	// 5741311803571721087 does not survive a float64.
	if got, want := r.ProviderMessageID, strconv.FormatInt(viberfake.FirstMessageToken, 10); got != want {
		t.Errorf("ProviderMessageID = %q, want %q", got, want)
	}
}

type sendErr struct {
	Kind        hub.SendErrorKind
	Code        string
	Reason      string
	Unreachable bool
	MaybeSent   bool
	RetryAfter  time.Duration
	Scope       string
}

func project(t *testing.T, err error) sendErr {
	t.Helper()
	var se *hub.SendError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *hub.SendError", err, err)
	}
	return sendErr{se.Kind, se.Code, se.Reason, se.Unreachable, se.MaybeSent, se.RetryAfter, se.Scope}
}

func TestSendClassifiesFailures(t *testing.T) {
	const to = "user-1"
	failNext := func(status int) func(*viberfake.Server) {
		return func(f *viberfake.Server) { f.FailNext(1, status) }
	}
	permanent := func(code int, reason string, unreachable bool) sendErr {
		return sendErr{Kind: hub.SendPermanent, Code: strconv.Itoa(code), Reason: reason, Unreachable: unreachable}
	}
	tests := []struct {
		name   string
		token  string
		opt    viber.Options
		script func(*viberfake.Server)
		want   sendErr
	}{
		{"not registered", "", viber.Options{}, func(f *viberfake.Server) { f.SetReceiverStatus(to, viberfake.StatusReceiverNotRegistered) },
			permanent(5, "bad_address", true)},
		{"not subscribed", "", viber.Options{}, func(f *viberfake.Server) { f.SetReceiverStatus(to, viberfake.StatusReceiverNotSubscribed) },
			permanent(6, "unsubscribed", true)},
		{"no suitable device", "", viber.Options{}, failNext(11), permanent(11, "bad_address", true)},
		{"wrong token", "other-token", viber.Options{}, nil, permanent(2, "config", false)},
		{"account blocked", "", viber.Options{}, failNext(7), permanent(7, "config", false)},
		{"account not found", "", viber.Options{}, failNext(8), permanent(8, "config", false)},
		{"account suspended", "", viber.Options{}, failNext(9), permanent(9, "config", false)},
		{"webhook not set", "", viber.Options{}, failNext(10), permanent(10, "config", false)},
		{"bad data", "", viber.Options{}, failNext(3), permanent(3, "bad_request", false)},
		{"missing data", "", viber.Options{}, failNext(4), permanent(4, "bad_request", false)},
		{"too many requests", "", viber.Options{}, failNext(12),
			sendErr{Kind: hub.SendRateLimited, Code: "12", Reason: "rate_limited", RetryAfter: time.Second, Scope: hub.ScopeSender}},
		{"own rate limit", "", viber.Options{}, func(f *viberfake.Server) { f.SetRateLimit(0.001, 1) },
			sendErr{Kind: hub.SendRateLimited, Code: "12", Reason: "rate_limited", RetryAfter: time.Second, Scope: hub.ScopeSender}},
		{"general error", "", viber.Options{}, failNext(13), sendErr{Kind: hub.SendTransient, Code: "13", Reason: "provider_error"}},
		{"HTTP 503", "", viber.Options{}, func(f *viberfake.Server) { f.FailNextHTTP(1, 503) },
			sendErr{Kind: hub.SendTransient, Code: "503", Reason: "provider_error"}},
		{"provider down", "", viber.Options{}, func(f *viberfake.Server) { f.SetDown(true) },
			sendErr{Kind: hub.SendTransient, Reason: "provider_down"}},
		{"timeout after write", "", viber.Options{Timeout: 100 * time.Millisecond}, func(f *viberfake.Server) { f.SetDelay(5 * time.Second) },
			sendErr{Kind: hub.SendTransient, Reason: "timeout", MaybeSent: true}},
		{"connection refused", "", viber.Options{}, func(f *viberfake.Server) { f.Close() },
			sendErr{Kind: hub.SendTransient, Reason: "provider_down"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := viberfake.New()
			t.Cleanup(fake.Close)
			fake.AddAccount(authToken, botName, botURI)
			tok := authToken
			if tt.token != "" {
				tok = tt.token
			}
			opt := tt.opt
			opt.BaseURL = fake.URL
			s, err := viber.New(config(nil, map[string]string{"auth_token": tok}), opt)
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "own rate limit" {
				tt.script(fake)
				if _, err := s.Send(context.Background(), hub.Message{To: to, Text: "first"}); err != nil {
					t.Fatalf("first Send: %v", err)
				}
			} else if tt.script != nil {
				tt.script(fake)
			}
			_, err = s.Send(context.Background(), hub.Message{To: to, Text: "hello"})
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if diff := cmp.Diff(tt.want, project(t, err)); diff != "" {
				t.Errorf("SendError (-want +got):\n%s\nerror: %v", diff, err)
			}
			if strings.Contains(err.Error(), tok) {
				t.Errorf("error %q leaks the token", err)
			}
		})
	}
}

func TestSendUnreadableAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"status":0,"message_tok`))
	}))
	t.Cleanup(srv.Close)
	s, err := viber.New(config(nil, nil), viber.Options{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), hub.Message{To: "u", Text: "hi"})
	want := sendErr{Kind: hub.SendTransient, Code: "200", Reason: "provider_error", MaybeSent: true}
	if diff := cmp.Diff(want, project(t, err)); diff != "" {
		t.Errorf("SendError (-want +got):\n%s", diff)
	}
}

func TestLimits(t *testing.T) {
	s, err := viber.New(config(map[string]string{"rate_per_second": "7.5"}, nil), viber.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []hub.RateLimit{{Key: "viber:" + sha12(authToken), PerSecond: 7.5, Burst: 1}}
	if diff := cmp.Diff(want, s.Limits(hub.Message{To: "u"})); diff != "" {
		t.Errorf("Limits (-want +got):\n%s", diff)
	}
	def, _ := viber.New(config(nil, nil), viber.Options{})
	if got := def.Limits(hub.Message{})[0]; got.PerSecond != 20 || strings.Contains(got.Key, authToken) || len(got.Key) != len("viber:")+12 {
		t.Errorf("default limit %+v", got)
	}
}

func sha12(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:12]
}

func TestLinkURL(t *testing.T) {
	s, _ := viber.New(config(map[string]string{"uri": "coffee club"}, nil), viber.Options{})
	if got, want := s.LinkURL("tok/1&x"), "viber://pa?chatURI=coffee+club&context=tok%2F1%26x"; got != want {
		t.Errorf("LinkURL = %q, want %q", got, want)
	}
}

func TestSetWebhook(t *testing.T) {
	s, fake := fixture(t, viber.Options{})
	if err := s.SetWebhook(context.Background(), "https://hub.example/v1/inbound/viber/biz_1"); err != nil {
		t.Fatalf("SetWebhook: %v", err)
	}
	want := &viberfake.Webhook{URL: "https://hub.example/v1/inbound/viber/biz_1", EventTypes: viber.WebhookEvents, SendName: true}
	if diff := cmp.Diff(want, fake.Webhook(authToken)); diff != "" {
		t.Errorf("webhook (-want +got):\n%s", diff)
	}
}
