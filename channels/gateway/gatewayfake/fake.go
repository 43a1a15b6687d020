// Package gatewayfake is a scriptable messenger gateway: the far side of the
// protocol in package gateway, for tests and benchmarks of any package.
//
// A Server serves POST /messages: it verifies the Standard-Webhooks-style
// signature (401 when missing, wrong or stale), deduplicates on
// Idempotency-Key (a repeat gets the first answer and is counted once; 5xx,
// 429 and 409 answers are not remembered, so a retry can succeed), records accepted
// messages and answers 202 {"message_id","status":"queued"}. Tests script it:
// fail the next N calls or every call to one address with any answer,
// rate-limit with Retry-After, be slow, or be down (drop connections).
// Callback helpers sign events and post them (or hand them over as
// hub.InboundRequest) the way the gateway calls the hub. The signing here is
// written independently of package gateway, so each checks the other. All
// methods are safe for concurrent use.
package gatewayfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/7loc/hub/hub"
)

// DefaultSecret is the shared secret when Config.Secret is empty.
const DefaultSecret = "gateway-test-secret"

// Tolerance is how far a request's timestamp may be from the server's clock.
const Tolerance = 5 * time.Minute

// Config sets up a Server; zero fields take the defaults.
type Config struct {
	// Secret signs both directions; "whsec_<base64>" is decoded like
	// Standard Webhooks secrets.
	Secret string
	// Now is the clock for timestamps; nil means time.Now.
	Now func() time.Time
}

// Message is a message the gateway accepted.
type Message struct {
	// MessageID is the gateway's id (the answer's message_id).
	MessageID string
	// ID is the hub's delivery id from the body; IdempotencyKey the header.
	ID             string
	IdempotencyKey string
	Channel        string
	To             string
	Text           string
	Template       *hub.ApprovedTemplate
	Language       string
	At             time.Time
}

// Failure is a scripted answer.
type Failure struct {
	// Status is the HTTP status (e.g. 422, 429, 503).
	Status int
	// Code and Message fill {"error":{"code","message"}}; an empty Code sends
	// no body.
	Code    string
	Message string
	// RetryAfter sets the Retry-After header (whole seconds) when positive.
	RetryAfter time.Duration
}

// Failures the gateway answers for unreachable customers.
var (
	Blocked          = Failure{Status: http.StatusUnprocessableEntity, Code: "blocked", Message: "the customer blocked the bot"}
	Unsubscribed     = Failure{Status: http.StatusUnprocessableEntity, Code: "unsubscribed", Message: "the customer unsubscribed"}
	InvalidRecipient = Failure{Status: http.StatusUnprocessableEntity, Code: "invalid_recipient", Message: "no such user on the channel"}
	WindowClosed     = Failure{Status: http.StatusUnprocessableEntity, Code: "window_closed", Message: "outside the 24-hour window and no template"}
	Unavailable      = Failure{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "upstream messenger unavailable"}
)

// RateLimited is the 429 answer with a Retry-After.
func RateLimited(retryAfter time.Duration) Failure {
	return Failure{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: "slow down", RetryAfter: retryAfter}
}

type answer struct {
	status int
	header http.Header
	body   []byte
	hash   [32]byte
}

// Server is a fake messenger gateway. Close it when done.
type Server struct {
	// URL is the gateway's base URL (the configuration's url).
	URL    string
	srv    *httptest.Server
	secret string
	key    []byte
	now    func() time.Time

	mu       sync.Mutex
	calls    int
	rejected int
	seq      int
	messages []Message
	answers  map[string]*answer
	failNext []Failure
	failTo   map[string]Failure
	delay    time.Duration
	down     bool
}

// New starts a fake gateway.
func New(cfg Config) *Server {
	if cfg.Secret == "" {
		cfg.Secret = DefaultSecret
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{secret: cfg.Secret, key: signingKey(cfg.Secret), now: cfg.Now, answers: map[string]*answer{}, failTo: map[string]Failure{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// ChannelConfig returns an enabled gateway configuration for this server.
// channels "" means the default (all three messengers).
func (s *Server) ChannelConfig(businessID, channels string) *hub.ChannelConfig {
	settings := map[string]string{"url": s.URL}
	if channels != "" {
		settings["channels"] = channels
	}
	return &hub.ChannelConfig{BusinessID: businessID, Provider: hub.ProviderGateway, Enabled: true,
		Settings: settings, Secrets: map[string]string{"secret": s.secret}}
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// FailNext answers the next n correctly signed, new calls with f.
func (s *Server) FailNext(n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, f)
	}
}

// FailTo answers every message to an address on a channel with f until
// ClearFailures (e.g. Blocked, Unsubscribed, InvalidRecipient).
func (s *Server) FailTo(channel, to string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failTo[channel+"\x00"+to] = f
}

// ClearFailures forgets scripted failures.
func (s *Server) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failTo = nil, map[string]Failure{}
}

// SetDelay makes every call wait d before answering (or until the client
// gives up); the message is accepted all the same.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetDown makes the server drop every connection without an answer (true)
// or serve again (false).
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
	if down {
		s.srv.CloseClientConnections()
	}
}

// Messages returns the accepted messages in order, each once.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	copy(out, s.messages)
	return out
}

// Calls returns how many requests reached the server, repeats and rejected
// ones included.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Rejected returns how many requests had a missing, wrong or stale signature.
func (s *Server) Rejected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rejected
}

// Reset forgets messages, remembered answers, counters, failures, delay and
// the down state.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls, s.rejected, s.messages, s.failNext, s.delay, s.down = 0, 0, nil, nil, 0, false
	s.answers, s.failTo = map[string]*answer{}, map[string]Failure{}
}

// request is the body of POST /messages.
type request struct {
	ID       string                `json:"id"`
	Channel  string                `json:"channel"`
	To       string                `json:"to"`
	Text     string                `json:"text"`
	Template *hub.ApprovedTemplate `json:"template"`
	Language string                `json:"language"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls++
	down, delay := s.down, s.delay
	s.mu.Unlock()
	if down {
		drop(w)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		write(w, &answer{status: http.StatusRequestEntityTooLarge, body: errorBody("too_large", "body too large")})
		return
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	if r.Method != http.MethodPost || r.URL.Path != "/messages" {
		write(w, &answer{status: http.StatusNotFound, body: errorBody("not_found", "no such endpoint")})
		return
	}
	if err := verify(r.Header, s.key, body, s.now()); err != "" {
		s.mu.Lock()
		s.rejected++
		s.mu.Unlock()
		write(w, &answer{status: http.StatusUnauthorized, body: errorBody("unauthorized", err)})
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		write(w, &answer{status: http.StatusBadRequest, body: errorBody("invalid_request", "Idempotency-Key is required")})
		return
	}
	hash := sha256.Sum256(body)

	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.answers[key]; ok {
		if prev.hash != hash {
			write(w, &answer{status: http.StatusUnprocessableEntity,
				body: errorBody("idempotency_mismatch", "Idempotency-Key reused with another body")})
			return
		}
		write(w, prev)
		return
	}
	a := s.handle(key, body)
	a.hash = hash
	if a.status < 500 && a.status != http.StatusTooManyRequests && a.status != http.StatusConflict {
		s.answers[key] = a
	}
	write(w, a)
}

// handle answers a new message; s.mu is held.
func (s *Server) handle(key string, body []byte) *answer {
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		return &answer{status: http.StatusBadRequest, body: errorBody("invalid_request", "body is not JSON")}
	}
	switch {
	case req.ID == "" || req.To == "":
		return &answer{status: http.StatusBadRequest, body: errorBody("invalid_request", "id and to are required")}
	case req.Channel != hub.ChannelWhatsApp && req.Channel != hub.ChannelTelegram && req.Channel != hub.ChannelViber:
		return &answer{status: http.StatusBadRequest, body: errorBody("invalid_request", "unknown channel")}
	case req.Text == "" && (req.Template == nil || req.Template.Name == ""):
		return &answer{status: http.StatusBadRequest, body: errorBody("invalid_request", "text or template is required")}
	}
	if len(s.failNext) > 0 {
		f := s.failNext[0]
		s.failNext = s.failNext[1:]
		return failure(f)
	}
	if f, ok := s.failTo[req.Channel+"\x00"+req.To]; ok {
		return failure(f)
	}
	s.seq++
	id := fmt.Sprintf("gw_%s_%06d", req.Channel, s.seq)
	s.messages = append(s.messages, Message{MessageID: id, ID: req.ID, IdempotencyKey: key, Channel: req.Channel,
		To: req.To, Text: req.Text, Template: req.Template, Language: req.Language, At: s.now()})
	b, _ := json.Marshal(map[string]string{"message_id": id, "status": "queued"})
	return &answer{status: http.StatusAccepted, body: b}
}

func failure(f Failure) *answer {
	a := &answer{status: f.Status, header: http.Header{}}
	if f.Code != "" {
		a.body = errorBody(f.Code, f.Message)
	}
	if f.RetryAfter > 0 {
		a.header.Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
	}
	return a
}

func errorBody(code, message string) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": message}})
	return b
}

func write(w http.ResponseWriter, a *answer) {
	for k, v := range a.header {
		w.Header()[k] = v
	}
	if a.body != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// drop closes the connection without answering.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("gatewayfake: connection cannot be hijacked")
	}
	if conn, _, err := hj.Hijack(); err == nil {
		conn.Close()
	}
}

// Event is one callback to the hub (see package gateway's doc).
type Event struct {
	Type       string `json:"type"`
	Channel    string `json:"channel,omitempty"`
	MessageID  string `json:"message_id,omitempty"`
	DeliveryID string `json:"delivery_id,omitempty"`
	Status     string `json:"status,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Address    string `json:"address,omitempty"`
	Token      string `json:"token,omitempty"`
	Name       string `json:"name,omitempty"`
	At         string `json:"at,omitempty"`
}

// StatusOf returns the status event of an accepted message.
func StatusOf(m Message, status, reason string) Event {
	return Event{Type: "status", Channel: m.Channel, MessageID: m.MessageID, DeliveryID: m.ID, Status: status,
		Reason: reason}
}

// CallbackRequest returns ev as the gateway's signed call, signed now with a
// fresh webhook-id.
func (s *Server) CallbackRequest(ev Event) hub.InboundRequest {
	body, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return s.SignedRequest(body, s.now())
}

// SignedRequest returns a POST of body signed at a given time (for stale
// signature tests) with a fresh webhook-id.
func (s *Server) SignedRequest(body []byte, at time.Time) hub.InboundRequest {
	s.mu.Lock()
	s.seq++
	id := fmt.Sprintf("evt_%06d", s.seq)
	s.mu.Unlock()
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	Sign(h, s.key, id, at, body)
	return hub.InboundRequest{Method: http.MethodPost, Header: h, Body: body}
}

// PostCallback posts ev, signed, to the hub's gateway endpoint and returns the
// answer's status.
func (s *Server) PostCallback(ctx context.Context, client *http.Client, hubURL string, ev Event) (int, error) {
	if client == nil {
		client = http.DefaultClient
	}
	in := s.CallbackRequest(ev)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hubURL, bytes.NewReader(in.Body))
	if err != nil {
		return 0, err
	}
	req.Header = in.Header
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("gatewayfake: post callback: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// signingKey turns a secret into the HMAC key.
func signingKey(secret string) []byte {
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		if k, err := base64.StdEncoding.DecodeString(rest); err == nil {
			return k
		}
	}
	return []byte(secret)
}

// Sign sets webhook-id, webhook-timestamp and webhook-signature on h.
func Sign(h http.Header, key []byte, id string, at time.Time, body []byte) {
	ts := strconv.FormatInt(at.Unix(), 10)
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", "v1,"+mac(key, id+"."+ts+".", body))
}

func mac(key []byte, prefix string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(prefix))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// verify returns "" for a good signature, else the problem.
func verify(h http.Header, key, body []byte, now time.Time) string {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return "missing signature headers"
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "bad timestamp"
	}
	if d := now.Sub(time.Unix(sec, 0)); d > Tolerance || d < -Tolerance {
		return "stale timestamp"
	}
	want := mac(key, id+"."+ts+".", body)
	for _, sig := range strings.Fields(sigs) {
		if v, ok := strings.CutPrefix(sig, "v1,"); ok && hmac.Equal([]byte(v), []byte(want)) {
			return ""
		}
	}
	return "bad signature"
}
