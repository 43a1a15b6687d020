package email_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/7loc/hub/channels/email"
	"github.com/7loc/hub/channels/email/emailfake"
	"github.com/7loc/hub/hub"
)

var fixedNow = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

func newSender(t *testing.T, f *emailfake.Server, opt email.Options, tweak func(*hub.ChannelConfig)) *email.Sender {
	t.Helper()
	cfg := f.ChannelConfig("biz_1")
	if tweak != nil {
		tweak(cfg)
	}
	if opt.TLSConfig == nil {
		opt.TLSConfig = f.ClientTLSConfig()
	}
	if opt.Now == nil {
		opt.Now = func() time.Time { return fixedNow }
	}
	s, err := email.New(cfg, opt)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func message(id, to string) hub.Message {
	return hub.Message{
		DeliveryID: id,
		BusinessID: "biz_1",
		CustomerID: "cus_1",
		Channel:    hub.ChannelEmail,
		To:         to,
		Language:   "de",
		Subject:    "Your reward is ready",
		Text:       "Hello!\nYou have 120 points.",
	}
}

// sendErr asserts err is a *hub.SendError and returns it.
func sendErr(t *testing.T, err error) *hub.SendError {
	t.Helper()
	if err == nil {
		t.Fatal("Send succeeded, want an error")
	}
	var se *hub.SendError
	if !errors.As(err, &se) {
		t.Fatalf("error %T %v is not a *hub.SendError", err, err)
	}
	return se
}

var ignoreErr = cmpopts.IgnoreFields(hub.SendError{}, "Err")

func TestSendComposesTheMessage(t *testing.T) {
	type part struct{ MediaType, Parent, Body string }
	tests := []struct {
		name       string
		msg        func(hub.Message) hub.Message
		wantHeader map[string]string // "" means absent
		wantParts  []part
	}{
		{
			name: "html and one-click unsubscribe",
			msg: func(m hub.Message) hub.Message {
				m.HTML = "<p>Hello!</p>"
				m.UnsubscribeURL = "https://hub.example/u/tok_1?c=email"
				return m
			},
			wantHeader: map[string]string{
				"From":                  `"Shop" <noreply@shop.example>`,
				"To":                    "<anna@example.org>",
				"Subject":               "Your reward is ready",
				"Message-ID":            "<dlv_01@shop.example>",
				"X-Hub-Delivery":        "dlv_01",
				"Content-Language":      "de",
				"Date":                  "Fri, 14 Mar 2025 09:26:53 +0000",
				"List-Unsubscribe":      "<https://hub.example/u/tok_1?c=email>",
				"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
				"MIME-Version":          "1.0",
			},
			wantParts: []part{
				{"text/plain", "multipart/alternative", "Hello!\r\nYou have 120 points."},
				{"text/html", "multipart/alternative", "<p>Hello!</p>"},
			},
		},
		{
			name: "text only, no unsubscribe, no language",
			msg: func(m hub.Message) hub.Message {
				m.Language = ""
				return m
			},
			wantHeader: map[string]string{
				"Message-ID":            "<dlv_01@shop.example>",
				"Content-Language":      "",
				"List-Unsubscribe":      "",
				"List-Unsubscribe-Post": "",
			},
			wantParts: []part{{"text/plain", "", "Hello!\r\nYou have 120 points."}},
		},
		{
			name: "http unsubscribe URL gets no one-click header",
			msg: func(m hub.Message) hub.Message {
				m.UnsubscribeURL = "http://localhost:8080/u/tok_1"
				return m
			},
			wantHeader: map[string]string{
				"List-Unsubscribe":      "<http://localhost:8080/u/tok_1>",
				"List-Unsubscribe-Post": "",
			},
			wantParts: []part{{"text/plain", "", "Hello!\r\nYou have 120 points."}},
		},
		{
			name: "subject line breaks and non-ASCII",
			msg: func(m hub.Message) hub.Message {
				m.Subject = "Grüße\r\nBcc: evil@example.org"
				return m
			},
			wantHeader: map[string]string{"Subject": "Grüße Bcc: evil@example.org", "Bcc": ""},
			wantParts:  []part{{"text/plain", "", "Hello!\r\nYou have 120 points."}},
		},
	}
	f := emailfake.Start(t, emailfake.Options{})
	s := newSender(t, f, email.Options{}, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.Reset()
			rcpt, err := s.Send(context.Background(), tt.msg(message("dlv_01", "anna@example.org")))
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if diff := cmp.Diff(hub.Receipt{ProviderMessageID: "<dlv_01@shop.example>"}, rcpt); diff != "" {
				t.Errorf("receipt (-want +got):\n%s", diff)
			}
			msgs := f.Messages()
			if len(msgs) != 1 {
				t.Fatalf("server got %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if m.From != "noreply@shop.example" || !cmp.Equal(m.To, []string{"anna@example.org"}) {
				t.Errorf("envelope = %q -> %q", m.From, m.To)
			}
			got := map[string]string{}
			for k := range tt.wantHeader {
				got[k] = m.Header.Get(k)
				if k == "Subject" {
					if dec, err := decodeHeader(got[k]); err == nil {
						got[k] = dec
					}
				}
			}
			if diff := cmp.Diff(tt.wantHeader, got); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
			parts, err := m.Parts()
			if err != nil {
				t.Fatalf("Parts: %v", err)
			}
			var gotParts []part
			for _, p := range parts {
				gotParts = append(gotParts, part{p.MediaType, p.Parent, p.Body})
			}
			if diff := cmp.Diff(tt.wantParts, gotParts); diff != "" {
				t.Errorf("parts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name   string
		script func(*emailfake.Server)
		want   hub.SendError
	}{
		{
			name: "550 no such user",
			script: func(f *emailfake.Server) {
				f.RejectRcpt("anna@example.org", emailfake.NoSuchUser())
			},
			want: hub.SendError{Kind: hub.SendPermanent, Code: "550 5.1.1", Reason: "bad_address", Unreachable: true},
		},
		{
			name: "553 mailbox name not allowed",
			script: func(f *emailfake.Server) {
				f.RejectRcpt("ANNA@example.org", emailfake.Failure{Code: 553, Enhanced: "5.1.3", Message: "Bad recipient address syntax"})
			},
			want: hub.SendError{Kind: hub.SendPermanent, Code: "553 5.1.3", Reason: "bad_address", Unreachable: true},
		},
		{
			name: "550 5.7.1 policy refusal on RCPT is not unreachable",
			script: func(f *emailfake.Server) {
				f.RejectRcpt("anna@example.org", emailfake.Failure{Code: 550, Enhanced: "5.7.1", Message: "Relaying denied"})
			},
			want: hub.SendError{Kind: hub.SendPermanent, Code: "550 5.7.1", Reason: "rejected"},
		},
		{
			name: "552 mailbox full",
			script: func(f *emailfake.Server) {
				f.RejectRcpt("anna@example.org", emailfake.Failure{Code: 552, Enhanced: "5.2.2", Message: "Mailbox full"})
			},
			want: hub.SendError{Kind: hub.SendPermanent, Code: "552 5.2.2", Reason: "rejected"},
		},
		{
			name:   "451 on MAIL",
			script: func(f *emailfake.Server) { f.FailNext(1, emailfake.Temporary()) },
			want:   hub.SendError{Kind: hub.SendTransient, Code: "451 4.3.0", Reason: "provider_error"},
		},
		{
			name: "452 on RCPT",
			script: func(f *emailfake.Server) {
				f.FailNext(1, emailfake.Failure{Stage: emailfake.StageRcpt, Code: 452, Enhanced: "4.2.2", Message: "Mailbox full, try later"})
			},
			want: hub.SendError{Kind: hub.SendTransient, Code: "452 4.2.2", Reason: "provider_error"},
		},
		{
			name:   "421 rate limit",
			script: func(f *emailfake.Server) { f.FailNext(1, emailfake.RateLimit()) },
			want: hub.SendError{Kind: hub.SendRateLimited, Code: "421 4.7.0", Reason: "rate_limited",
				RetryAfter: email.DefaultRetryAfter, Scope: hub.ScopeSender},
		},
		{
			name: "421 too many connections at the greeting, with a pause",
			script: func(f *emailfake.Server) {
				f.FailNext(1, emailfake.Failure{Stage: emailfake.StageConnect, Code: 421, Enhanced: "4.7.0",
					Message: "Too many concurrent connections, try again in 5 minutes"})
			},
			want: hub.SendError{Kind: hub.SendRateLimited, Code: "421 4.7.0", Reason: "rate_limited",
				RetryAfter: 5 * time.Minute, Scope: hub.ScopeSender},
		},
		{
			name: "421 shutting down at the greeting",
			script: func(f *emailfake.Server) {
				f.FailNext(1, emailfake.Failure{Stage: emailfake.StageConnect, Code: 421, Enhanced: "4.3.2", Message: "Service shutting down"})
			},
			want: hub.SendError{Kind: hub.SendTransient, Code: "421 4.3.2", Reason: "provider_error"},
		},
		{
			name: "450 4.2.1 recipient receiving too fast",
			script: func(f *emailfake.Server) {
				f.FailNext(1, emailfake.Failure{Stage: emailfake.StageRcpt, Code: 450, Enhanced: "4.2.1",
					Message: "The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered"})
			},
			want: hub.SendError{Kind: hub.SendRateLimited, Code: "450 4.2.1", Reason: "rate_limited",
				RetryAfter: email.DefaultRetryAfter, Scope: hub.ScopeRecipient},
		},
		{
			name: "554 after DATA",
			script: func(f *emailfake.Server) {
				f.FailNext(1, emailfake.Failure{Stage: emailfake.StageData, Code: 554, Enhanced: "5.6.0", Message: "Message content rejected"})
			},
			want: hub.SendError{Kind: hub.SendPermanent, Code: "554 5.6.0", Reason: "rejected"},
		},
		{
			name: "451 after DATA is an answer, not maybe sent",
			script: func(f *emailfake.Server) {
				f.FailNext(1, emailfake.Failure{Stage: emailfake.StageData, Code: 451, Enhanced: "4.3.0", Message: "Queue full"})
			},
			want: hub.SendError{Kind: hub.SendTransient, Code: "451 4.3.0", Reason: "provider_error"},
		},
		{
			name: "553 sender rejected on MAIL",
			script: func(f *emailfake.Server) {
				f.FailNext(1, emailfake.Failure{Stage: emailfake.StageMail, Code: 553, Enhanced: "5.7.1", Message: "Sender address rejected: not owned by user"})
			},
			want: hub.SendError{Kind: hub.SendPermanent, Code: "553 5.7.1", Reason: "rejected"},
		},
	}
	f := emailfake.Start(t, emailfake.Options{})
	s := newSender(t, f, email.Options{Timeout: 5 * time.Second}, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.Reset()
			tt.script(f)
			_, err := s.Send(context.Background(), message("dlv_02", "anna@example.org"))
			se := sendErr(t, err)
			if diff := cmp.Diff(tt.want, *se, ignoreErr); diff != "" {
				t.Errorf("SendError (-want +got):\n%s\nerror: %v", diff, se)
			}
			if n := len(f.Messages()); n != 0 {
				t.Errorf("server recorded %d messages, want 0", n)
			}
			// The failure was used up: the next send goes through.
			f.Reset()
			if _, err := s.Send(context.Background(), message("dlv_03", "anna@example.org")); err != nil {
				t.Errorf("next Send: %v", err)
			}
		})
	}
}

func TestSendTimeoutAfterDataMaybeSent(t *testing.T) {
	tests := []struct {
		name string
		opt  email.Options
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{
			name: "session timeout",
			opt:  email.Options{Timeout: 300 * time.Millisecond},
			ctx:  func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
		},
		{
			name: "context deadline",
			opt:  email.Options{Timeout: 10 * time.Second},
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 300*time.Millisecond)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := emailfake.Start(t, emailfake.Options{})
			f.SetDataDelay(5 * time.Second)
			s := newSender(t, f, tt.opt, nil)
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			_, err := s.Send(ctx, message("dlv_04", "anna@example.org"))
			se := sendErr(t, err)
			want := hub.SendError{Kind: hub.SendTransient, Reason: "timeout", MaybeSent: true}
			if diff := cmp.Diff(want, *se, ignoreErr); diff != "" {
				t.Errorf("SendError (-want +got):\n%s\nerror: %v", diff, se)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Send took %v, want about 300ms", d)
			}
			if n := len(f.Messages()); n != 1 {
				t.Errorf("server recorded %d messages, want 1 (it did accept the data)", n)
			}
		})
	}
}

func TestSendProviderDown(t *testing.T) {
	f := emailfake.Start(t, emailfake.Options{})
	s := newSender(t, f, email.Options{Timeout: 2 * time.Second}, nil)
	if err := f.SetDown(true); err != nil {
		t.Fatal(err)
	}
	_, err := s.Send(context.Background(), message("dlv_05", "anna@example.org"))
	se := sendErr(t, err)
	if diff := cmp.Diff(hub.SendError{Kind: hub.SendTransient, Reason: "provider_down"}, *se, ignoreErr); diff != "" {
		t.Errorf("SendError (-want +got):\n%s\nerror: %v", diff, se)
	}
	if err := f.SetDown(false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(context.Background(), message("dlv_05", "anna@example.org")); err != nil {
		t.Errorf("Send after the server came back: %v", err)
	}
}

func TestSendNothingListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cfg := &hub.ChannelConfig{Provider: hub.ChannelEmail, Settings: map[string]string{
		"host": "127.0.0.1", "port": strconv.Itoa(port), "from": "noreply@shop.example", "tls": "none"}}
	s, err := email.New(cfg, email.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), message("dlv_06", "anna@example.org"))
	se := sendErr(t, err)
	if diff := cmp.Diff(hub.SendError{Kind: hub.SendTransient, Reason: "provider_down"}, *se, ignoreErr); diff != "" {
		t.Errorf("SendError (-want +got):\n%s\nerror: %v", diff, se)
	}
}

func TestSendTLSAndAuth(t *testing.T) {
	tests := []struct {
		name    string
		fake    emailfake.Options
		tweak   func(*hub.ChannelConfig)
		opt     email.Options
		wantErr *hub.SendError
	}{
		{
			name: "starttls and auth plain",
			fake: emailfake.Options{StartTLS: true, Username: "shop", Password: "s3cret"},
		},
		{
			name: "implicit tls and auth plain",
			fake: emailfake.Options{ImplicitTLS: true, Username: "shop", Password: "s3cret"},
		},
		{
			name: "starttls without auth",
			fake: emailfake.Options{StartTLS: true},
		},
		{
			name:  "auth in clear text to the loopback",
			fake:  emailfake.Options{Username: "shop", Password: "s3cret"},
			tweak: func(c *hub.ChannelConfig) { c.Settings["tls"] = "none" },
		},
		{
			name:    "wrong password",
			fake:    emailfake.Options{StartTLS: true, Username: "shop", Password: "s3cret"},
			tweak:   func(c *hub.ChannelConfig) { c.Secrets["password"] = "wrong" },
			wantErr: &hub.SendError{Kind: hub.SendPermanent, Code: "535 5.7.8", Reason: "config"},
		},
		{
			name:    "auth required but no username configured",
			fake:    emailfake.Options{StartTLS: true, Username: "shop", Password: "s3cret"},
			tweak:   func(c *hub.ChannelConfig) { delete(c.Settings, "username") },
			wantErr: &hub.SendError{Kind: hub.SendPermanent, Code: "530 5.7.0", Reason: "config"},
		},
		{
			name:    "untrusted certificate",
			fake:    emailfake.Options{StartTLS: true},
			opt:     email.Options{TLSConfig: &tls0},
			wantErr: &hub.SendError{Kind: hub.SendPermanent, Reason: "config"},
		},
		{
			name:    "untrusted certificate, implicit tls",
			fake:    emailfake.Options{ImplicitTLS: true},
			opt:     email.Options{TLSConfig: &tls0},
			wantErr: &hub.SendError{Kind: hub.SendPermanent, Reason: "config"},
		},
		{
			name: "username set but the server offers no AUTH",
			fake: emailfake.Options{StartTLS: true},
			tweak: func(c *hub.ChannelConfig) {
				c.Settings["username"] = "shop"
				c.Secrets["password"] = "s3cret"
			},
			wantErr: &hub.SendError{Kind: hub.SendPermanent, Reason: "config"},
		},
		{
			name:    "starttls required but not offered",
			fake:    emailfake.Options{},
			tweak:   func(c *hub.ChannelConfig) { c.Settings["tls"] = "starttls" },
			wantErr: &hub.SendError{Kind: hub.SendPermanent, Reason: "config"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := emailfake.Start(t, tt.fake)
			opt := tt.opt
			opt.Timeout = 5 * time.Second
			s := newSender(t, f, opt, tt.tweak)
			_, err := s.Send(context.Background(), message("dlv_07", "anna@example.org"))
			if tt.wantErr != nil {
				se := sendErr(t, err)
				if diff := cmp.Diff(*tt.wantErr, *se, ignoreErr); diff != "" {
					t.Errorf("SendError (-want +got):\n%s\nerror: %v", diff, se)
				}
				return
			}
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := f.Messages()
			if len(msgs) != 1 {
				t.Fatalf("server got %d messages, want 1", len(msgs))
			}
			wantTLS := tt.fake.StartTLS || tt.fake.ImplicitTLS
			if msgs[0].TLS != wantTLS || msgs[0].AuthUser != tt.fake.Username {
				t.Errorf("session tls=%v auth=%q, want tls=%v auth=%q", msgs[0].TLS, msgs[0].AuthUser, wantTLS, tt.fake.Username)
			}
		})
	}
}

// tls0 trusts no certificate of the fake (system roots only).
var tls0 = tlsConfigSystemRoots()

func TestSendBadRecipientMakesNoConnection(t *testing.T) {
	f := emailfake.Start(t, emailfake.Options{})
	s := newSender(t, f, email.Options{}, nil)
	for _, to := range []string{"", "not an address", "anna@", "anna@example.org\r\nRCPT TO:<x@y>"} {
		_, err := s.Send(context.Background(), message("dlv_08", to))
		se := sendErr(t, err)
		want := hub.SendError{Kind: hub.SendPermanent, Reason: "bad_address", Unreachable: true}
		if diff := cmp.Diff(want, *se, ignoreErr); diff != "" {
			t.Errorf("To %q: SendError (-want +got):\n%s", to, diff)
		}
	}
	_, err := s.Send(context.Background(), hub.Message{DeliveryID: "dlv 09", To: "anna@example.org", Text: "x"})
	if se := sendErr(t, err); se.Kind != hub.SendPermanent || se.Reason != "bad_request" {
		t.Errorf("bad delivery id: %v", se)
	}
	if n := f.Connections(); n != 0 {
		t.Errorf("server saw %d connections, want 0", n)
	}
}

func TestSendConcurrently(t *testing.T) {
	f := emailfake.Start(t, emailfake.Options{StartTLS: true, Username: "shop", Password: "s3cret"})
	s := newSender(t, f, email.Options{Timeout: 10 * time.Second}, nil)
	const n = 20
	f.RejectRcpt("user7@example.org", emailfake.NoSuchUser())
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.Send(context.Background(), message(fmt.Sprintf("dlv_%02d", i), fmt.Sprintf("user%d@example.org", i)))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if i == 7 {
			if se := sendErr(t, err); se.Reason != "bad_address" {
				t.Errorf("send 7: %v", se)
			}
			continue
		}
		if err != nil {
			t.Errorf("send %d: %v", i, err)
		}
	}
	ids := map[string]bool{}
	for _, m := range f.Messages() {
		ids[m.Header.Get("Message-ID")] = true
	}
	if len(ids) != n-1 {
		t.Errorf("server got %d distinct messages, want %d", len(ids), n-1)
	}
}

func TestNew(t *testing.T) {
	base := func() *hub.ChannelConfig {
		return &hub.ChannelConfig{Provider: hub.ChannelEmail,
			Settings: map[string]string{"host": "smtp.example.com", "from": "noreply@shop.example"},
			Secrets:  map[string]string{}}
	}
	tests := []struct {
		name       string
		tweak      func(*hub.ChannelConfig)
		wantFields map[string]string // nil: valid
	}{
		{name: "minimal", tweak: func(*hub.ChannelConfig) {}},
		{name: "all fields", tweak: func(c *hub.ChannelConfig) {
			c.Settings["port"] = "465"
			c.Settings["tls"] = "tls"
			c.Settings["username"] = "shop"
			c.Secrets["password"] = "pw"
			c.Settings["from_name"] = "Café Shop"
			c.Settings["rate_per_second"] = "2.5"
		}},
		{name: "missing host and from", tweak: func(c *hub.ChannelConfig) { c.Settings = map[string]string{} },
			wantFields: map[string]string{"host": "is required", "from": "is required"}},
		{name: "bad values", tweak: func(c *hub.ChannelConfig) {
			c.Settings["port"] = "70000"
			c.Settings["from"] = "not an address"
			c.Settings["tls"] = "ssl"
			c.Settings["host"] = "smtp.example.com:25"
		}, wantFields: map[string]string{
			"port": "must be a port number", "from": "must be an email address",
			"tls": "must be starttls, tls or none", "host": "must be a host name or an IP address"}},
		{name: "password in clear text", tweak: func(c *hub.ChannelConfig) {
			c.Settings["tls"] = "none"
			c.Settings["username"] = "shop"
		}, wantFields: map[string]string{"tls": "must be starttls or tls when a username is set: the password is never sent in clear text"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base()
			tt.tweak(cfg)
			_, err := email.New(cfg, email.Options{})
			if tt.wantFields == nil {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			var he *hub.Error
			if !errors.As(err, &he) || he.Code != hub.EValidation {
				t.Fatalf("New error = %v, want validation_failed", err)
			}
			if diff := cmp.Diff(tt.wantFields, he.Fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := email.New(nil, email.Options{}); hub.ErrorCode(err) != hub.EValidation {
		t.Errorf("New(nil) = %v", err)
	}
	wrong := base()
	wrong.Provider = hub.ChannelTelegram
	if _, err := email.New(wrong, email.Options{}); hub.ErrorCode(err) != hub.EValidation {
		t.Errorf("New(telegram config) = %v", err)
	}
}

func TestLimits(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]string
		want     []hub.RateLimit
	}{
		{
			name:     "defaults, no username",
			settings: map[string]string{"host": "SMTP.example.com", "from": "a@shop.example"},
			// sha256("") = e3b0c442…
			want: []hub.RateLimit{{Key: "email:smtp.example.com:e3b0c442", PerSecond: 10, Burst: 1}},
		},
		{
			name:     "username and rate",
			settings: map[string]string{"host": "smtp.example.com", "from": "a@shop.example", "username": "shop", "rate_per_second": "3"},
			want:     []hub.RateLimit{{Key: "email:smtp.example.com:" + sha8("shop"), PerSecond: 3, Burst: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := email.New(&hub.ChannelConfig{Provider: hub.ChannelEmail, Settings: tt.settings,
				Secrets: map[string]string{"password": "pw"}}, email.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, s.Limits(message("dlv_1", "a@b.example"))); diff != "" {
				t.Errorf("Limits (-want +got):\n%s", diff)
			}
		})
	}
}
