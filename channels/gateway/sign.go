package gateway

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/7loc/hub/triggers/stdwebhooks"
)

// Header names of the signature scheme (Standard Webhooks).
const (
	HeaderID        = stdwebhooks.HeaderID
	HeaderTimestamp = stdwebhooks.HeaderTimestamp
	HeaderSignature = stdwebhooks.HeaderSignature
)

// Tolerance is how far a signed timestamp may be from the receiver's clock.
const Tolerance = stdwebhooks.DefaultTolerance

// SigningKey returns the HMAC key of a secret: the bytes after "whsec_"
// base64-decoded for Standard Webhooks secrets, else the secret's bytes.
func SigningKey(secret string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		key, err := base64.StdEncoding.DecodeString(rest)
		if err != nil || len(key) == 0 {
			return nil, errors.New("gateway: a whsec_ secret must be base64 after the prefix")
		}
		return key, nil
	}
	return []byte(secret), nil
}

// Signature returns the webhook-signature value of a message.
func Signature(key []byte, id string, ts int64, body []byte) string {
	return stdwebhooks.Signature(key, id, ts, body)
}

// Sign sets the three signature headers on h.
func Sign(h http.Header, key []byte, id string, at time.Time, body []byte) {
	ts := at.Unix()
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderSignature, Signature(key, id, ts, body))
}

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("gateway: missing signature headers")
	ErrStale        = errors.New("gateway: signature timestamp malformed, too old or in the future")
	ErrBadSignature = errors.New("gateway: no valid signature")
)

// Verify checks the signature headers of a body against key at now; several
// space-separated signatures are accepted (secret rotation).
func Verify(h http.Header, key []byte, body []byte, now time.Time) error {
	err := stdwebhooks.Verify(key, h, body, Tolerance, now)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, stdwebhooks.ErrMissingHeader):
		return ErrNoSignature
	case errors.Is(err, stdwebhooks.ErrInvalidTimestamp):
		return ErrStale
	default:
		return ErrBadSignature
	}
}
