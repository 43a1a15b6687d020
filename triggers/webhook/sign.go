package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every signing secret made by NewSecret.
const SecretPrefix = "whsec_"

// DefaultTolerance is how far a webhook-timestamp may be from the receiver's
// clock, either way, before Verify rejects the message.
const DefaultTolerance = 5 * time.Minute

// Errors returned by Sign, Headers and Verify.
var (
	ErrInvalidSecret       = errors.New("webhook: invalid signing secret")
	ErrMissingHeader       = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrInvalidTimestamp    = errors.New("webhook: timestamp is malformed or outside the tolerance")
	ErrNoMatchingSignature = errors.New("webhook: no matching signature")
)

// NewSecret returns a new signing secret: "whsec_" followed by 32 random
// bytes in standard base64.
func NewSecret() string {
	var key [32]byte
	_, _ = rand.Read(key[:]) // never fails (crypto/rand since Go 1.24)
	return SecretPrefix + base64.StdEncoding.EncodeToString(key[:])
}

// Sign returns the Standard Webhooks signature of one message, "v1," followed
// by the base64 HMAC-SHA256 of msgID + "." + unix seconds of ts + "." + body,
// keyed by the base64-decoded secret (the "whsec_" prefix is optional, as in
// the other Standard Webhooks libraries).
func Sign(secret, msgID string, ts time.Time, body []byte) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, msgID, ts.Unix(), body)), nil
}

// Headers returns the headers of one delivery: webhook-id, webhook-timestamp,
// webhook-signature and Content-Type application/json. With several secrets
// (during a secret rotation) webhook-signature holds one signature per
// secret, separated by spaces, so receivers holding either secret accept it.
func Headers(secrets []string, msgID string, ts time.Time, body []byte) (http.Header, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%w: no secret given", ErrInvalidSecret)
	}
	if msgID == "" {
		return nil, errors.New("webhook: empty message id")
	}
	sigs := make([]string, len(secrets))
	for i, s := range secrets {
		sig, err := Sign(s, msgID, ts, body)
		if err != nil {
			return nil, err
		}
		sigs[i] = sig
	}
	h := make(http.Header, 4)
	h.Set("webhook-id", msgID)
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("webhook-signature", strings.Join(sigs, " "))
	h.Set("Content-Type", "application/json")
	return h, nil
}

// Verify checks a received webhook the way a receiver should: the
// webhook-timestamp must be within tolerance of now (DefaultTolerance when
// tolerance is zero or negative) and one of the space-separated v1
// signatures in webhook-signature must match body under secret. Signatures
// are compared in constant time. The error wraps ErrMissingHeader,
// ErrInvalidTimestamp, ErrNoMatchingSignature or ErrInvalidSecret.
func Verify(secret string, header http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	key, err := decodeSecret(secret)
	if err != nil {
		return err
	}
	id, tsText, sigs := get(header, "webhook-id"), get(header, "webhook-timestamp"), get(header, "webhook-signature")
	if id == "" || tsText == "" || sigs == "" {
		return ErrMissingHeader
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	unix, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return ErrInvalidTimestamp
	}
	if ts := time.Unix(unix, 0); now.Sub(ts) > tolerance || ts.Sub(now) > tolerance {
		return fmt.Errorf("%w: %s is more than %s from now", ErrInvalidTimestamp, tsText, tolerance)
	}
	want := mac(key, id, unix, body)
	for _, s := range strings.Fields(sigs) {
		sig, ok := strings.CutPrefix(s, "v1,")
		if !ok {
			continue // another scheme (v1a, ...) that we do not use
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrNoMatchingSignature
}

// get is header.Get that also finds keys not in canonical form, as in a
// Header built by hand from another framework's header map.
func get(header http.Header, key string) string {
	if v := header.Get(key); v != "" {
		return v
	}
	for k, v := range header {
		if strings.EqualFold(k, key) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func decodeSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) == 0 {
		return nil, ErrInvalidSecret
	}
	return key, nil
}

func mac(key []byte, msgID string, unix int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msgID))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(nil, unix, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}
