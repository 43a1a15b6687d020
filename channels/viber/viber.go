package viber

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/7loc/hub/hub"
)

// DefaultBaseURL is the Viber REST bot API's address.
const DefaultBaseURL = "https://chatapi.viber.com"

// DefaultTimeout bounds one API call unless Options.Timeout says otherwise.
const DefaultTimeout = 10 * time.Second

// AuthHeader carries the bot's token in every API call.
const AuthHeader = "X-Viber-Auth-Token"

// Status codes of the REST bot API's answers (HTTP is 200 even on errors).
const (
	StatusOK                       = 0
	StatusInvalidURL               = 1
	StatusInvalidAuthToken         = 2
	StatusBadData                  = 3
	StatusMissingData              = 4
	StatusReceiverNotRegistered    = 5
	StatusReceiverNotSubscribed    = 6
	StatusPublicAccountBlocked     = 7
	StatusPublicAccountNotFound    = 8
	StatusPublicAccountSuspended   = 9
	StatusWebhookNotSet            = 10
	StatusReceiverNoSuitableDevice = 11
	StatusTooManyRequests          = 12
)

// Options are the operator's settings of the Viber channel.
type Options struct {
	// BaseURL is the API's address; "" means DefaultBaseURL.
	BaseURL string
	// Client performs the HTTP calls; nil means a client without a timeout
	// (each call is bounded by Timeout).
	Client *http.Client
	// Logger is accepted like every channel's; the Viber sender has nothing
	// to log today (all failures are returned).
	Logger *slog.Logger
	// Now is the clock used when a callback carries no timestamp.
	Now func() time.Time
	// Timeout bounds one API call; 0 means DefaultTimeout.
	Timeout time.Duration
}

// Sender sends messages with one business's Viber bot. It is safe for
// concurrent use.
type Sender struct {
	token   string
	name    string
	avatar  string
	uri     string
	rate    float64
	key     string
	base    string
	client  *http.Client
	now     func() time.Time
	timeout time.Duration
}

// New validates a Viber configuration and returns its sender; it makes no
// network call.
func New(cfg *hub.ChannelConfig, opt Options) (*Sender, error) {
	if cfg == nil {
		return nil, hub.Errorf(hub.EValidation, "viber: no configuration")
	}
	s := &Sender{
		token:   cfg.Get("auth_token"),
		name:    cfg.Get("sender_name"),
		avatar:  cfg.Get("sender_avatar"),
		uri:     cfg.Get("uri"),
		rate:    cfg.Float("rate_per_second", 20),
		base:    strings.TrimRight(opt.BaseURL, "/"),
		client:  opt.Client,
		now:     opt.Now,
		timeout: opt.Timeout,
	}
	for _, f := range []struct{ name, value string }{{"auth_token", s.token}, {"sender_name", s.name}, {"uri", s.uri}} {
		if f.value == "" {
			return nil, hub.Errorf(hub.EValidation, "viber: %s is required", f.name)
		}
	}
	sum := sha256.Sum256([]byte(s.token))
	s.key = "viber:" + hex.EncodeToString(sum[:])[:12]
	if s.base == "" {
		s.base = DefaultBaseURL
	}
	if u, err := url.Parse(s.base); err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("viber: invalid base URL %q", opt.BaseURL)
	}
	if s.client == nil {
		s.client = &http.Client{}
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	return s, nil
}

type sendRequest struct {
	Receiver      string `json:"receiver"`
	MinAPIVersion int    `json:"min_api_version"`
	Sender        sender `json:"sender"`
	TrackingData  string `json:"tracking_data,omitempty"`
	Type          string `json:"type"`
	Text          string `json:"text"`
}

type sender struct {
	Name   string `json:"name"`
	Avatar string `json:"avatar,omitempty"`
}

// answer is the API's JSON answer; message_token is kept as a json.Number so
// that 64-bit tokens survive.
type answer struct {
	Status        *int        `json:"status"`
	StatusMessage string      `json:"status_message"`
	MessageToken  json.Number `json:"message_token"`
}

// Send sends m.Text to the Viber user m.To, with the delivery id as
// tracking_data. Errors are *hub.SendError.
func (s *Sender) Send(ctx context.Context, m hub.Message) (hub.Receipt, error) {
	body, err := json.Marshal(sendRequest{
		Receiver:      m.To,
		MinAPIVersion: 1,
		Sender:        sender{Name: s.name, Avatar: s.avatar},
		TrackingData:  m.DeliveryID,
		Type:          "text",
		Text:          m.Text,
	})
	if err != nil {
		return hub.Receipt{}, &hub.SendError{Kind: hub.SendPermanent, Reason: "bad_request", Err: err}
	}
	a, err := s.call(ctx, "/pa/send_message", body)
	if err != nil {
		return hub.Receipt{}, err
	}
	return hub.Receipt{ProviderMessageID: a.MessageToken.String()}, nil
}

// Limits returns the bot's limit; the key names the bot by a hash of its
// token, never the token.
func (s *Sender) Limits(hub.Message) []hub.RateLimit {
	return []hub.RateLimit{{Key: s.key, PerSecond: s.rate, Burst: 1}}
}

// LinkURL returns the deep link that opens the bot's chat; Viber then calls
// the webhook with conversation_started carrying token as its context.
func (s *Sender) LinkURL(token string) string {
	return "viber://pa?chatURI=" + url.QueryEscape(s.uri) + "&context=" + url.QueryEscape(token)
}

// WebhookEvents are the callbacks SetWebhook subscribes to (message,
// subscribed and unsubscribed are always sent).
var WebhookEvents = []string{"delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"}

// SetWebhook registers url as the bot's webhook. Viber checks it at once
// with a signed "webhook" callback, which Decode accepts.
func (s *Sender) SetWebhook(ctx context.Context, url string) error {
	body, _ := json.Marshal(map[string]any{"url": url, "event_types": WebhookEvents, "send_name": true, "send_photo": false})
	_, err := s.call(ctx, "/pa/set_webhook", body)
	return err
}

// call posts a JSON body to an API path and classifies any failure.
func (s *Sender) call(ctx context.Context, path string, body []byte) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(info httptrace.WroteRequestInfo) {
		if info.Err == nil {
			wrote.Store(true)
		}
	}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+path, bytes.NewReader(body))
	if err != nil {
		return answer{}, &hub.SendError{Kind: hub.SendPermanent, Reason: "config", Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(AuthHeader, s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		return answer{}, transportError(err, wrote.Load())
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		e := transportError(err, true)
		e.Code = strconv.Itoa(resp.StatusCode)
		return answer{}, e
	}
	if resp.StatusCode != http.StatusOK {
		return answer{}, &hub.SendError{Kind: hub.SendTransient, Code: strconv.Itoa(resp.StatusCode), Reason: "provider_error",
			Err: fmt.Errorf("viber: HTTP %d", resp.StatusCode)}
	}
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil || a.Status == nil {
		if err == nil {
			err = errors.New("no status")
		}
		// The answer came but cannot be read: the message may be out.
		return answer{}, &hub.SendError{Kind: hub.SendTransient, Code: "200", Reason: "provider_error", MaybeSent: true,
			Err: fmt.Errorf("viber: unreadable answer: %w", err)}
	}
	if *a.Status != StatusOK {
		return answer{}, classify(*a.Status, a.StatusMessage)
	}
	return a, nil
}

// classify turns a non-zero status into a *hub.SendError.
func classify(status int, message string) *hub.SendError {
	e := &hub.SendError{Kind: hub.SendPermanent, Code: strconv.Itoa(status),
		Err: fmt.Errorf("viber: status %d %s", status, message)}
	switch status {
	case StatusReceiverNotRegistered:
		e.Reason, e.Unreachable = "bad_address", true
	case StatusReceiverNotSubscribed:
		e.Reason, e.Unreachable = "unsubscribed", true
	case StatusReceiverNoSuitableDevice:
		e.Reason, e.Unreachable = "bad_address", true
	case StatusTooManyRequests:
		e.Kind, e.Reason, e.Scope, e.RetryAfter = hub.SendRateLimited, "rate_limited", hub.ScopeSender, time.Second
	case StatusInvalidAuthToken, StatusPublicAccountBlocked, StatusPublicAccountNotFound,
		StatusPublicAccountSuspended, StatusWebhookNotSet:
		e.Reason = "config"
	case StatusBadData, StatusMissingData:
		e.Reason = "bad_request"
	default:
		e.Kind, e.Reason = hub.SendTransient, "provider_error"
	}
	return e
}

// transportError classifies a failed round trip; wrote says whether the
// request had been written (Viber takes no idempotency key, so a timeout
// after that may hide a delivered message).
func transportError(err error, wrote bool) *hub.SendError {
	e := &hub.SendError{Kind: hub.SendTransient, Reason: "provider_down", Err: err}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		e.Reason, e.MaybeSent = "timeout", wrote
	case errors.Is(err, context.Canceled):
		e.Reason, e.MaybeSent = "canceled", wrote
	}
	return e
}
