package syrve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kind says what a worker should do about an error.
type Kind string

// Error kinds.
const (
	// KindPermanent: the same call will fail again; do not retry.
	KindPermanent Kind = "permanent"
	// KindTransient: a timeout, a dropped connection or a 5xx; retry later
	// (after RetryAfter when it is set).
	KindTransient Kind = "transient"
	// KindRateLimited: HTTP 429; retry after RetryAfter (DefaultRetryAfter
	// when Syrve sent no Retry-After).
	KindRateLimited Kind = "rate_limited"
	// KindAuth: the apiLogin was refused, or a fresh token was refused; the
	// operator must fix the connection. Not retryable.
	KindAuth Kind = "auth"
)

// DefaultRetryAfter is the pause given to a rate-limited error without a
// Retry-After header.
const DefaultRetryAfter = time.Second

// ErrNotFound is the error Order returns when Syrve knows no table or delivery
// order with that id in the organization.
var ErrNotFound = errors.New("syrve: not found")

// Error is a failed Syrve call: an error answer
// ({"errorDescription","error","correlationId"}), an HTTP status without one,
// or a transport failure.
type Error struct {
	// Kind classifies the error for retrying.
	Kind Kind
	// Op is the API path that was called, e.g. "/api/1/order/by_id".
	Op string
	// Status is the HTTP status; 0 for a transport failure.
	Status int
	// Code is the answer's "error" field (Syrve's error code), when given.
	Code string
	// Description is the answer's "errorDescription".
	Description string
	// CorrelationID is the answer's "correlationId", for Syrve support.
	CorrelationID string
	// RetryAfter is the pause Syrve asked for (Retry-After), or
	// DefaultRetryAfter for a 429 without one; 0 otherwise.
	RetryAfter time.Duration
	// Err is the underlying error of a transport failure.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "syrve %s: %s", e.Op, e.Kind)
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Description != "" {
		b.WriteString(": " + e.Description)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if e.CorrelationID != "" {
		b.WriteString(" [correlationId " + e.CorrelationID + "]")
	}
	return b.String()
}

// Unwrap returns the underlying transport error.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether the call may succeed when made again later.
func (e *Error) Retryable() bool { return e.Kind == KindTransient || e.Kind == KindRateLimited }

// KindOf returns the Kind of err: the Kind of an *Error in its chain,
// transient for a context deadline, permanent for anything else.
func KindOf(err error) Kind {
	var se *Error
	switch {
	case errors.As(err, &se):
		return se.Kind
	case errors.Is(err, context.DeadlineExceeded):
		return KindTransient
	default:
		return KindPermanent
	}
}

// errorAnswer is Syrve's error body (iikoTransport.PublicApi.Contracts.Errors.ErrorResponse).
type errorAnswer struct {
	CorrelationID    string `json:"correlationId"`
	ErrorDescription string `json:"errorDescription"`
	Error            string `json:"error"`
}

// classify turns a non-2xx answer into an *Error. token is true for the
// access_token call, where 400 and 401 mean the apiLogin was refused.
func classify(op string, status int, h http.Header, ans errorAnswer, token bool) *Error {
	e := &Error{Op: op, Status: status, Code: ans.Error, Description: ans.ErrorDescription,
		CorrelationID: ans.CorrelationID}
	switch {
	case status == http.StatusTooManyRequests:
		e.Kind, e.RetryAfter = KindRateLimited, DefaultRetryAfter
	case status >= 500 || status == http.StatusRequestTimeout:
		e.Kind = KindTransient
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Kind = KindAuth
	case token && status == http.StatusBadRequest:
		e.Kind = KindAuth
	default:
		e.Kind = KindPermanent
	}
	if e.Retryable() {
		if d, ok := retryAfter(h, time.Now); ok {
			e.RetryAfter = d
		}
	}
	return e
}

// retryAfter reads a Retry-After header in seconds or as an HTTP date.
func retryAfter(h http.Header, now func() time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now()), 0), true
	}
	return 0, false
}

// transportError classifies a failed round trip (refused or dropped
// connection, timeout): always transient.
func transportError(op string, err error) *Error {
	return &Error{Kind: KindTransient, Op: op, Err: err}
}
