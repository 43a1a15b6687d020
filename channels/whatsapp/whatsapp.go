package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/7loc/hub/hub"
)

// GraphVersion is the Graph API version the sender calls.
const GraphVersion = "v21.0"

// DefaultBaseURL is Meta's Graph API host.
const DefaultBaseURL = "https://graph.facebook.com"

// PairInterval is the pause Meta requires between two messages from one
// business number to the same user (pair rate limit, error 131056).
const PairInterval = 6 * time.Second

// maxResponse bounds how much of a Graph answer is read.
const maxResponse = 1 << 20

// Options are the operator's settings for a Sender.
type Options struct {
	// BaseURL replaces DefaultBaseURL (a fake in tests); "" means Meta.
	BaseURL string
	// Client makes the calls; nil means a client with a 30 s timeout.
	Client *http.Client
	// Logger receives debug notes; nil discards them. Tokens are never logged.
	Logger *slog.Logger
	// Now is the clock that decides whether the window is open; nil means
	// time.Now.
	Now func() time.Time
}

// Sender sends messages from one WhatsApp business phone number and decodes
// that number's webhook calls. It is safe for concurrent use.
type Sender struct {
	base        string
	pnid        string
	token       string
	appSecret   []byte
	verifyToken string
	tplName     string
	tplLang     string
	rate        float64
	client      *http.Client
	log         *slog.Logger
	now         func() time.Time
}

// New validates a business's WhatsApp configuration and returns its sender. It
// makes no network call. Invalid configurations give a validation_failed
// *hub.Error naming the fields.
func New(cfg *hub.ChannelConfig, opt Options) (*Sender, error) {
	if cfg == nil {
		return nil, hub.Errorf(hub.EValidation, "whatsapp: no channel configuration")
	}
	if cfg.Provider != "" && cfg.Provider != hub.ChannelWhatsApp {
		return nil, hub.Errorf(hub.EValidation, "whatsapp: configuration is for provider %q", cfg.Provider)
	}
	get := func(name, def string) string {
		if v := strings.TrimSpace(cfg.Get(name)); v != "" {
			return v
		}
		return def
	}
	p := hub.Problems{}
	for _, name := range []string{"phone_number_id", "access_token", "app_secret", "verify_token", "template_name"} {
		if get(name, "") == "" {
			p.Add(name, "is required")
		}
	}
	pnid := get("phone_number_id", "")
	if pnid != "" && !allDigits(pnid) {
		p.Add("phone_number_id", "must be the numeric phone number id")
	}
	base := strings.TrimRight(opt.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, hub.Errorf(hub.EValidation, "whatsapp: bad base URL %q", base)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	s := &Sender{
		base:        base,
		pnid:        pnid,
		token:       get("access_token", ""),
		appSecret:   []byte(get("app_secret", "")),
		verifyToken: get("verify_token", ""),
		tplName:     get("template_name", ""),
		tplLang:     get("template_language", "en"),
		rate:        cfg.Float("rate_per_second", 80),
		client:      opt.Client,
		log:         opt.Logger,
		now:         opt.Now,
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

// PhoneNumberID returns the business phone number id the sender sends from.
func (s *Sender) PhoneNumberID() string { return s.pnid }

// Limits returns the limits the router enforces before sending m: the phone
// number's throughput and the pair rate limit to m.To (see the package doc).
func (s *Sender) Limits(m hub.Message) []hub.RateLimit {
	return []hub.RateLimit{
		{Key: "whatsapp:" + s.pnid, PerSecond: s.rate, Burst: 1},
		{Key: "whatsapp:" + s.pnid + ":" + m.To, PerSecond: 1 / PairInterval.Seconds(), Burst: 1},
	}
}

// Send sends m as a text message inside the customer-service window and as a
// template outside it (see the package doc). Errors are *hub.SendError.
func (s *Sender) Send(ctx context.Context, m hub.Message) (hub.Receipt, error) {
	if m.Channel != "" && m.Channel != hub.ChannelWhatsApp {
		return hub.Receipt{}, &hub.SendError{Kind: hub.SendPermanent, Reason: "config",
			Err: fmt.Errorf("whatsapp: cannot send a %s message", m.Channel)}
	}
	to, ok := waID(m.To)
	if !ok {
		return hub.Receipt{}, &hub.SendError{Kind: hub.SendPermanent, Reason: "bad_address", Unreachable: true,
			Err: errors.New("whatsapp: recipient is not an E.164 phone number")}
	}
	if m.Text != "" && s.now().Before(m.WindowUntil) {
		rc, err := s.post(ctx, outMessage{
			MessagingProduct: "whatsapp", RecipientType: "individual", To: to, Type: "text",
			Text: &outText{Body: m.Text},
		})
		var se *hub.SendError
		if !errors.As(err, &se) || se.Code != "131047" {
			return rc, err
		}
		s.log.DebugContext(ctx, "whatsapp: window closed at Meta, resending as template",
			"delivery_id", m.DeliveryID, "phone_number_id", s.pnid)
	}
	return s.post(ctx, outMessage{
		MessagingProduct: "whatsapp", RecipientType: "individual", To: to, Type: "template",
		Template: s.template(m),
	})
}

// template returns the template to send for m outside the window.
func (s *Sender) template(m hub.Message) *outTemplate {
	name, lang, params := s.tplName, s.tplLang, []string{m.Text}
	if m.Text == "" {
		params = nil
	}
	if t := m.Template; t != nil && t.Name != "" {
		name, params = t.Name, t.Params
		if t.Language != "" {
			lang = t.Language
		}
	}
	ot := &outTemplate{Name: name, Language: outLanguage{Code: lang}}
	if len(params) > 0 {
		c := outComponent{Type: "body"}
		for _, p := range params {
			c.Parameters = append(c.Parameters, outParam{Type: "text", Text: p})
		}
		ot.Components = []outComponent{c}
	}
	return ot
}

// Wire types of POST /{phone_number_id}/messages.
type (
	outMessage struct {
		MessagingProduct string       `json:"messaging_product"`
		RecipientType    string       `json:"recipient_type"`
		To               string       `json:"to"`
		Type             string       `json:"type"`
		Text             *outText     `json:"text,omitempty"`
		Template         *outTemplate `json:"template,omitempty"`
	}
	outText struct {
		PreviewURL bool   `json:"preview_url"`
		Body       string `json:"body"`
	}
	outTemplate struct {
		Name       string         `json:"name"`
		Language   outLanguage    `json:"language"`
		Components []outComponent `json:"components,omitempty"`
	}
	outLanguage struct {
		Code string `json:"code"`
	}
	outComponent struct {
		Type       string     `json:"type"`
		Parameters []outParam `json:"parameters"`
	}
	outParam struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	sendResponse struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
)

// post sends one message request and classifies the answer.
func (s *Sender) post(ctx context.Context, msg outMessage) (hub.Receipt, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return hub.Receipt{}, &hub.SendError{Kind: hub.SendPermanent, Reason: "bad_request", Err: err}
	}
	endpoint := s.base + "/" + GraphVersion + "/" + url.PathEscape(s.pnid) + "/messages"
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			wrote.Store(true)
		}
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return hub.Receipt{}, &hub.SendError{Kind: hub.SendPermanent, Reason: "config", Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return hub.Receipt{}, transportError(ctx, stripURL(err), wrote.Load())
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		se := transportError(ctx, err, true)
		if resp.StatusCode/100 == 2 {
			se.MaybeSent, se.Reason = true, "provider_error"
		}
		return hub.Receipt{}, se
	}
	if resp.StatusCode/100 == 2 {
		var sr sendResponse
		if err := json.Unmarshal(raw, &sr); err != nil || len(sr.Messages) == 0 || sr.Messages[0].ID == "" {
			return hub.Receipt{}, &hub.SendError{Kind: hub.SendTransient, Reason: "provider_error", MaybeSent: true,
				Err: fmt.Errorf("whatsapp: HTTP %d without a message id", resp.StatusCode)}
		}
		return hub.Receipt{ProviderMessageID: sr.Messages[0].ID}, nil
	}
	return hub.Receipt{}, classify(resp.StatusCode, resp.Header, raw)
}

// stripURL drops the request URL from a transport error (it names the phone
// number id only, but errors should stay short and stable).
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// waID turns an E.164 address into the digits Meta expects.
func waID(addr string) (string, bool) {
	d, ok := strings.CutPrefix(addr, "+")
	if !ok || len(d) < 7 || len(d) > 15 || !allDigits(d) || d[0] == '0' {
		return "", false
	}
	return d, true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
