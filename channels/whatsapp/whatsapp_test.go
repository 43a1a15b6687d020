package whatsapp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/7loc/hub/channels/whatsapp"
	"github.com/7loc/hub/channels/whatsapp/whatsappfake"
	"github.com/7loc/hub/hub"
)

var now = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

const customer = "+380671234567"

// setup starts a fake and a sender pointed at it.
func setup(t *testing.T) (*whatsappfake.Server, *whatsapp.Sender) {
	t.Helper()
	fake := whatsappfake.New(whatsappfake.Config{Now: clock})
	t.Cleanup(fake.Close)
	s, err := whatsapp.New(fake.ChannelConfig("biz_1", "loyalty_update"), whatsapp.Options{
		BaseURL: fake.URL, Client: fake.Client(), Now: clock,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return fake, s
}

func sendError(t *testing.T, err error) *hub.SendError {
	t.Helper()
	var se *hub.SendError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *hub.SendError", err, err)
	}
	return se
}

var ignoreErr = cmpopts.IgnoreFields(hub.SendError{}, "Err")

// testConfig is a complete configuration that is not tied to a fake.
func testConfig() *hub.ChannelConfig {
	return &hub.ChannelConfig{Provider: hub.ChannelWhatsApp,
		Settings: map[string]string{"phone_number_id": "106540352242922", "template_name": "t"},
		Secrets:  map[string]string{"access_token": "a", "app_secret": "b", "verify_token": "c"}}
}

// newStatusServer answers every call with status and no Graph body.
func newStatusServer(t *testing.T, status int, retryAfter string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte("<html>error</html>"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestNewValidatesConfig(t *testing.T) {
	full := testConfig
	tests := []struct {
		name   string
		edit   func(*hub.ChannelConfig)
		fields []string
	}{
		{"complete", func(*hub.ChannelConfig) {}, nil},
		{"no token", func(c *hub.ChannelConfig) { delete(c.Secrets, "access_token") }, []string{"access_token"}},
		{"nothing", func(c *hub.ChannelConfig) { c.Settings, c.Secrets = nil, nil },
			[]string{"access_token", "app_secret", "phone_number_id", "template_name", "verify_token"}},
		{"bad id", func(c *hub.ChannelConfig) { c.Settings["phone_number_id"] = "12/../x" }, []string{"phone_number_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := full()
			tt.edit(cfg)
			_, err := whatsapp.New(cfg, whatsapp.Options{})
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if hub.ErrorCode(err) != hub.EValidation {
				t.Fatalf("New: %v, want validation_failed", err)
			}
			var got []string
			for f := range hub.ErrorFields(err) {
				got = append(got, f)
			}
			if d := cmp.Diff(tt.fields, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); d != "" {
				t.Errorf("fields (-want +got):\n%s", d)
			}
		})
	}
	if _, err := whatsapp.New(&hub.ChannelConfig{Provider: hub.ChannelViber}, whatsapp.Options{}); hub.ErrorCode(err) != hub.EValidation {
		t.Errorf("New(viber config) = %v, want validation_failed", err)
	}
}

func TestSendChoosesTextOrTemplate(t *testing.T) {
	tests := []struct {
		name      string
		msg       hub.Message
		window    bool // the fake's window for the customer
		want      whatsappfake.Message
		wantCalls int
	}{
		{
			name:   "window open: text",
			msg:    hub.Message{Text: "You have 5 stamps", WindowUntil: now.Add(time.Hour)},
			window: true,
			want:   whatsappfake.Message{Type: "text", Text: "You have 5 stamps"}, wantCalls: 1,
		},
		{
			name: "window closed: configured template with the text",
			msg:  hub.Message{Text: "You have 5 stamps", WindowUntil: now.Add(-time.Minute)},
			want: whatsappfake.Message{Type: "template", Template: "loyalty_update", Language: "en",
				Params: []string{"You have 5 stamps"}}, wantCalls: 1,
		},
		{
			name: "never wrote: message template",
			msg: hub.Message{Text: "x", Template: &hub.ApprovedTemplate{Name: "voucher_ready", Language: "uk",
				Params: []string{"Olena", "10%"}}},
			want: whatsappfake.Message{Type: "template", Template: "voucher_ready", Language: "uk",
				Params: []string{"Olena", "10%"}}, wantCalls: 1,
		},
		{
			name: "template without language takes the configured one",
			msg:  hub.Message{Template: &hub.ApprovedTemplate{Name: "hello"}},
			want: whatsappfake.Message{Type: "template", Template: "hello", Language: "en"}, wantCalls: 1,
		},
		{
			name: "window closed at Meta: 131047 then template",
			msg:  hub.Message{Text: "hi", WindowUntil: now.Add(time.Hour)},
			want: whatsappfake.Message{Type: "template", Template: "loyalty_update", Language: "en",
				Params: []string{"hi"}}, wantCalls: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, s := setup(t)
			if tt.window {
				fake.OpenWindow(customer)
			}
			m := tt.msg
			m.DeliveryID, m.Channel, m.To = "dlv_1", hub.ChannelWhatsApp, customer
			rc, err := s.Send(context.Background(), m)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := fake.Messages()
			if len(got) != 1 {
				t.Fatalf("fake got %d messages, want 1", len(got))
			}
			if rc.ProviderMessageID != got[0].ID {
				t.Errorf("receipt id %q, fake id %q", rc.ProviderMessageID, got[0].ID)
			}
			want := tt.want
			want.To, want.Version, want.PhoneNumberID = "380671234567", whatsapp.GraphVersion, whatsappfake.DefaultPhoneNumberID
			if d := cmp.Diff(want, got[0], cmpopts.IgnoreFields(whatsappfake.Message{}, "ID", "At")); d != "" {
				t.Errorf("message (-want +got):\n%s", d)
			}
			if n := fake.Calls(); n != tt.wantCalls {
				t.Errorf("calls = %d, want %d", n, tt.wantCalls)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name  string
		fail  int
		code  int
		want  hub.SendError
		calls int
	}{
		{"throughput", 1, 130429, hub.SendError{Kind: hub.SendRateLimited, Code: "130429", Reason: "rate_limited",
			Scope: hub.ScopeSender, RetryAfter: time.Second}, 1},
		{"api call rate", 1, 4, hub.SendError{Kind: hub.SendRateLimited, Code: "4", Reason: "rate_limited",
			Scope: hub.ScopeSender, RetryAfter: time.Minute}, 1},
		{"waba call rate", 1, 80007, hub.SendError{Kind: hub.SendRateLimited, Code: "80007", Reason: "rate_limited",
			Scope: hub.ScopeSender, RetryAfter: time.Minute}, 1},
		{"spam rate", 1, 131048, hub.SendError{Kind: hub.SendRateLimited, Code: "131048", Reason: "rate_limited",
			Scope: hub.ScopeSender, RetryAfter: time.Hour}, 1},
		{"pair rate", 1, 131056, hub.SendError{Kind: hub.SendRateLimited, Code: "131056", Reason: "rate_limited",
			Scope: hub.ScopeRecipient, RetryAfter: 6 * time.Second}, 1},
		{"undeliverable", 1, 131026, hub.SendError{Kind: hub.SendPermanent, Code: "131026", Reason: "bad_address",
			Unreachable: true}, 1},
		{"recipient is sender", 1, 131021, hub.SendError{Kind: hub.SendPermanent, Code: "131021", Reason: "bad_address",
			Unreachable: true}, 1},
		{"stopped marketing", 1, 131050, hub.SendError{Kind: hub.SendPermanent, Code: "131050", Reason: "unsubscribed",
			Unreachable: true}, 1},
		{"re-engagement twice", 2, 131047, hub.SendError{Kind: hub.SendPermanent, Code: "131047", Reason: "window_closed"}, 2},
		{"token", 1, 190, hub.SendError{Kind: hub.SendPermanent, Code: "190", Reason: "config"}, 1},
		{"permission", 1, 200, hub.SendError{Kind: hub.SendPermanent, Code: "200", Reason: "config"}, 1},
		{"app permission", 1, 10, hub.SendError{Kind: hub.SendPermanent, Code: "10", Reason: "config"}, 1},
		{"bad param", 1, 100, hub.SendError{Kind: hub.SendPermanent, Code: "100", Reason: "bad_request"}, 1},
		{"template missing", 1, 132001, hub.SendError{Kind: hub.SendPermanent, Code: "132001", Reason: "bad_request"}, 1},
		{"ecosystem", 1, 131049, hub.SendError{Kind: hub.SendPermanent, Code: "131049", Reason: "ecosystem_limit"}, 1},
		{"something went wrong", 1, 131000, hub.SendError{Kind: hub.SendTransient, Code: "131000", Reason: "provider_error"}, 1},
		{"service unavailable", 1, 131016, hub.SendError{Kind: hub.SendTransient, Code: "131016", Reason: "provider_down"}, 1},
		{"unknown code", 1, 999999, hub.SendError{Kind: hub.SendPermanent, Code: "999999", Reason: "provider_error"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, s := setup(t)
			fake.OpenWindow(customer)
			fake.FailNext(tt.fail, whatsappfake.ErrorFor(tt.code))
			_, err := s.Send(context.Background(), hub.Message{Channel: hub.ChannelWhatsApp, To: customer, Text: "hi",
				WindowUntil: now.Add(time.Hour)})
			se := sendError(t, err)
			if d := cmp.Diff(&tt.want, se, ignoreErr); d != "" {
				t.Errorf("error (-want +got):\n%s", d)
			}
			var ge *whatsapp.GraphError
			if !errors.As(err, &ge) || ge.Code != tt.code {
				t.Errorf("error chain has no GraphError %d: %v", tt.code, err)
			}
			if n := fake.Calls(); n != tt.calls {
				t.Errorf("calls = %d, want %d", n, tt.calls)
			}
			if n := len(fake.Messages()); n != 0 {
				t.Errorf("fake accepted %d messages", n)
			}
		})
	}
}

func TestSendStatusWithoutGraphBody(t *testing.T) {
	tests := []struct {
		status int
		header string
		want   hub.SendError
	}{
		{http.StatusBadGateway, "", hub.SendError{Kind: hub.SendTransient, Code: "502", Reason: "provider_error"}},
		{http.StatusTooManyRequests, "7", hub.SendError{Kind: hub.SendRateLimited, Code: "429", Reason: "rate_limited",
			Scope: hub.ScopeSender, RetryAfter: 7 * time.Second}},
		{http.StatusForbidden, "", hub.SendError{Kind: hub.SendPermanent, Code: "403", Reason: "config"}},
		{http.StatusNotFound, "", hub.SendError{Kind: hub.SendPermanent, Code: "404", Reason: "provider_error"}},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv := newStatusServer(t, tt.status, tt.header)
			s, err := whatsapp.New(testConfig(), whatsapp.Options{BaseURL: srv, Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Send(context.Background(), hub.Message{To: customer, Text: "hi"})
			if d := cmp.Diff(&tt.want, sendError(t, err), ignoreErr); d != "" {
				t.Errorf("error (-want +got):\n%s", d)
			}
		})
	}
}

func TestSendThroughputLimit(t *testing.T) {
	fake, s := setup(t)
	fake.SetThroughput(2)
	var limited int
	for range 5 {
		_, err := s.Send(context.Background(), hub.Message{To: customer, Text: "hi"})
		if err != nil {
			if se := sendError(t, err); se.Kind != hub.SendRateLimited || se.Code != "130429" {
				t.Fatalf("Send: %v, want 130429 rate limit", err)
			}
			limited++
		}
	}
	// The five sends may straddle a second boundary: at least one is refused.
	if limited == 0 || len(fake.Messages()) > 4 {
		t.Errorf("limited %d of 5 sends, fake accepted %d", limited, len(fake.Messages()))
	}
}

func TestSendTimeoutMaybeSent(t *testing.T) {
	fake, s := setup(t)
	fake.SetDelay(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := s.Send(ctx, hub.Message{To: customer, Text: "hi"})
	want := &hub.SendError{Kind: hub.SendTransient, Reason: "timeout", MaybeSent: true}
	if d := cmp.Diff(want, sendError(t, err), ignoreErr); d != "" {
		t.Errorf("error (-want +got):\n%s", d)
	}
}

func TestSendProviderDown(t *testing.T) {
	fake, s := setup(t)
	fake.SetDown(true)
	_, err := s.Send(context.Background(), hub.Message{To: customer, Text: "hi"})
	want := &hub.SendError{Kind: hub.SendTransient, Reason: "provider_down"}
	if d := cmp.Diff(want, sendError(t, err), ignoreErr); d != "" {
		t.Errorf("error (-want +got):\n%s", d)
	}
	fake.SetDown(false)
	if _, err := s.Send(context.Background(), hub.Message{To: customer, Text: "hi"}); err != nil {
		t.Errorf("Send after the fake came back: %v", err)
	}
}

func TestSendRefusedWithoutCall(t *testing.T) {
	tests := []struct {
		name string
		msg  hub.Message
		want hub.SendError
	}{
		{"no plus", hub.Message{To: "380671234567", Text: "x"},
			hub.SendError{Kind: hub.SendPermanent, Reason: "bad_address", Unreachable: true}},
		{"letters", hub.Message{To: "+38067abc", Text: "x"},
			hub.SendError{Kind: hub.SendPermanent, Reason: "bad_address", Unreachable: true}},
		{"other channel", hub.Message{Channel: hub.ChannelViber, To: customer, Text: "x"},
			hub.SendError{Kind: hub.SendPermanent, Reason: "config"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, s := setup(t)
			_, err := s.Send(context.Background(), tt.msg)
			if d := cmp.Diff(&tt.want, sendError(t, err), ignoreErr); d != "" {
				t.Errorf("error (-want +got):\n%s", d)
			}
			if fake.Calls() != 0 {
				t.Errorf("the fake was called")
			}
		})
	}
}

func TestSendWrongToken(t *testing.T) {
	fake := whatsappfake.New(whatsappfake.Config{})
	defer fake.Close()
	cfg := fake.ChannelConfig("b", "t")
	cfg.Secrets["access_token"] = "stale"
	s, err := whatsapp.New(cfg, whatsapp.Options{BaseURL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), hub.Message{To: customer, Text: "x"})
	want := &hub.SendError{Kind: hub.SendPermanent, Code: "190", Reason: "config"}
	if d := cmp.Diff(want, sendError(t, err), ignoreErr); d != "" {
		t.Errorf("error (-want +got):\n%s", d)
	}
}

func TestLimits(t *testing.T) {
	_, s := setup(t)
	got := s.Limits(hub.Message{To: customer})
	want := []hub.RateLimit{
		{Key: "whatsapp:" + whatsappfake.DefaultPhoneNumberID, PerSecond: 80, Burst: 1},
		{Key: "whatsapp:" + whatsappfake.DefaultPhoneNumberID + ":" + customer, PerSecond: 1.0 / 6, Burst: 1},
	}
	if d := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); d != "" {
		t.Errorf("limits (-want +got):\n%s", d)
	}
}
