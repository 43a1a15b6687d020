// Package viberfake is a fake Viber REST bot API for tests and benchmarks.
// It serves POST /pa/send_message, /pa/set_webhook and /pa/get_account_info
// with Viber's wire format (X-Viber-Auth-Token header, JSON bodies, HTTP 200
// with a "status" code even on errors), records what it was sent and can be
// scripted to refuse, rate-limit, stall or drop calls. It also builds and
// signs callback bodies the way Viber does, so tests can post inbound events.
// A Server is safe for concurrent use.
package viberfake

import (
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
	"unicode/utf8"
)

// AuthHeader is the header that carries the bot's token.
const AuthHeader = "X-Viber-Auth-Token"

// Status codes the fake answers with (Viber's codes).
const (
	StatusOK                       = 0
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

// statusMessages are the status_message texts Viber answers with.
var statusMessages = map[int]string{
	0: "ok", 1: "invalidUrl", 2: "invalidAuthToken", 3: "badData", 4: "missingData",
	5: "receiverNotRegistered", 6: "notSubscribed", 7: "publicAccountBlocked",
	8: "publicAccountNotFound", 9: "publicAccountSuspended", 10: "webhookNotSet",
	11: "receiverNoSuitableDevice", 12: "tooManyRequests",
}

// FirstMessageToken is the message_token of the first accepted message;
// later ones count up. It is above 2^53 so that float decoding would show.
const FirstMessageToken int64 = 5741311803571721087

// SentMessage is one accepted send_message call.
type SentMessage struct {
	// AuthToken is the token the message was sent with.
	AuthToken     string
	Receiver      string
	Type          string
	Text          string
	SenderName    string
	SenderAvatar  string
	TrackingData  string
	MinAPIVersion int
	MessageToken  int64
	// At is when the fake received the call.
	At time.Time
}

// Webhook is what an account registered with set_webhook.
type Webhook struct {
	URL        string
	EventTypes []string
	SendName   bool
	SendPhoto  bool
}

// Server is a running fake REST bot API. Pass URL as viber.Options.BaseURL.
type Server struct {
	// URL is the fake's base address (http://127.0.0.1:port).
	URL string
	srv *httptest.Server

	mu        sync.Mutex
	accounts  map[string]*account // by auth token
	receivers map[string]int      // receiver → scripted status
	failNext  []failure
	delay     time.Duration
	down      bool
	rate      float64
	burst     int
	buckets   map[string]*bucket // by auth token
	sent      []SentMessage
	calls     map[string]int
	limited   int
	nextToken int64
	now       func() time.Time
}

type failure struct {
	status     int // Viber status, when httpStatus is 0
	httpStatus int
}

type account struct {
	token, name, uri string
	webhook          *Webhook
}

// New starts a fake with no accounts; add them with AddAccount. Close it when done.
func New() *Server {
	s := &Server{
		accounts:  map[string]*account{},
		receivers: map[string]int{},
		buckets:   map[string]*bucket{},
		calls:     map[string]int{},
		nextToken: FirstMessageToken,
		now:       time.Now,
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close shuts the fake down; later calls are refused at connect.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// AddAccount registers a bot (public account) by its auth token, name and chat URI.
func (s *Server) AddAccount(authToken, name, uri string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[authToken] = &account{token: authToken, name: name, uri: uri}
}

// SetReceiverStatus makes send_message to receiver answer status (e.g.
// StatusReceiverNotSubscribed); StatusOK clears it.
func (s *Server) SetReceiverStatus(receiver string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == StatusOK {
		delete(s.receivers, receiver)
		return
	}
	s.receivers[receiver] = status
}

// FailNext makes the next n calls with a valid token answer the status.
func (s *Server) FailNext(n, status int) { s.fail(n, failure{status: status}) }

// FailNextHTTP makes the next n calls with a valid token answer an HTTP
// error (e.g. 503) with a non-JSON body, as a failing load balancer would.
func (s *Server) FailNextHTTP(n, httpStatus int) { s.fail(n, failure{httpStatus: httpStatus}) }

func (s *Server) fail(n int, f failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, f)
	}
}

// SetDelay makes every call wait d before it is answered (or until the
// client gives up).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetDown makes the fake drop every connection without an answer while down.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// SetRateLimit limits send_message per account to perSecond with a burst
// (a token bucket); calls over it get StatusTooManyRequests. 0 removes it.
func (s *Server) SetRateLimit(perSecond float64, burst int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate, s.burst = perSecond, burst
	s.buckets = map[string]*bucket{}
}

// Sent returns the accepted messages in the order received.
func (s *Server) Sent() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SentMessage(nil), s.sent...)
}

// SentTo returns the accepted messages to one receiver.
func (s *Server) SentTo(receiver string) []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SentMessage
	for _, m := range s.sent {
		if m.Receiver == receiver {
			out = append(out, m)
		}
	}
	return out
}

// ReceiverTimes returns when each accepted message to receiver was received.
func (s *Server) ReceiverTimes(receiver string) []time.Time {
	var out []time.Time
	for _, m := range s.SentTo(receiver) {
		out = append(out, m.At)
	}
	return out
}

// Calls returns how many calls of a path (e.g. "/pa/send_message") arrived
// with a valid token, whatever the answer.
func (s *Server) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// RateLimited returns how many calls the fake's own rate limit refused.
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limited
}

// Webhook returns the account's registered webhook, or nil.
func (s *Server) Webhook(authToken string) *Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[authToken]
	if a == nil || a.webhook == nil {
		return nil
	}
	w := *a.webhook
	return &w
}

type sendRequest struct {
	Receiver      string `json:"receiver"`
	MinAPIVersion int    `json:"min_api_version"`
	Sender        *struct {
		Name   string `json:"name"`
		Avatar string `json:"avatar"`
	} `json:"sender"`
	TrackingData string `json:"tracking_data"`
	Type         string `json:"type"`
	Text         string `json:"text"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	down, delay := s.down, s.delay
	s.mu.Unlock()
	if down {
		drop(w)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	// The body is read, so the server notices a client that gives up.
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch r.URL.Path {
	case "/pa/send_message", "/pa/set_webhook", "/pa/get_account_info":
	default:
		http.NotFound(w, r)
		return
	}

	s.mu.Lock()
	a := s.accounts[r.Header.Get(AuthHeader)]
	if a == nil {
		s.mu.Unlock()
		writeStatus(w, StatusInvalidAuthToken, nil)
		return
	}
	s.calls[r.URL.Path]++
	if len(s.failNext) > 0 {
		f := s.failNext[0]
		s.failNext = s.failNext[1:]
		s.mu.Unlock()
		if f.httpStatus != 0 {
			http.Error(w, "<html><body>"+http.StatusText(f.httpStatus)+"</body></html>", f.httpStatus)
			return
		}
		writeStatus(w, f.status, nil)
		return
	}
	switch r.URL.Path {
	case "/pa/send_message":
		s.sendMessage(w, a, body) // unlocks
	case "/pa/set_webhook":
		var req struct {
			URL        string   `json:"url"`
			EventTypes []string `json:"event_types"`
			SendName   bool     `json:"send_name"`
			SendPhoto  bool     `json:"send_photo"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			s.mu.Unlock()
			writeStatus(w, StatusBadData, nil)
			return
		}
		events := req.EventTypes
		if events == nil {
			events = []string{"delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"}
		}
		if req.URL == "" {
			a.webhook = nil
		} else {
			a.webhook = &Webhook{URL: req.URL, EventTypes: events, SendName: req.SendName, SendPhoto: req.SendPhoto}
		}
		s.mu.Unlock()
		writeStatus(w, StatusOK, map[string]any{"event_types": events})
	case "/pa/get_account_info":
		info := map[string]any{
			"id": "pa:" + a.uri, "name": a.name, "uri": a.uri, "icon": "", "background": "",
			"category": "Business", "subcategory": "Retail", "country": "UA",
			"webhook": "", "event_types": []string{}, "subscribers_count": 0, "members": []any{},
		}
		if a.webhook != nil {
			info["webhook"], info["event_types"] = a.webhook.URL, a.webhook.EventTypes
		}
		s.mu.Unlock()
		writeStatus(w, StatusOK, info)
	}
}

// sendMessage answers a send_message call; s.mu is held on entry.
func (s *Server) sendMessage(w http.ResponseWriter, a *account, body []byte) {
	var req sendRequest
	status := StatusOK
	now := s.now()
	switch err := json.Unmarshal(body, &req); {
	case err != nil:
		status = StatusBadData
	case req.Receiver == "" || req.Sender == nil || req.Sender.Name == "" || req.Type == "":
		status = StatusMissingData
	case req.Type == "text" && req.Text == "":
		status = StatusMissingData
	case utf8.RuneCountInString(req.Sender.Name) > 28 || len(req.TrackingData) > 4096 || utf8.RuneCountInString(req.Text) > 7000:
		status = StatusBadData
	case !s.allow(a.token, now):
		s.limited++
		status = StatusTooManyRequests
	default:
		status = s.receivers[req.Receiver]
	}
	if status != StatusOK {
		s.mu.Unlock()
		writeStatus(w, status, nil)
		return
	}
	tok := s.nextToken
	s.nextToken++
	s.sent = append(s.sent, SentMessage{
		AuthToken: a.token, Receiver: req.Receiver, Type: req.Type, Text: req.Text,
		SenderName: req.Sender.Name, SenderAvatar: req.Sender.Avatar, TrackingData: req.TrackingData,
		MinAPIVersion: req.MinAPIVersion, MessageToken: tok, At: now,
	})
	s.mu.Unlock()
	writeStatus(w, StatusOK, map[string]any{"message_token": tok, "billing_status": 1})
}

// allow applies the own rate limit; s.mu is held.
func (s *Server) allow(token string, now time.Time) bool {
	if s.rate <= 0 {
		return true
	}
	b := s.buckets[token]
	if b == nil {
		burst := float64(max(s.burst, 1))
		b = &bucket{tokens: burst, last: now}
		s.buckets[token] = b
	}
	burst := float64(max(s.burst, 1))
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(burst, b.tokens+el*s.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

type bucket struct {
	tokens float64
	last   time.Time
}

func writeStatus(w http.ResponseWriter, status int, extra map[string]any) {
	out := map[string]any{"status": status, "status_message": statusMessages[status], "chat_hostname": "SN-CHAT-01_"}
	if out["status_message"] == "" {
		out["status_message"] = "generalError"
	}
	for k, v := range extra {
		out[k] = v
	}
	body, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// drop closes the connection without an answer (reset, when possible).
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
