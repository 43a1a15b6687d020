package telegram_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/7loc/hub/channels/telegram"
	"github.com/7loc/hub/channels/telegram/telegramfake"
	"github.com/7loc/hub/hub"
)

const (
	token    = "123456:AAH-very_secret"
	botID    = "123456"
	username = "loyalty_bot"
	secret   = "wh-Secret_1"
)

var quiet = slog.New(slog.DiscardHandler)

func config(settings, secrets map[string]string) *hub.ChannelConfig {
	cfg := &hub.ChannelConfig{
		BusinessID: "biz_1",
		Provider:   hub.ChannelTelegram,
		Enabled:    true,
		Settings:   map[string]string{"bot_username": username},
		Secrets:    map[string]string{"bot_token": token, "webhook_secret": secret},
	}
	for k, v := range settings {
		cfg.Settings[k] = v
	}
	for k, v := range secrets {
		cfg.Secrets[k] = v
	}
	return cfg
}

// fixture starts a fake with the bot and returns a sender pointed at it.
func fixture(t *testing.T, opt telegram.Options) (*telegram.Sender, *telegramfake.Server) {
	t.Helper()
	fake := telegramfake.New()
	t.Cleanup(fake.Close)
	fake.AddBot(token, username)
	opt.BaseURL = fake.URL
	if opt.Logger == nil {
		opt.Logger = quiet
	}
	s, err := telegram.New(config(nil, nil), opt)
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
		opt      telegram.Options
		want     hub.Code // "" = valid
	}{
		{name: "valid"},
		{name: "username with @", settings: map[string]string{"bot_username": "@" + username}},
		{name: "no webhook secret", secrets: map[string]string{"webhook_secret": ""}},
		{name: "no token", secrets: map[string]string{"bot_token": ""}, want: hub.EValidation},
		{name: "token without colon", secrets: map[string]string{"bot_token": "123456AAH"}, want: hub.EValidation},
		{name: "token with letters in id", secrets: map[string]string{"bot_token": "12a:AAH"}, want: hub.EValidation},
		{name: "token with a slash", secrets: map[string]string{"bot_token": "12:AA/H"}, want: hub.EValidation},
		{name: "no username", settings: map[string]string{"bot_username": ""}, want: hub.EValidation},
		{name: "bad webhook secret", secrets: map[string]string{"webhook_secret": "no spaces"}, want: hub.EValidation},
		{name: "bad base URL", opt: telegram.Options{BaseURL: "not a url"}, want: hub.EInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := telegram.New(config(tt.settings, tt.secrets), tt.opt)
			if got := hub.ErrorCode(err); got != tt.want {
				t.Fatalf("New error = %v, want code %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "AAH") {
				t.Errorf("error %q leaks the token", err)
			}
		})
	}
}

func TestSendDeliversEscapedHTML(t *testing.T) {
	s, fake := fixture(t, telegram.Options{})
	ctx := context.Background()
	text := `Tom & Jerry <3 "quotes" >_<`
	r, err := s.Send(ctx, hub.Message{DeliveryID: "dlv_1", Channel: hub.ChannelTelegram, To: "42", Text: text})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if _, err := s.Send(ctx, hub.Message{To: "@news", Text: "hi"}); err != nil {
		t.Fatalf("Send to channel: %v", err)
	}
	sent := fake.Sent()
	if len(sent) != 2 {
		t.Fatalf("fake got %d messages, want 2", len(sent))
	}
	want := []telegramfake.SentMessage{
		{BotID: botID, ChatID: "42", Text: `Tom &amp; Jerry &lt;3 "quotes" &gt;_&lt;`, ParseMode: "HTML", MessageID: sent[0].MessageID},
		{BotID: botID, ChatID: "@news", Text: "hi", ParseMode: "HTML", MessageID: sent[1].MessageID},
	}
	if diff := cmp.Diff(want, sent, cmpopts.IgnoreFields(telegramfake.SentMessage{}, "At")); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	if r.ProviderMessageID == "" || r.ProviderMessageID != strconv.Itoa(sent[0].MessageID) {
		t.Errorf("receipt id %q, want %d", r.ProviderMessageID, sent[0].MessageID)
	}
}

// sendErr is the part of a *hub.SendError the tests compare.
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
	tests := []struct {
		name   string
		to     string
		token  string
		opt    telegram.Options
		script func(*telegramfake.Server)
		want   sendErr
	}{
		{
			name:   "rate limited",
			script: func(f *telegramfake.Server) { f.RateLimitNext(1, 7) },
			want:   sendErr{Kind: hub.SendRateLimited, Code: "429", Reason: "rate_limited", RetryAfter: 7 * time.Second, Scope: hub.ScopeSender},
		},
		{
			name:   "own flood limit",
			script: func(f *telegramfake.Server) { f.SetLimits(telegramfake.Limits{ChatPerSecond: 0.01}) },
			to:     "second",
			want:   sendErr{Kind: hub.SendRateLimited, Code: "429", Reason: "rate_limited", RetryAfter: 100 * time.Second, Scope: hub.ScopeSender},
		},
		{
			name:   "blocked by the user",
			script: func(f *telegramfake.Server) { f.Block("42", true) },
			want:   sendErr{Kind: hub.SendPermanent, Code: "403", Reason: "blocked", Unreachable: true},
		},
		{
			name:   "user deactivated",
			script: func(f *telegramfake.Server) { f.FailNext(1, 403, "Forbidden: user is deactivated") },
			want:   sendErr{Kind: hub.SendPermanent, Code: "403", Reason: "blocked", Unreachable: true},
		},
		{
			name:   "chat not found",
			script: func(f *telegramfake.Server) { f.MarkUnknown("42") },
			want:   sendErr{Kind: hub.SendPermanent, Code: "400", Reason: "bad_address", Unreachable: true},
		},
		{
			name:   "other bad request",
			script: func(f *telegramfake.Server) { f.FailNext(1, 400, "Bad Request: message is too long") },
			want:   sendErr{Kind: hub.SendPermanent, Code: "400", Reason: "bad_request"},
		},
		{
			name: "not a chat id",
			to:   "nobody",
			want: sendErr{Kind: hub.SendPermanent, Reason: "bad_address", Unreachable: true},
		},
		{
			name:  "wrong token",
			token: "999:AAH-other_secret",
			want:  sendErr{Kind: hub.SendPermanent, Code: "401", Reason: "config"},
		},
		{
			name:   "server error",
			script: func(f *telegramfake.Server) { f.FailNext(1, 500, "") },
			want:   sendErr{Kind: hub.SendTransient, Code: "500", Reason: "provider_error"},
		},
		{
			name:   "bad gateway",
			script: func(f *telegramfake.Server) { f.FailNext(1, 502, "Bad Gateway") },
			want:   sendErr{Kind: hub.SendTransient, Code: "502", Reason: "provider_error"},
		},
		{
			name:   "provider down",
			script: func(f *telegramfake.Server) { f.SetDown(true) },
			want:   sendErr{Kind: hub.SendTransient, Reason: "provider_down"},
		},
		{
			name:   "timeout after write",
			opt:    telegram.Options{Timeout: 100 * time.Millisecond},
			script: func(f *telegramfake.Server) { f.SetDelay(5 * time.Second) },
			want:   sendErr{Kind: hub.SendTransient, Reason: "timeout", MaybeSent: true},
		},
		{
			name:   "connection refused",
			script: func(f *telegramfake.Server) { f.Close() },
			want:   sendErr{Kind: hub.SendTransient, Reason: "provider_down"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := telegramfake.New()
			t.Cleanup(fake.Close)
			fake.AddBot(token, username)
			tok := token
			if tt.token != "" {
				tok = tt.token
			}
			opt := tt.opt
			opt.BaseURL = fake.URL
			s, err := telegram.New(config(nil, map[string]string{"bot_token": tok}), opt)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			to := "42"
			if tt.script != nil {
				tt.script(fake)
			}
			if tt.to == "second" {
				// The first message uses up the chat's allowance.
				if _, err := s.Send(context.Background(), hub.Message{To: to, Text: "first"}); err != nil {
					t.Fatalf("first Send: %v", err)
				}
			} else if tt.to != "" {
				to = tt.to
			}
			_, err = s.Send(context.Background(), hub.Message{To: to, Text: "hello"})
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if diff := cmp.Diff(tt.want, project(t, err)); diff != "" {
				t.Errorf("SendError (-want +got):\n%s\nerror: %v", diff, err)
			}
			if strings.Contains(err.Error(), "AAH") {
				t.Errorf("error %q leaks the token", err)
			}
		})
	}
}

func TestSendUnreadableAnswers(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   sendErr
	}{
		{"HTML 502 from a proxy", 502, "<html>Bad Gateway</html>", sendErr{Kind: hub.SendTransient, Code: "502", Reason: "provider_error"}},
		{"truncated success", 200, `{"ok":true,"result":{"message_id":`, sendErr{Kind: hub.SendTransient, Code: "200", Reason: "provider_error", MaybeSent: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			t.Cleanup(srv.Close)
			s, err := telegram.New(config(nil, nil), telegram.Options{BaseURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Send(context.Background(), hub.Message{To: "42", Text: "hi"})
			if diff := cmp.Diff(tt.want, project(t, err)); diff != "" {
				t.Errorf("SendError (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSendHonoursCallerContext(t *testing.T) {
	s, fake := fixture(t, telegram.Options{})
	fake.SetDelay(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Send(ctx, hub.Message{To: "42", Text: "hi"})
	if time.Since(start) > 2*time.Second {
		t.Fatalf("Send took %v after the context ended", time.Since(start))
	}
	want := sendErr{Kind: hub.SendTransient, Reason: "timeout", MaybeSent: true}
	if diff := cmp.Diff(want, project(t, err)); diff != "" {
		t.Errorf("SendError (-want +got):\n%s", diff)
	}
}

func TestLimits(t *testing.T) {
	s, err := telegram.New(config(map[string]string{"rate_per_second": "25", "chat_rate_per_second": "0.5"}, nil), telegram.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []hub.RateLimit{
		{Key: "telegram:123456", PerSecond: 25, Burst: 1},
		{Key: "telegram:123456:42", PerSecond: 0.5, Burst: 1},
	}
	if diff := cmp.Diff(want, s.Limits(hub.Message{To: "42"})); diff != "" {
		t.Errorf("Limits (-want +got):\n%s", diff)
	}
	def, _ := telegram.New(config(nil, nil), telegram.Options{})
	got := def.Limits(hub.Message{To: "7"})
	if got[0].PerSecond != 30 || got[1].PerSecond != 1 {
		t.Errorf("default rates = %v, %v; want 30, 1", got[0].PerSecond, got[1].PerSecond)
	}
	for _, l := range got {
		if strings.Contains(l.Key, "AAH") {
			t.Errorf("limit key %q contains the token", l.Key)
		}
	}
}

func TestLinkURL(t *testing.T) {
	s, _ := telegram.New(config(map[string]string{"bot_username": "@" + username}, nil), telegram.Options{})
	if got, want := s.LinkURL("tok_ABC-1"), "https://t.me/loyalty_bot?start=tok_ABC-1"; got != want {
		t.Errorf("LinkURL = %q, want %q", got, want)
	}
}

func TestEscapeHTML(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a < b > c & d", "a &lt; b &gt; c &amp; d"},
		{"&amp;", "&amp;amp;"},
		{`"quotes" and 'apostrophes'`, `"quotes" and 'apostrophes'`},
		{"<b>not bold</b>", "&lt;b&gt;not bold&lt;/b&gt;"},
		{"юнікод 🎉", "юнікод 🎉"},
	}
	for _, tt := range tests {
		if got := telegram.EscapeHTML(tt.in); got != tt.want {
			t.Errorf("EscapeHTML(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSetWebhookSendsSecret(t *testing.T) {
	s, fake := fixture(t, telegram.Options{})
	if err := s.SetWebhook(context.Background(), "https://hub.example/v1/inbound/telegram/biz_1"); err != nil {
		t.Fatalf("SetWebhook: %v", err)
	}
	want := &telegramfake.Webhook{URL: "https://hub.example/v1/inbound/telegram/biz_1", SecretToken: secret,
		AllowedUpdates: []string{"message", "my_chat_member"}}
	if diff := cmp.Diff(want, fake.Webhook(token)); diff != "" {
		t.Errorf("webhook (-want +got):\n%s", diff)
	}
	if err := s.DeleteWebhook(context.Background()); err != nil {
		t.Fatalf("DeleteWebhook: %v", err)
	}
	if w := fake.Webhook(token); w != nil {
		t.Errorf("webhook after DeleteWebhook = %+v, want none", w)
	}
}
