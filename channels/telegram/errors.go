package telegram

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/7loc/hub/hub"
)

// call is the tgbotapi.HTTPClient of one API call: it attaches the call's
// context, notes whether the request was written and which HTTP status came
// back, and keeps the bot token out of transport errors.
type call struct {
	ctx    context.Context
	client *http.Client
	token  string
	wrote  atomic.Bool
	status atomic.Int32
}

// Do implements tgbotapi.HTTPClient.
func (c *call) Do(req *http.Request) (*http.Response, error) {
	trace := &httptrace.ClientTrace{WroteRequest: func(info httptrace.WroteRequestInfo) {
		if info.Err == nil {
			c.wrote.Store(true)
		}
	}}
	req = req.WithContext(httptrace.WithClientTrace(c.ctx, trace))
	resp, err := c.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = strings.ReplaceAll(ue.URL, c.token, "<token>")
		}
		return nil, err
	}
	c.status.Store(int32(resp.StatusCode))
	return resp, nil
}

// classify turns a failed call into a *hub.SendError.
func classify(err error, c *call) *hub.SendError {
	var se *hub.SendError
	if errors.As(err, &se) {
		return se
	}
	var api *tgbotapi.Error
	if errors.As(err, &api) {
		return classifyAPI(api, err)
	}
	status := int(c.status.Load())
	e := &hub.SendError{Kind: hub.SendTransient, Err: err}
	switch {
	case isTimeout(err) || errors.Is(err, context.Canceled):
		e.Reason = "timeout"
		if errors.Is(err, context.Canceled) {
			e.Reason = "canceled"
		}
		// No idempotency key in the Bot API: a written request may have
		// been delivered.
		e.MaybeSent = c.wrote.Load()
	case status >= 200 && status < 300:
		// The answer came but could not be read: the message may be out.
		e.Reason, e.Code, e.MaybeSent = "provider_error", strconv.Itoa(status), true
	case status != 0:
		e.Reason, e.Code = "provider_error", strconv.Itoa(status)
	default:
		e.Reason = "provider_down"
	}
	return e
}

// classifyAPI classifies an error answer of the Bot API.
func classifyAPI(api *tgbotapi.Error, err error) *hub.SendError {
	e := &hub.SendError{Kind: hub.SendTransient, Code: strconv.Itoa(api.Code), Reason: "provider_error", Err: err}
	desc := strings.ToLower(api.Message)
	switch {
	case api.Code == http.StatusTooManyRequests:
		e.Kind, e.Reason, e.Scope = hub.SendRateLimited, "rate_limited", hub.ScopeSender
		e.RetryAfter = time.Duration(api.RetryAfter) * time.Second
		if e.RetryAfter <= 0 {
			e.RetryAfter = time.Second
		}
	case api.Code == http.StatusForbidden:
		// bot was blocked by the user, user is deactivated, bot can't
		// initiate conversation with a user, bot was kicked from the chat…
		e.Kind, e.Reason, e.Unreachable = hub.SendPermanent, "blocked", true
	case api.Code == http.StatusBadRequest && badAddress(desc):
		e.Kind, e.Reason, e.Unreachable = hub.SendPermanent, "bad_address", true
	case api.Code == http.StatusBadRequest:
		e.Kind, e.Reason = hub.SendPermanent, "bad_request"
	case api.Code == http.StatusUnauthorized || api.Code == http.StatusNotFound:
		// 401 Unauthorized: wrong token; 404 Not Found: malformed token.
		e.Kind, e.Reason = hub.SendPermanent, "config"
	}
	return e
}

// badAddress reports whether a 400's description says the chat is gone.
func badAddress(desc string) bool {
	for _, s := range []string{"chat not found", "user not found", "peer_id_invalid", "chat_id is empty", "group chat was upgraded"} {
		if strings.Contains(desc, s) {
			return true
		}
	}
	return false
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
