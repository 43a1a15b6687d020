package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/7loc/hub/hub"
)

// GraphError is the error object of a Graph API error answer.
type GraphError struct {
	Message   string          `json:"message"`
	Type      string          `json:"type"`
	Code      int             `json:"code"`
	Subcode   int             `json:"error_subcode,omitempty"`
	ErrorData json.RawMessage `json:"error_data,omitempty"`
	FBTraceID string          `json:"fbtrace_id,omitempty"`
}

// Details returns error_data.details when error_data is an object.
func (e *GraphError) Details() string {
	var d struct {
		Details string `json:"details"`
	}
	if len(e.ErrorData) > 0 && json.Unmarshal(e.ErrorData, &d) == nil {
		return d.Details
	}
	return ""
}

// Error implements error.
func (e *GraphError) Error() string {
	s := fmt.Sprintf("graph error %d", e.Code)
	if e.Subcode != 0 {
		s += fmt.Sprintf("/%d", e.Subcode)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if d := e.Details(); d != "" {
		s += " (" + d + ")"
	}
	return s
}

// rule is how one Graph code is classified.
type rule struct {
	kind        hub.SendErrorKind
	reason      string
	unreachable bool
	scope       string
	retryAfter  time.Duration
}

var (
	rlSender = func(d time.Duration) rule {
		return rule{hub.SendRateLimited, "rate_limited", false, hub.ScopeSender, d}
	}
	permanent  = func(reason string) rule { return rule{kind: hub.SendPermanent, reason: reason} }
	unreach    = func(reason string) rule { return rule{kind: hub.SendPermanent, reason: reason, unreachable: true} }
	transient  = func(reason string) rule { return rule{kind: hub.SendTransient, reason: reason} }
	graphRules = map[int]rule{
		130429: rlSender(time.Second),
		4:      rlSender(time.Minute),
		80007:  rlSender(time.Minute),
		131048: rlSender(time.Hour),
		131056: {hub.SendRateLimited, "rate_limited", false, hub.ScopeRecipient, PairInterval},

		131026: unreach("bad_address"),
		131021: unreach("bad_address"),
		131050: unreach("unsubscribed"),
		131047: permanent("window_closed"),
		131049: permanent("ecosystem_limit"),

		190: permanent("config"), 10: permanent("config"), 3: permanent("config"),
		131031: permanent("config"), 131042: permanent("config"), 133010: permanent("config"), 368: permanent("config"),

		100: permanent("bad_request"), 131008: permanent("bad_request"), 131009: permanent("bad_request"),
		131051: permanent("bad_request"), 135000: permanent("bad_request"),

		131000: transient("provider_error"), 1: transient("provider_error"), 2: transient("provider_error"),
		131057: transient("provider_error"),
		131016: transient("provider_down"),
	}
)

// ruleFor returns the rule of a Graph code, falling back on the HTTP status.
func ruleFor(status int, ge *GraphError) rule {
	if ge != nil {
		switch {
		case ge.Code == 100 && ge.Subcode == 33:
			return permanent("config") // the phone number id does not exist for this token
		case ge.Code >= 200 && ge.Code <= 299:
			return permanent("config") // Graph permission errors
		case ge.Code >= 132000 && ge.Code <= 132016:
			return permanent("bad_request") // template errors
		}
		if r, ok := graphRules[ge.Code]; ok {
			return r
		}
	}
	switch {
	case status == http.StatusTooManyRequests:
		return rlSender(time.Second)
	case status >= 500:
		return transient("provider_error")
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return permanent("config")
	default:
		return permanent("provider_error")
	}
}

// classify turns a non-2xx Graph answer into a *hub.SendError.
func classify(status int, header http.Header, body []byte) *hub.SendError {
	var env struct {
		Error *GraphError `json:"error"`
	}
	_ = json.Unmarshal(body, &env)
	ge := env.Error
	r := ruleFor(status, ge)
	se := &hub.SendError{Kind: r.kind, Reason: r.reason, Unreachable: r.unreachable}
	if ge != nil {
		se.Code = strconv.Itoa(ge.Code)
		se.Err = ge
	} else {
		se.Code = strconv.Itoa(status)
		se.Err = fmt.Errorf("whatsapp: HTTP %d", status)
	}
	if r.kind == hub.SendRateLimited {
		se.Scope = r.scope
		se.RetryAfter = r.retryAfter
		if d, ok := retryAfter(header); ok {
			se.RetryAfter = d
		}
	}
	return se
}

// retryAfter reads a Retry-After header given in seconds.
func retryAfter(h http.Header) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// transportError classifies a failed round trip: timeouts are "timeout" (with
// MaybeSent when the request was written), anything else "provider_down".
func transportError(ctx context.Context, err error, wrote bool) *hub.SendError {
	var ne net.Error
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &hub.SendError{Kind: hub.SendTransient, Reason: "timeout", MaybeSent: wrote, Err: err}
	}
	return &hub.SendError{Kind: hub.SendTransient, Reason: "provider_down", Err: err}
}
