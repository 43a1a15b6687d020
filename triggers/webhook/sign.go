package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/7loc/hub/triggers/stdwebhooks"
)

// SecretPrefix starts every signing secret made by NewSecret.
const SecretPrefix = "whsec_"

// DefaultTolerance is how far a webhook-timestamp may be from the receiver's
// clock, either way, before Verify rejects the message.
const DefaultTolerance = stdwebhooks.DefaultTolerance

// Errors returned by Sign, Headers and Verify.
var (
	ErrInvalidSecret       = errors.New("webhook: invalid signing secret")
	ErrMissingHeader       = stdwebhooks.ErrMissingHeader
	ErrInvalidTimestamp    = stdwebhooks.ErrInvalidTimestamp
	ErrNoMatchingSignature = stdwebhooks.ErrNoMatchingSignature
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
	return stdwebhooks.Signature(key, msgID, ts.Unix(), body), nil
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
	h.Set(stdwebhooks.HeaderID, msgID)
	h.Set(stdwebhooks.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(stdwebhooks.HeaderSignature, strings.Join(sigs, " "))
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
	return stdwebhooks.Verify(key, header, body, tolerance, now)
}

// decodeSecret turns a whsec_ secret (the prefix is optional) into its key.
func decodeSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) == 0 {
		return nil, ErrInvalidSecret
	}
	return key, nil
}
