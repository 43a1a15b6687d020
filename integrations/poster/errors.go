package poster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/7loc/hub/hub"
)

// Kind says what a worker should do after a failed Poster call.
type Kind string

// Error kinds.
const (
	// KindPermanent: retrying the same call will fail the same way.
	KindPermanent Kind = "permanent"
	// KindTransient: a network failure, a timeout or a Poster outage; retry
	// with backoff.
	KindTransient Kind = "transient"
	// KindRateLimited: Poster refused the call for its rate (error 700 or
	// HTTP 429); retry after Error.RetryAfter (or a backoff when zero).
	KindRateLimited Kind = "rate_limited"
	// KindAuthRevoked: the access token is missing, invalid or expired
	// (errors 10, 11, 12, HTTP 401). Permanent: the connection must be
	// marked broken until the business owner connects Poster again.
	KindAuthRevoked Kind = "auth_revoked"
)

// Error is a failed Poster call.
type Error struct {
	Kind Kind
	// Method is the API method called ("dash.getTransaction",
	// "auth.access_token").
	Method string
	// Code is Poster's error code (en/web/errors.md); 0 when the failure
	// carried none (HTTP status, network).
	Code int
	// Message is Poster's message, or a description of the failure.
	Message string
	// HTTPStatus of the answer; 0 when there was none.
	HTTPStatus int
	// RetryAfter is the pause Poster asked for (Retry-After), if any.
	RetryAfter time.Duration
	// Err is the underlying cause (network error, decode error), if any.
	Err error
}

// Error implements error. It never contains the access token.
func (e *Error) Error() string {
	s := "poster: " + e.Method + ": " + string(e.Kind)
	if e.Code != 0 {
		s += fmt.Sprintf(": error %d", e.Code)
	} else if e.HTTPStatus != 0 && e.HTTPStatus != http.StatusOK {
		s += fmt.Sprintf(": HTTP %d", e.HTTPStatus)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether the call may succeed when made again later.
func (e *Error) Retryable() bool { return e.Kind == KindTransient || e.Kind == KindRateLimited }

// KindOf returns the kind of the first *Error in err's chain; a context
// cancellation or deadline is transient, nil is "" and any other error is
// permanent.
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return KindTransient
	}
	return KindPermanent
}

// IsRetryable reports whether err is transient or rate limited.
func IsRetryable(err error) bool {
	k := KindOf(err)
	return k == KindTransient || k == KindRateLimited
}

// IsAuthRevoked reports whether err means the access token no longer works.
func IsAuthRevoked(err error) bool { return KindOf(err) == KindAuthRevoked }

// Poster error codes the client classifies (en/web/errors.md).
const (
	CodeNoToken       = 10  // access_token is not specified
	CodeBadToken      = 11  // Invalid access_token
	CodeTokenExpired  = 12  // access_token expired
	CodeNotAuthorized = 20  // The application is not authorized to call this method
	CodeNoSuchID      = 32  // The ID doesn't exist
	CodeSaveFailed    = 44  // Error saving data
	CodeAccessDenied  = 54  // Access denied
	CodeNotFound      = 404 // Record not found
	CodeRateLimited   = 700 // Rate restriction
)

// kindForCode classifies a Poster error code.
func kindForCode(code int) Kind {
	switch code {
	case CodeNoToken, CodeBadToken, CodeTokenExpired:
		return KindAuthRevoked
	case CodeRateLimited:
		return KindRateLimited
	case CodeSaveFailed:
		return KindTransient
	default:
		return KindPermanent
	}
}

// kindForStatus classifies an HTTP status without a Poster error body.
func kindForStatus(status int) Kind {
	switch {
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status >= 500, status == http.StatusRequestTimeout:
		return KindTransient
	case status == http.StatusUnauthorized:
		return KindAuthRevoked
	default:
		return KindPermanent
	}
}

// IsNotFound reports whether err is Poster's "no such id" (32, 404) or the
// hub's not_found (an empty answer for one object).
func IsNotFound(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Code == CodeNoSuchID || e.Code == CodeNotFound
	}
	return hub.ErrorCode(err) == hub.ENotFound
}

// apiError is Poster's error, as {"error":{"code","message"}} (the API) or
// {"error":N,"message":...} / {"code","error_type","error_message"} (seen on
// the OAuth endpoint, en/start/authApi.md).
type apiError struct {
	Code    int
	Message string
}

// parseAPIError finds an error in an answer body; ok is false when there is
// none.
func parseAPIError(body []byte) (apiError, bool) {
	var env struct {
		Error        json.RawMessage `json:"error"`
		Message      string          `json:"message"`
		Code         json.RawMessage `json:"code"`
		ErrorMessage string          `json:"error_message"`
		ErrorType    string          `json:"error_type"`
	}
	if json.Unmarshal(body, &env) != nil {
		return apiError{}, false
	}
	if len(env.Error) > 0 && string(env.Error) != "null" {
		var obj struct {
			Code    json.RawMessage `json:"code"`
			Message string          `json:"message"`
		}
		if json.Unmarshal(env.Error, &obj) == nil {
			c, _ := flexInt(obj.Code)
			return apiError{Code: c, Message: obj.Message}, true
		}
		if c, ok := flexInt(env.Error); ok {
			return apiError{Code: c, Message: env.Message}, c != 0
		}
		var s string
		if json.Unmarshal(env.Error, &s) == nil && s != "" {
			return apiError{Message: s}, true
		}
	}
	if c, ok := flexInt(env.Code); ok && c != 0 && (env.ErrorMessage != "" || env.ErrorType != "") {
		msg := env.ErrorMessage
		if msg == "" {
			msg = env.ErrorType
		}
		return apiError{Code: c, Message: msg}, true
	}
	return apiError{}, false
}

// flexInt reads an integer given as a JSON number or string.
func flexInt(raw json.RawMessage) (int, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		n, err := strconv.Atoi(s)
		return n, err == nil
	}
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return n, true
	}
	return 0, false
}

// retryAfter reads a Retry-After header given in seconds or as a date.
func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// transportError classifies a failed round trip: always transient. The URL,
// which carries the token, is stripped from the cause.
func transportError(method string, err error) *Error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := "network error"
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		msg = "timeout"
	} else if errors.Is(err, context.Canceled) {
		msg = "canceled"
	}
	return &Error{Kind: KindTransient, Method: method, Message: msg, Err: err}
}

// Sentinel errors of the webhook and mapping code, as hub coded errors.
var (
	// ErrBadSignature: a webhook's verify is missing or does not match.
	ErrBadSignature = &hub.Error{Code: hub.EUnauthorized, Message: "poster: webhook signature is missing or wrong"}
	// ErrMalformedWebhook: a webhook body is not Poster's JSON shape.
	ErrMalformedWebhook = &hub.Error{Code: hub.EInvalidJSON, Message: "poster: malformed webhook body"}
	// ErrNotClosed: SaleFromTransaction was given a transaction whose
	// status is not 2 (closed).
	ErrNotClosed = &hub.Error{Code: hub.EValidation, Message: "poster: transaction is not closed"}
	// ErrBadAmount: a money or quantity field is not a decimal Poster sends.
	ErrBadAmount = &hub.Error{Code: hub.EValidation, Message: "poster: bad amount"}
)
