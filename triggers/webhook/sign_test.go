package webhook

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The example of the Standard Webhooks specification and of Svix's docs.
const (
	specSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specBody   = `{"test": 2432232314}`
	specSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

var specTime = time.Unix(1614265330, 0)

func TestNewSecret(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if a == b {
		t.Fatalf("NewSecret returned %q twice", a)
	}
	for _, s := range []string{a, b} {
		raw, ok := strings.CutPrefix(s, "whsec_")
		if !ok {
			t.Fatalf("NewSecret() = %q, want prefix whsec_", s)
		}
		key, err := base64.StdEncoding.DecodeString(raw)
		if err != nil || len(key) != 32 {
			t.Errorf("NewSecret() = %q: decodes to %d bytes, %v; want 32 bytes", s, len(key), err)
		}
	}
}

func TestSign(t *testing.T) {
	tests := []struct {
		name, secret, id string
		ts               time.Time
		body             string
		want             string
		wantErr          error
	}{
		{"specification example", specSecret, specID, specTime, specBody, specSig, nil},
		{"prefix optional", strings.TrimPrefix(specSecret, "whsec_"), specID, specTime, specBody, specSig, nil},
		{"sub-second part ignored", specSecret, specID, specTime.Add(999 * time.Millisecond), specBody, specSig, nil},
		{"other body", specSecret, specID, specTime, `{"test": 2432232315}`, "v1,", nil},
		{"not base64", "whsec_not base64!", specID, specTime, specBody, "", ErrInvalidSecret},
		{"empty key", "whsec_", specID, specTime, specBody, "", ErrInvalidSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Sign(tt.secret, tt.id, tt.ts, []byte(tt.body))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Sign() error = %v, want %v", err, tt.wantErr)
			}
			switch {
			case tt.want == "v1,": // any valid signature but the example's
				if !strings.HasPrefix(got, "v1,") || got == specSig {
					t.Errorf("Sign() = %q, want a different v1 signature", got)
				}
			case got != tt.want:
				t.Errorf("Sign() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	old, cur := specSecret, NewSecret()
	curSig, err := Sign(cur, specID, specTime, []byte(specBody))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Headers([]string{old, cur}, specID, specTime, []byte(specBody))
	if err != nil {
		t.Fatal(err)
	}
	want := http.Header{
		"Webhook-Id":        {specID},
		"Webhook-Timestamp": {"1614265330"},
		"Webhook-Signature": {specSig + " " + curSig},
		"Content-Type":      {"application/json"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Headers() mismatch (-want +got):\n%s", diff)
	}

	if _, err := Headers(nil, specID, specTime, nil); !errors.Is(err, ErrInvalidSecret) {
		t.Errorf("Headers(no secrets) error = %v, want ErrInvalidSecret", err)
	}
	if _, err := Headers([]string{cur, "whsec_%%%"}, specID, specTime, nil); !errors.Is(err, ErrInvalidSecret) {
		t.Errorf("Headers(bad second secret) error = %v, want ErrInvalidSecret", err)
	}
	if _, err := Headers([]string{cur}, "", specTime, nil); err == nil {
		t.Error("Headers(empty id) succeeded")
	}
}

func TestVerify(t *testing.T) {
	other := NewSecret()
	signed := func(secrets ...string) http.Header {
		h, err := Headers(secrets, specID, specTime, []byte(specBody))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	with := func(h http.Header, key, value string) http.Header {
		h = h.Clone()
		h.Set(key, value)
		return h
	}
	without := func(h http.Header, key string) http.Header {
		h = h.Clone()
		h.Del(key)
		return h
	}
	good := signed(specSecret)
	tests := []struct {
		name      string
		secret    string
		header    http.Header
		body      string
		tolerance time.Duration
		now       time.Time
		want      error
	}{
		{"valid", specSecret, good, specBody, 0, specTime, nil},
		{"valid without prefix", strings.TrimPrefix(specSecret, "whsec_"), good, specBody, 0, specTime, nil},
		{"lower-case header names", specSecret, http.Header{
			"webhook-id": {specID}, "webhook-timestamp": {"1614265330"}, "webhook-signature": {specSig},
		}, specBody, 0, specTime, nil},
		{"rotation: first of two", specSecret, signed(specSecret, other), specBody, 0, specTime, nil},
		{"rotation: second of two", specSecret, signed(other, specSecret), specBody, 0, specTime, nil},
		{"unknown scheme skipped", specSecret, with(good, "webhook-signature", "v1a,AAAA "+specSig), specBody, 0, specTime, nil},
		{"tampered body", specSecret, good, `{"test": 2432232315}`, 0, specTime, ErrNoMatchingSignature},
		{"body with trailing newline", specSecret, good, specBody + "\n", 0, specTime, ErrNoMatchingSignature},
		{"wrong secret", other, good, specBody, 0, specTime, ErrNoMatchingSignature},
		{"other message id", specSecret, with(good, "webhook-id", "msg_other"), specBody, 0, specTime, ErrNoMatchingSignature},
		{"timestamp changed", specSecret, with(good, "webhook-timestamp", "1614265331"), specBody, 0, specTime.Add(time.Second), ErrNoMatchingSignature},
		{"v2 scheme only", specSecret, with(good, "webhook-signature", "v2,"+strings.TrimPrefix(specSig, "v1,")), specBody, 0, specTime, ErrNoMatchingSignature},
		{"signature not base64", specSecret, with(good, "webhook-signature", "v1,???"), specBody, 0, specTime, ErrNoMatchingSignature},
		{"within default tolerance, late", specSecret, good, specBody, 0, specTime.Add(5 * time.Minute), nil},
		{"within default tolerance, early", specSecret, good, specBody, 0, specTime.Add(-5 * time.Minute), nil},
		{"stale", specSecret, good, specBody, 0, specTime.Add(5*time.Minute + time.Second), ErrInvalidTimestamp},
		{"from the future", specSecret, good, specBody, 0, specTime.Add(-5*time.Minute - time.Second), ErrInvalidTimestamp},
		{"custom tolerance", specSecret, good, specBody, time.Minute, specTime.Add(2 * time.Minute), ErrInvalidTimestamp},
		{"timestamp not a number", specSecret, with(good, "webhook-timestamp", "yesterday"), specBody, 0, specTime, ErrInvalidTimestamp},
		{"no id", specSecret, without(good, "webhook-id"), specBody, 0, specTime, ErrMissingHeader},
		{"no timestamp", specSecret, without(good, "webhook-timestamp"), specBody, 0, specTime, ErrMissingHeader},
		{"no signature", specSecret, without(good, "webhook-signature"), specBody, 0, specTime, ErrMissingHeader},
		{"bad secret", "whsec_!", good, specBody, 0, specTime, ErrInvalidSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secret, tt.header, []byte(tt.body), tt.tolerance, tt.now)
			if !errors.Is(err, tt.want) {
				t.Errorf("Verify() = %v, want %v", err, tt.want)
			}
		})
	}
}
