package gateway

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
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
)

// maxResponse bounds how much of an answer is read.
const maxResponse = 1 << 20

// messengers are the channels a gateway can carry.
var messengers = []string{hub.ChannelWhatsApp, hub.ChannelTelegram, hub.ChannelViber}

// Options are the operator's settings for a Sender.
type Options struct {
	// BaseURL replaces the configured url (a fake in tests); "" means the
	// configuration's url.
	BaseURL string
	// Client makes the calls; nil means a client with a 30 s timeout.
	Client *http.Client
	// Logger receives debug notes; nil discards them. Secrets are never logged.
	Logger *slog.Logger
	// Now is the clock of signatures; nil means time.Now.
	Now func() time.Time
}

// Sender sends a business's messenger messages through its gateway and
// decodes the gateway's callbacks. It is safe for concurrent use.
type Sender struct {
	endpoint string
	limitKey string
	key      []byte
	channels []string
	rate     float64
	client   *http.Client
	log      *slog.Logger
	now      func() time.Time
}

// New validates a business's gateway configuration and returns its sender. It
// makes no network call. Invalid configurations give a validation_failed
// *hub.Error naming the fields.
func New(cfg *hub.ChannelConfig, opt Options) (*Sender, error) {
	if cfg == nil {
		return nil, hub.Errorf(hub.EValidation, "gateway: no channel configuration")
	}
	if cfg.Provider != "" && cfg.Provider != hub.ProviderGateway {
		return nil, hub.Errorf(hub.EValidation, "gateway: configuration is for provider %q", cfg.Provider)
	}
	p := hub.Problems{}
	rawURL := strings.TrimRight(strings.TrimSpace(cfg.Get("url")), "/")
	if rawURL == "" {
		p.Add("url", "is required")
	} else if u, err := url.Parse(rawURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		p.Add("url", "must be an http(s) URL")
	}
	secret := cfg.Get("secret")
	var key []byte
	if secret == "" {
		p.Add("secret", "is required")
	} else if k, err := SigningKey(secret); err != nil {
		p.Add("secret", "a whsec_ secret must be base64 after the prefix")
	} else {
		key = k
	}
	chans := cfg.Get("channels")
	if chans == "" {
		chans = strings.Join(messengers, ",")
	}
	var channels []string
	for c := range strings.SplitSeq(chans, ",") {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if !slices.Contains(messengers, c) {
			p.Add("channels", "may list only whatsapp, telegram and viber")
			continue
		}
		channels = append(channels, c)
	}
	if len(channels) == 0 {
		p.Add("channels", "must list at least one channel")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(rawURL))
	base := strings.TrimRight(opt.BaseURL, "/")
	if base == "" {
		base = rawURL
	}
	s := &Sender{
		endpoint: base + "/messages",
		limitKey: "gateway:" + hex.EncodeToString(sum[:])[:12],
		key:      key,
		channels: channels,
		rate:     cfg.Float("rate_per_second", 50),
		client:   opt.Client,
		log:      opt.Logger,
		now:      opt.Now,
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: 30 * time.Second}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Channels returns the channels this gateway carries for the business.
func (s *Sender) Channels() []string { return slices.Clone(s.channels) }

// Limits returns the gateway's rate limit (see the package doc).
func (s *Sender) Limits(hub.Message) []hub.RateLimit {
	return []hub.RateLimit{{Key: s.limitKey, PerSecond: s.rate, Burst: 1}}
}

// OutMessage is the body of POST {url}/messages.
type OutMessage struct {
	ID       string                `json:"id"`
	Channel  string                `json:"channel"`
	To       string                `json:"to"`
	Text     string                `json:"text"`
	Template *hub.ApprovedTemplate `json:"template,omitempty"`
	Language string                `json:"language,omitempty"`
}

// Accepted is the gateway's answer to an accepted message.
type Accepted struct {
	MessageID string `json:"message_id"`
	Status    string `json:"status"`
}

// ErrorBody is the gateway's error answer.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Error is the gateway's refusal as the error in a *hub.SendError's chain.
type Error struct {
	HTTPStatus int
	Code       string
	Message    string
}

// Error implements error.
func (e *Error) Error() string {
	s := fmt.Sprintf("gateway: HTTP %d", e.HTTPStatus)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Send hands m to the gateway. Errors are *hub.SendError (see the package doc).
func (s *Sender) Send(ctx context.Context, m hub.Message) (hub.Receipt, error) {
	if !slices.Contains(s.channels, m.Channel) {
		return hub.Receipt{}, &hub.SendError{Kind: hub.SendPermanent, Reason: "config",
			Err: fmt.Errorf("gateway: channel %q is not carried by this gateway", m.Channel)}
	}
	if m.DeliveryID == "" {
		return hub.Receipt{}, &hub.SendError{Kind: hub.SendPermanent, Reason: "bad_request",
			Err: errors.New("gateway: a message needs a delivery id (the idempotency key)")}
	}
	if m.To == "" {
		return hub.Receipt{}, &hub.SendError{Kind: hub.SendPermanent, Reason: "bad_address", Unreachable: true,
			Err: errors.New("gateway: no address")}
	}
	body, err := json.Marshal(OutMessage{ID: m.DeliveryID, Channel: m.Channel, To: m.To, Text: m.Text,
		Template: m.Template, Language: m.Language})
	if err != nil {
		return hub.Receipt{}, &hub.SendError{Kind: hub.SendPermanent, Reason: "bad_request", Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return hub.Receipt{}, &hub.SendError{Kind: hub.SendPermanent, Reason: "config", Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Idempotency-Key", m.DeliveryID)
	Sign(req.Header, s.key, m.DeliveryID, s.now(), body)
	resp, err := s.client.Do(req)
	if err != nil {
		return hub.Receipt{}, transportError(ctx, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return hub.Receipt{}, transportError(ctx, err)
	}
	if resp.StatusCode/100 == 2 {
		var a Accepted
		if err := json.Unmarshal(raw, &a); err != nil || a.MessageID == "" {
			return hub.Receipt{}, &hub.SendError{Kind: hub.SendTransient, Reason: "provider_error",
				Code: strconv.Itoa(resp.StatusCode), Err: fmt.Errorf("gateway: HTTP %d without a message_id", resp.StatusCode)}
		}
		return hub.Receipt{ProviderMessageID: a.MessageID}, nil
	}
	se := classify(resp.StatusCode, resp.Header, raw)
	s.log.DebugContext(ctx, "gateway: message refused", "delivery_id", m.DeliveryID, "status", resp.StatusCode,
		"code", se.Code)
	return hub.Receipt{}, se
}

// classify turns a non-2xx answer into a *hub.SendError.
func classify(status int, h http.Header, body []byte) *hub.SendError {
	var eb ErrorBody
	_ = json.Unmarshal(body, &eb)
	ge := &Error{HTTPStatus: status, Code: eb.Error.Code, Message: eb.Error.Message}
	se := &hub.SendError{Code: ge.Code, Err: ge}
	if se.Code == "" {
		se.Code = strconv.Itoa(status)
	}
	switch {
	case status == http.StatusTooManyRequests:
		se.Kind, se.Reason, se.Scope, se.RetryAfter = hub.SendRateLimited, "rate_limited", hub.ScopeSender, time.Second
		if ge.Code == "recipient_rate_limited" {
			se.Scope = hub.ScopeRecipient
		}
		if d, ok := retryAfter(h); ok {
			se.RetryAfter = d
		}
	case status >= 500:
		se.Kind, se.Reason = hub.SendTransient, "provider_error"
	case ge.Code == "blocked" || ge.Code == "unsubscribed":
		se.Kind, se.Reason, se.Unreachable = hub.SendPermanent, ge.Code, true
	case ge.Code == "invalid_recipient":
		se.Kind, se.Reason, se.Unreachable = hub.SendPermanent, "bad_address", true
	case ge.Code == "window_closed":
		se.Kind, se.Reason = hub.SendPermanent, "window_closed"
	case ge.Code == "unauthorized" || ge.Code == "channel_disabled" ||
		status == http.StatusUnauthorized || status == http.StatusForbidden:
		se.Kind, se.Reason = hub.SendPermanent, "config"
	case status == http.StatusConflict || ge.Code == "in_progress":
		se.Kind, se.Reason = hub.SendTransient, "provider_error"
	case status == http.StatusRequestTimeout:
		se.Kind, se.Reason = hub.SendTransient, "timeout"
	default:
		se.Kind, se.Reason = hub.SendPermanent, "bad_request"
	}
	return se
}

// retryAfter reads a Retry-After header (seconds or an HTTP date).
func retryAfter(h http.Header) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
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

// transportError classifies a failed round trip. The gateway deduplicates on
// the idempotency key, so nothing is ever MaybeSent.
func transportError(ctx context.Context, err error) *hub.SendError {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &hub.SendError{Kind: hub.SendTransient, Reason: "timeout", Err: err}
	}
	return &hub.SendError{Kind: hub.SendTransient, Reason: "provider_down", Err: err}
}
