package walletpush_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/7loc/hub/channels/walletpush"
	"github.com/7loc/hub/channels/walletpush/apnsfake"
	"github.com/7loc/hub/channels/walletpush/googlefake"
	"github.com/7loc/hub/hub"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// wantErr is the expected classification of a Send error.
type wantErr struct {
	Kind        hub.SendErrorKind
	Code        string
	Reason      string
	Unreachable bool
	MaybeSent   bool
	Scope       string
	RetryAfter  time.Duration
}

func checkErr(t *testing.T, err error, want *wantErr) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("Send succeeded, want %+v", *want)
	}
	se := sendErr(t, err)
	got := wantErr{se.Kind, se.Code, se.Reason, se.Unreachable, se.MaybeSent, se.Scope, se.RetryAfter}
	if d := cmp.Diff(*want, got); d != "" {
		t.Errorf("error %v (-want +got):\n%s", err, d)
	}
}

func TestSendAPNs(t *testing.T) {
	tok1, tok2 := apnsfake.NewToken(), apnsfake.NewToken()
	two := []hub.PassDevice{{DeviceID: "dev1", PushToken: tok1}, {DeviceID: "dev2", PushToken: tok2}}
	tests := []struct {
		name     string
		script   func(a *apnsfake.Server)
		devices  []hub.PassDevice
		timeout  time.Duration
		want     *wantErr
		wantGone []string
		accepted int
	}{
		{name: "success", devices: two, accepted: 2},
		{name: "one unregistered", script: func(a *apnsfake.Server) { a.Unregister(tok2) }, devices: two,
			wantGone: []string{"dev2"}, accepted: 1},
		{name: "all gone is success", script: func(a *apnsfake.Server) {
			a.Unregister(tok1)
			a.SetToken(tok2, http.StatusBadRequest, apnsfake.ReasonBadDeviceToken)
		}, devices: two, wantGone: []string{"dev1", "dev2"}},
		{name: "token not for topic is gone", script: func(a *apnsfake.Server) {
			a.SetToken(tok1, http.StatusBadRequest, apnsfake.ReasonDeviceTokenNotForTopic)
		}, devices: two[:1], wantGone: []string{"dev1"}},
		{name: "same token under two ids", script: func(a *apnsfake.Server) { a.Unregister(tok1) },
			devices: []hub.PassDevice{{DeviceID: "a", PushToken: tok1}, {DeviceID: "b", PushToken: tok1}}, wantGone: []string{"a", "b"}},
		{name: "rate limited", script: func(a *apnsfake.Server) { a.RateLimitNext(2) }, devices: two,
			want: &wantErr{Kind: hub.SendRateLimited, Code: "TooManyRequests", Reason: "rate_limited", Scope: hub.ScopeRecipient, RetryAfter: time.Minute}},
		{name: "one rate limited one ok", script: func(a *apnsfake.Server) { a.RateLimitNext(1) }, devices: two, accepted: 1},
		{name: "server error", script: func(a *apnsfake.Server) { a.FailNext(2, 500, apnsfake.ReasonInternalServerError) }, devices: two,
			want: &wantErr{Kind: hub.SendTransient, Code: "InternalServerError", Reason: "provider_error"}},
		{name: "unavailable", script: func(a *apnsfake.Server) { a.FailNext(1, 503, apnsfake.ReasonServiceUnavailable) }, devices: two[:1],
			want: &wantErr{Kind: hub.SendTransient, Code: "ServiceUnavailable", Reason: "provider_down"}},
		{name: "bad certificate", script: func(a *apnsfake.Server) { a.FailNext(1, 403, apnsfake.ReasonBadCertificate) }, devices: two,
			want: &wantErr{Kind: hub.SendPermanent, Code: "BadCertificate", Reason: "config"}},
		{name: "down", script: func(a *apnsfake.Server) { a.SetDown(true) }, devices: two,
			want: &wantErr{Kind: hub.SendTransient, Reason: "provider_down"}},
		{name: "slow", script: func(a *apnsfake.Server) { a.SetDelay(3 * time.Second) }, devices: two[:1], timeout: 300 * time.Millisecond,
			want: &wantErr{Kind: hub.SendTransient, Reason: "timeout"}},
		{name: "no push token", devices: []hub.PassDevice{{DeviceID: "dev1"}},
			want: &wantErr{Kind: hub.SendPermanent, Reason: "no_device"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.script != nil {
				tt.script(e.apns)
			}
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 10 * time.Second
			}
			rc, err := e.s.Send(ctxTimeout(t, timeout), hub.Message{DeliveryID: "dlv_1", Channel: hub.ChannelPush, To: "crd_1", Text: "x", Devices: tt.devices})
			checkErr(t, err, tt.want)
			if d := cmp.Diff(tt.wantGone, rc.GoneDevices, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("GoneDevices (-want +got):\n%s", d)
			}
			acc := e.apns.Accepted()
			if len(acc) != tt.accepted {
				t.Fatalf("accepted %d pushes, want %d", len(acc), tt.accepted)
			}
			if tt.accepted > 0 && rc.ProviderMessageID != acc[0].ApnsID {
				t.Errorf("ProviderMessageID %q, want apns-id %q", rc.ProviderMessageID, acc[0].ApnsID)
			}
			for _, p := range acc {
				got := []string{p.Topic, p.PushType, p.Priority, string(p.Payload), p.CertTopic}
				want := []string{testPassType, "background", "5", "{}", testPassType}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("push (-want +got):\n%s", d)
				}
				if p.Expiration == "" {
					t.Error("no apns-expiration")
				}
			}
		})
	}
}

func TestSendGoogle(t *testing.T) {
	google := []hub.PassDevice{{DeviceID: walletpush.GoogleDeviceID}}
	tests := []struct {
		name    string
		script  func(g *googlefake.Server)
		timeout time.Duration
		want    *wantErr
		msgs    int
	}{
		{name: "success", msgs: 1},
		{name: "not saved", script: func(g *googlefake.Server) { g.MarkMissing(g.IssuerID() + ".crd_1") },
			want: &wantErr{Kind: hub.SendPermanent, Code: "404", Reason: "bad_address", Unreachable: true}},
		{name: "rate limited", script: func(g *googlefake.Server) { g.RateLimitNext(1, 7*time.Second) },
			want: &wantErr{Kind: hub.SendRateLimited, Code: "429", Reason: "rate_limited", Scope: hub.ScopeSender, RetryAfter: 7 * time.Second}},
		{name: "permission denied", script: func(g *googlefake.Server) {
			g.FailNext(1, googlefake.Failure{Code: 403, Status: "PERMISSION_DENIED", Message: "The caller does not have permission"})
		}, want: &wantErr{Kind: hub.SendPermanent, Code: "403", Reason: "config"}},
		{name: "bad request", script: func(g *googlefake.Server) {
			g.FailNext(1, googlefake.Failure{Code: 400, Status: "INVALID_ARGUMENT", Message: "bad"})
		}, want: &wantErr{Kind: hub.SendPermanent, Code: "400", Reason: "provider_error"}},
		{name: "duplicate id is success", script: func(g *googlefake.Server) {
			g.FailNext(1, googlefake.Failure{Code: 409, Status: "ALREADY_EXISTS", Message: "exists"})
		}},
		{name: "server error", script: func(g *googlefake.Server) {
			g.FailNext(1, googlefake.Failure{Code: 500, Status: "INTERNAL", Message: "Internal error encountered."})
		}, want: &wantErr{Kind: hub.SendTransient, Code: "500", Reason: "provider_error"}},
		{name: "unavailable", script: func(g *googlefake.Server) {
			g.FailNext(1, googlefake.Failure{Code: 503, Status: "UNAVAILABLE", Message: "The service is currently unavailable."})
		}, want: &wantErr{Kind: hub.SendTransient, Code: "503", Reason: "provider_down"}},
		{name: "token refused", script: func(g *googlefake.Server) {
			g.FailTokenNext(1, googlefake.TokenFailure{Status: 400, Error: "invalid_grant", Description: "Invalid JWT Signature."})
		}, want: &wantErr{Kind: hub.SendPermanent, Code: "invalid_grant", Reason: "config"}},
		{name: "token endpoint down", script: func(g *googlefake.Server) {
			g.FailTokenNext(1, googlefake.TokenFailure{Status: 503, Error: "temporarily_unavailable"})
		}, want: &wantErr{Kind: hub.SendTransient, Code: "temporarily_unavailable", Reason: "provider_error"}},
		{name: "down", script: func(g *googlefake.Server) { g.SetDown(true) },
			want: &wantErr{Kind: hub.SendTransient, Reason: "provider_down"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.script != nil {
				tt.script(e.google)
			}
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 10 * time.Second
			}
			m := hub.Message{DeliveryID: "dlv_1", Channel: hub.ChannelPush, To: "crd_1", Subject: "Coffee Corner", Text: "2 for 1 today", Devices: google}
			rc, err := e.s.Send(ctxTimeout(t, timeout), m)
			checkErr(t, err, tt.want)
			msgs := e.google.Messages()
			if len(msgs) != tt.msgs {
				t.Fatalf("%d messages, want %d", len(msgs), tt.msgs)
			}
			if tt.msgs == 1 {
				want := googlefake.Message{ObjectID: e.google.IssuerID() + ".crd_1", Header: "Coffee Corner", Body: "2 for 1 today", ID: "dlv_1", MessageType: "TEXT_AND_NOTIFY"}
				if d := cmp.Diff(want, msgs[0], cmpopts.IgnoreFields(googlefake.Message{}, "At")); d != "" {
					t.Errorf("message (-want +got):\n%s", d)
				}
				if rc.ProviderMessageID != "dlv_1" {
					t.Errorf("ProviderMessageID = %q", rc.ProviderMessageID)
				}
			}
		})
	}
}

func TestSendGoogleTimeoutMaybeSent(t *testing.T) {
	e := newEnv(t)
	// A first send caches the token, so only the message is slow.
	m := hub.Message{DeliveryID: "dlv_1", Channel: hub.ChannelPush, To: "crd_1", Text: "hi", Devices: []hub.PassDevice{{DeviceID: "google"}}}
	if _, err := e.s.Send(ctxTimeout(t, 10*time.Second), m); err != nil {
		t.Fatal(err)
	}
	e.google.SetDelay(3 * time.Second)
	_, err := e.s.Send(ctxTimeout(t, 300*time.Millisecond), m)
	checkErr(t, err, &wantErr{Kind: hub.SendTransient, Reason: "timeout", MaybeSent: true})
}

func TestSendGoogleTokenReuseAndRefresh(t *testing.T) {
	e := newEnv(t)
	m := hub.Message{DeliveryID: "dlv_1", Channel: hub.ChannelPush, To: "crd_1", Text: "hi", Devices: []hub.PassDevice{{DeviceID: "google"}}}
	for i := range 3 {
		if _, err := e.s.Send(ctxTimeout(t, 10*time.Second), m); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if n := e.google.TokenCalls(); n != 1 {
		t.Errorf("%d token calls for 3 sends, want 1", n)
	}
	// A token revoked early: one 401, a fresh token, success.
	e.google.ExpireTokens()
	if _, err := e.s.Send(ctxTimeout(t, 10*time.Second), m); err != nil {
		t.Fatal(err)
	}
	if n, calls := e.google.TokenCalls(), e.google.APICalls(); n != 2 || calls != 5 {
		t.Errorf("token calls %d, API calls %d; want 2, 5", n, calls)
	}
	if got := len(e.google.Messages()); got != 4 {
		t.Errorf("%d messages, want 4", got)
	}
}

func TestSendMixed(t *testing.T) {
	tok := apnsfake.NewToken()
	both := []hub.PassDevice{{DeviceID: "dev1", PushToken: tok}, {DeviceID: "google"}}
	tests := []struct {
		name     string
		script   func(e *env)
		devices  []hub.PassDevice
		want     *wantErr
		wantGone []string
	}{
		{name: "both reached", devices: both},
		{name: "apple ok google down", script: func(e *env) {
			e.google.FailNext(1, googlefake.Failure{Code: 500, Status: "INTERNAL"})
		}, devices: both},
		{name: "apple down google ok", script: func(e *env) { e.apns.SetDown(true) }, devices: both},
		{name: "apple gone google ok", script: func(e *env) { e.apns.Unregister(tok) }, devices: both, wantGone: []string{"dev1"}},
		{name: "apple gone google transient", script: func(e *env) {
			e.apns.Unregister(tok)
			e.google.FailNext(1, googlefake.Failure{Code: 503, Status: "UNAVAILABLE"})
		}, devices: both, want: &wantErr{Kind: hub.SendTransient, Code: "503", Reason: "provider_down"}},
		{name: "rate limit wins over transient", script: func(e *env) {
			e.apns.FailNext(1, 500, apnsfake.ReasonInternalServerError)
			e.google.RateLimitNext(1, 0)
		}, devices: both, want: &wantErr{Kind: hub.SendRateLimited, Code: "429", Reason: "rate_limited", Scope: hub.ScopeSender, RetryAfter: 30 * time.Second}},
		{name: "transient wins over permanent", script: func(e *env) {
			e.apns.FailNext(1, 500, apnsfake.ReasonInternalServerError)
			e.google.MarkMissing(e.google.IssuerID() + ".crd_1")
		}, devices: both, want: &wantErr{Kind: hub.SendTransient, Code: "InternalServerError", Reason: "provider_error"}},
		{name: "no devices", devices: nil, want: &wantErr{Kind: hub.SendPermanent, Reason: "no_device"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.script != nil {
				tt.script(e)
			}
			rc, err := e.s.Send(ctxTimeout(t, 10*time.Second), hub.Message{DeliveryID: "dlv_1", Channel: hub.ChannelPush, To: "crd_1", Text: "hi", Devices: tt.devices})
			checkErr(t, err, tt.want)
			if d := cmp.Diff(tt.wantGone, rc.GoneDevices, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("GoneDevices (-want +got):\n%s", d)
			}
		})
	}
}

func TestSendNotConfigured(t *testing.T) {
	s := googleOnly(t)
	_, err := s.Send(ctxTimeout(t, 5*time.Second), hub.Message{To: "crd_1", Text: "x", Devices: []hub.PassDevice{{DeviceID: "d", PushToken: "aa"}}})
	checkErr(t, err, &wantErr{Kind: hub.SendPermanent, Reason: "config"})

	a := apnsfake.New()
	defer a.Close()
	apple, err := walletpush.New(appleConfig(testChain(t)), options(a, nil))
	if err != nil {
		t.Fatal(err)
	}
	_, err = apple.Send(ctxTimeout(t, 5*time.Second), hub.Message{To: "crd_1", Text: "x", Devices: []hub.PassDevice{{DeviceID: "google"}}})
	checkErr(t, err, &wantErr{Kind: hub.SendPermanent, Reason: "config"})
}

func TestSendAPNsUntrusted(t *testing.T) {
	// A server the client does not trust: a TLS failure is transient.
	a := apnsfake.New()
	defer a.Close()
	s, err := walletpush.New(appleConfig(testChain(t)), walletpush.Options{APNsURL: a.URL()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(ctxTimeout(t, 5*time.Second), hub.Message{To: "crd_1", Devices: []hub.PassDevice{{DeviceID: "d", PushToken: apnsfake.NewToken()}}})
	if se := sendErr(t, err); se.Kind != hub.SendTransient {
		t.Errorf("err = %v, want transient", err)
	}
}
