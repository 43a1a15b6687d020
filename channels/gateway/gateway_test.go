package gateway_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/7loc/hub/channels/gateway"
	"github.com/7loc/hub/channels/gateway/gatewayfake"
	"github.com/7loc/hub/hub"
)

var ignoreErr = cmpopts.IgnoreFields(hub.SendError{}, "Err")

// setup starts a fake gateway and a sender for it.
func setup(t *testing.T, channels string) (*gatewayfake.Server, *gateway.Sender) {
	t.Helper()
	fake := gatewayfake.New(gatewayfake.Config{})
	t.Cleanup(fake.Close)
	s, err := gateway.New(fake.ChannelConfig("biz_1", channels), gateway.Options{Client: fake.Client()})
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

func msg(id, channel, to string) hub.Message {
	return hub.Message{DeliveryID: id, Channel: channel, To: to, Text: "You have 5 stamps", Language: "uk"}
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]string
		secret   string
		fields   []string
	}{
		{"complete", map[string]string{"url": "https://gw.example.com/api"}, "s", nil},
		{"whsec secret", map[string]string{"url": "https://gw.example.com"}, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", nil},
		{"nothing", nil, "", []string{"secret", "url"}},
		{"bad url", map[string]string{"url": "gw.example.com"}, "s", []string{"url"}},
		{"bad whsec", map[string]string{"url": "https://gw.example.com"}, "whsec_!!", []string{"secret"}},
		{"unknown channel", map[string]string{"url": "https://gw.example.com", "channels": "whatsapp,sms"}, "s",
			[]string{"channels"}},
		{"no channel", map[string]string{"url": "https://gw.example.com", "channels": " , "}, "s", []string{"channels"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := gateway.New(&hub.ChannelConfig{Provider: hub.ProviderGateway, Settings: tt.settings,
				Secrets: map[string]string{"secret": tt.secret}}, gateway.Options{})
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			var got []string
			for f := range hub.ErrorFields(err) {
				got = append(got, f)
			}
			if d := cmp.Diff(tt.fields, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); d != "" {
				t.Errorf("New: %v; fields (-want +got):\n%s", err, d)
			}
		})
	}
}

func TestSignatureVectors(t *testing.T) {
	tests := []struct {
		name, secret, id string
		ts               int64
		body, want       string
	}{
		// The Standard Webhooks specification's example.
		{"standard webhooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
			`{"test": 2432232314}`, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
		// A raw secret (computed with Python's hmac).
		{"raw secret", "shh", "dlv_1", 1700000000, `{"a":1}`, "v1,hYk++AsCs9fj5wGTQ/7qg6uFJAWee6YASFNWHWAfOyY="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := gateway.SigningKey(tt.secret)
			if err != nil {
				t.Fatal(err)
			}
			if got := gateway.Signature(key, tt.id, tt.ts, []byte(tt.body)); got != tt.want {
				t.Errorf("Signature = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestSendAccepted(t *testing.T) {
	fake, s := setup(t, "")
	tpl := &hub.ApprovedTemplate{Name: "voucher_ready", Language: "uk", Params: []string{"10%"}}
	m := msg("dlv_1", hub.ChannelWhatsApp, "+380671234567")
	m.Template = tpl
	rc, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := fake.Messages()
	want := []gatewayfake.Message{{MessageID: rc.ProviderMessageID, ID: "dlv_1", IdempotencyKey: "dlv_1",
		Channel: hub.ChannelWhatsApp, To: "+380671234567", Text: "You have 5 stamps", Template: tpl, Language: "uk"}}
	if d := cmp.Diff(want, got, cmpopts.IgnoreFields(gatewayfake.Message{}, "At")); d != "" {
		t.Errorf("messages (-want +got):\n%s", d)
	}
	if fake.Rejected() != 0 {
		t.Errorf("the fake rejected %d signatures", fake.Rejected())
	}
}

func TestSendIsIdempotent(t *testing.T) {
	fake, s := setup(t, "")
	var wg sync.WaitGroup
	ids := make([]string, 4)
	for i := range ids {
		wg.Go(func() {
			rc, err := s.Send(context.Background(), msg("dlv_same", hub.ChannelTelegram, "123456789"))
			if err != nil {
				t.Errorf("Send: %v", err)
			}
			ids[i] = rc.ProviderMessageID
		})
	}
	wg.Wait()
	if n := len(fake.Messages()); n != 1 {
		t.Fatalf("fake accepted %d messages, want 1", n)
	}
	for _, id := range ids {
		if id != ids[0] {
			t.Errorf("receipts differ: %v", ids)
		}
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name string
		fail gatewayfake.Failure
		want hub.SendError
	}{
		{"rate limited", gatewayfake.RateLimited(3 * time.Second), hub.SendError{Kind: hub.SendRateLimited,
			Code: "rate_limited", Reason: "rate_limited", Scope: hub.ScopeSender, RetryAfter: 3 * time.Second}},
		{"recipient rate", gatewayfake.Failure{Status: 429, Code: "recipient_rate_limited"}, hub.SendError{
			Kind: hub.SendRateLimited, Code: "recipient_rate_limited", Reason: "rate_limited", Scope: hub.ScopeRecipient,
			RetryAfter: time.Second}},
		{"blocked", gatewayfake.Blocked, hub.SendError{Kind: hub.SendPermanent, Code: "blocked", Reason: "blocked",
			Unreachable: true}},
		{"unsubscribed", gatewayfake.Unsubscribed, hub.SendError{Kind: hub.SendPermanent, Code: "unsubscribed",
			Reason: "unsubscribed", Unreachable: true}},
		{"invalid recipient", gatewayfake.InvalidRecipient, hub.SendError{Kind: hub.SendPermanent,
			Code: "invalid_recipient", Reason: "bad_address", Unreachable: true}},
		{"window closed", gatewayfake.WindowClosed, hub.SendError{Kind: hub.SendPermanent, Code: "window_closed",
			Reason: "window_closed"}},
		{"channel disabled", gatewayfake.Failure{Status: 403, Code: "channel_disabled"}, hub.SendError{
			Kind: hub.SendPermanent, Code: "channel_disabled", Reason: "config"}},
		{"in progress", gatewayfake.Failure{Status: 409, Code: "in_progress"}, hub.SendError{Kind: hub.SendTransient,
			Code: "in_progress", Reason: "provider_error"}},
		{"other 4xx", gatewayfake.Failure{Status: 400, Code: "text_too_long"}, hub.SendError{Kind: hub.SendPermanent,
			Code: "text_too_long", Reason: "bad_request"}},
		{"unavailable", gatewayfake.Unavailable, hub.SendError{Kind: hub.SendTransient, Code: "unavailable",
			Reason: "provider_error"}},
		{"bare 502", gatewayfake.Failure{Status: 502}, hub.SendError{Kind: hub.SendTransient, Code: "502",
			Reason: "provider_error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, s := setup(t, "")
			fake.FailNext(1, tt.fail)
			_, err := s.Send(context.Background(), msg("dlv_1", hub.ChannelViber, "01234567890A=="))
			if d := cmp.Diff(&tt.want, sendError(t, err), ignoreErr); d != "" {
				t.Errorf("error (-want +got):\n%s", d)
			}
			var ge *gateway.Error
			if !errors.As(err, &ge) || ge.HTTPStatus != tt.fail.Status {
				t.Errorf("no gateway.Error with status %d in %v", tt.fail.Status, err)
			}
			// A retry with the same key: a remembered 4xx answer repeats, a 409, 429
			// or 5xx one does not.
			_, err = s.Send(context.Background(), msg("dlv_1", hub.ChannelViber, "01234567890A=="))
			remembered := tt.fail.Status < 500 && tt.fail.Status != 429 && tt.fail.Status != 409
			if remembered != (err != nil) {
				t.Errorf("retry: %v (remembered answer: %v)", err, remembered)
			}
		})
	}
}

func TestSendRecipientFailure(t *testing.T) {
	fake, s := setup(t, "")
	fake.FailTo(hub.ChannelTelegram, "42", gatewayfake.Blocked)
	_, err := s.Send(context.Background(), msg("dlv_1", hub.ChannelTelegram, "42"))
	if se := sendError(t, err); se.Reason != "blocked" || !se.Unreachable {
		t.Errorf("Send to 42: %v", err)
	}
	if _, err := s.Send(context.Background(), msg("dlv_2", hub.ChannelTelegram, "43")); err != nil {
		t.Errorf("Send to 43: %v", err)
	}
}

func TestSendTimeoutIsSafeToRetry(t *testing.T) {
	fake, s := setup(t, "")
	fake.SetDelay(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := s.Send(ctx, msg("dlv_1", hub.ChannelWhatsApp, "+380671234567"))
	want := &hub.SendError{Kind: hub.SendTransient, Reason: "timeout"}
	if d := cmp.Diff(want, sendError(t, err), ignoreErr); d != "" {
		t.Errorf("error (-want +got):\n%s", d)
	}
	// The gateway accepted it anyway; the retry gets the same message back.
	time.Sleep(400 * time.Millisecond)
	fake.SetDelay(0)
	rc, err := s.Send(context.Background(), msg("dlv_1", hub.ChannelWhatsApp, "+380671234567"))
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	got := fake.Messages()
	if len(got) != 1 || got[0].MessageID != rc.ProviderMessageID {
		t.Errorf("retry receipt %q, fake messages %+v", rc.ProviderMessageID, got)
	}
}

func TestSendProviderDown(t *testing.T) {
	fake, s := setup(t, "")
	fake.SetDown(true)
	_, err := s.Send(context.Background(), msg("dlv_1", hub.ChannelWhatsApp, "+380671234567"))
	want := &hub.SendError{Kind: hub.SendTransient, Reason: "provider_down"}
	if d := cmp.Diff(want, sendError(t, err), ignoreErr); d != "" {
		t.Errorf("error (-want +got):\n%s", d)
	}
	fake.SetDown(false)
	if _, err := s.Send(context.Background(), msg("dlv_1", hub.ChannelWhatsApp, "+380671234567")); err != nil {
		t.Errorf("Send after the fake came back: %v", err)
	}
}

func TestSendRefusedWithoutCall(t *testing.T) {
	tests := []struct {
		name string
		msg  hub.Message
		want hub.SendError
	}{
		{"channel not carried", msg("dlv_1", hub.ChannelViber, "u1"), hub.SendError{Kind: hub.SendPermanent, Reason: "config"}},
		{"email", msg("dlv_1", hub.ChannelEmail, "a@b.co"), hub.SendError{Kind: hub.SendPermanent, Reason: "config"}},
		{"no delivery id", msg("", hub.ChannelWhatsApp, "+380671234567"), hub.SendError{Kind: hub.SendPermanent,
			Reason: "bad_request"}},
		{"no address", msg("dlv_1", hub.ChannelTelegram, ""), hub.SendError{Kind: hub.SendPermanent,
			Reason: "bad_address", Unreachable: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, s := setup(t, "whatsapp, telegram")
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

func TestSendWrongSecret(t *testing.T) {
	fake := gatewayfake.New(gatewayfake.Config{Secret: "right"})
	defer fake.Close()
	cfg := fake.ChannelConfig("b", "")
	cfg.Secrets["secret"] = "wrong"
	s, err := gateway.New(cfg, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), msg("dlv_1", hub.ChannelWhatsApp, "+380671234567"))
	if se := sendError(t, err); se.Reason != "config" || se.Kind != hub.SendPermanent || fake.Rejected() != 1 {
		t.Errorf("Send: %v, rejected %d", err, fake.Rejected())
	}
}

func TestLimits(t *testing.T) {
	fake, s := setup(t, "")
	sum := sha256.Sum256([]byte(fake.URL))
	want := []hub.RateLimit{{Key: "gateway:" + hex.EncodeToString(sum[:])[:12], PerSecond: 50, Burst: 1}}
	if d := cmp.Diff(want, s.Limits(hub.Message{To: "x"})); d != "" {
		t.Errorf("limits (-want +got):\n%s", d)
	}
}

func TestSignedByTheSenderVerifies(t *testing.T) {
	key := []byte("k")
	h := http.Header{}
	at := time.Unix(1_700_000_000, 0)
	gateway.Sign(h, key, "dlv_1", at, []byte("{}"))
	tests := []struct {
		name string
		key  string
		body string
		now  time.Time
		want error
	}{
		{"good", "k", "{}", at.Add(time.Minute), nil},
		{"other key", "x", "{}", at, gateway.ErrBadSignature},
		{"other body", "k", "{ }", at, gateway.ErrBadSignature},
		{"stale", "k", "{}", at.Add(6 * time.Minute), gateway.ErrStale},
		{"future", "k", "{}", at.Add(-6 * time.Minute), gateway.ErrStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := gateway.Verify(h, []byte(tt.key), []byte(tt.body), tt.now); !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}
