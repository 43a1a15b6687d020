package hub

import (
	"errors"
	"fmt"
)

// Code classifies an error for callers; the HTTP layer maps each code to a status.
type Code string

// Error codes of the public contract.
const (
	EInvalidJSON         Code = "invalid_json"
	EUnauthorized        Code = "unauthorized"
	ENotFound            Code = "not_found"
	EConflict            Code = "conflict"
	EAlreadyRedeemed     Code = "already_redeemed"
	EVoucherExpired      Code = "voucher_expired"
	EIdempotencyMismatch Code = "idempotency_mismatch"
	EPayloadTooLarge     Code = "payload_too_large"
	// EUnsupportedMediaType: a body declared as something other than JSON.
	EUnsupportedMediaType Code = "unsupported_media_type"
	EValidation           Code = "validation_failed"
	ERateLimited          Code = "rate_limited"
	EInternal             Code = "internal"
	EUnavailable          Code = "unavailable"
)

// Error is a domain error with a code, a message safe to show to API users and,
// for validation errors, the offending fields (JSON paths) with their problems.
type Error struct {
	Code    Code
	Message string
	Fields  map[string]string
	// Err is the underlying cause; it is logged, never shown.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// NotFound returns the not_found error for a kind of object ("card", "voucher").
func NotFound(what string) *Error {
	return &Error{Code: ENotFound, Message: what + " not found"}
}

// Unavailable wraps an infrastructure failure (database or Redis down).
func Unavailable(what string, err error) *Error {
	return &Error{Code: EUnavailable, Message: what + " is unavailable, try again later", Err: err}
}

// ErrorCode returns the code of err: the code of the first *Error in its chain,
// EInternal for any other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the user-facing message of err; internals never leak.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EInternal {
		return e.Message
	}
	return "internal error"
}

// ErrorFields returns the per-field problems of a validation error, or nil.
func ErrorFields(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// Problems collects validation problems by JSON path.
type Problems map[string]string

// Add records a problem for a field unless one is already recorded.
func (p Problems) Add(field, problem string) {
	if _, ok := p[field]; !ok {
		p[field] = problem
	}
}

// Err returns a validation_failed error listing the problems, or nil when there are none.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return &Error{Code: EValidation, Message: "the request has invalid fields", Fields: map[string]string(p)}
}
