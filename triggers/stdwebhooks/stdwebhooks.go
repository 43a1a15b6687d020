package stdwebhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers of a signed message.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is how far a webhook-timestamp may be from the receiver's
// clock, either way, before Verify rejects the message.
const DefaultTolerance = 5 * time.Minute

// Errors returned by Verify.
var (
	ErrMissingHeader       = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrInvalidTimestamp    = errors.New("webhook: timestamp is malformed or outside the tolerance")
	ErrNoMatchingSignature = errors.New("webhook: no matching signature")
)

// Signature returns the v1 signature of one message under key.
func Signature(key []byte, msgID string, unix int64, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, msgID, unix, body))
}

// Verify checks a received message: the webhook-timestamp must be within
// tolerance of now (DefaultTolerance when tolerance is zero or negative) and
// one of the space-separated v1 signatures in webhook-signature must match
// body under key, compared in constant time. The error wraps
// ErrMissingHeader, ErrInvalidTimestamp or ErrNoMatchingSignature.
func Verify(key []byte, header http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	id, tsText, sigs := get(header, HeaderID), get(header, HeaderTimestamp), get(header, HeaderSignature)
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

func mac(key []byte, msgID string, unix int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msgID))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(nil, unix, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}
