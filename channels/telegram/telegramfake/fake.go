// Package telegramfake is a fake Telegram Bot API for tests and benchmarks.
// It serves /bot<token>/{getMe,sendMessage,getUpdates,setWebhook,deleteWebhook}
// over HTTP with the Bot API's wire format (form, query or JSON parameters;
// {"ok":true,"result":…} answers; {"ok":false,"error_code":…,"description":…,
// "parameters":{"retry_after":…}} errors), records what it was sent and can be
// scripted to refuse, rate-limit, stall or drop calls. A Server is safe for
// concurrent use.
package telegramfake

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Descriptions the real Bot API answers with.
const (
	DescBlocked      = "Forbidden: bot was blocked by the user"
	DescChatNotFound = "Bad Request: chat not found"
	DescUnauthorized = "Unauthorized"
	DescNotFound     = "Not Found"
	DescWebhookSet   = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)

// SentMessage is one accepted sendMessage call.
type SentMessage struct {
	// BotID is the id part of the token the message was sent with.
	BotID string
	// ChatID is the chat_id parameter as sent (a number or @channel).
	ChatID string
	// Text is the text parameter as sent (HTML-escaped when ParseMode is HTML).
	Text      string
	ParseMode string
	MessageID int
	// At is when the fake received the call.
	At time.Time
}

// Limits are the fake's own flood limits; zero rates mean unlimited. A
// refused call gets 429 with parameters.retry_after.
type Limits struct {
	// GlobalPerSecond and GlobalBurst limit sendMessage per bot.
	GlobalPerSecond float64
	GlobalBurst     int
	// ChatPerSecond and ChatBurst limit sendMessage per bot and chat.
	ChatPerSecond float64
	ChatBurst     int
}

// Webhook is the webhook a bot registered with setWebhook.
type Webhook struct {
	URL            string
	SecretToken    string
	AllowedUpdates []string
}

// Server is a running fake Bot API. Pass URL as telegram.Options.BaseURL.
type Server struct {
	// URL is the fake's base address (http://127.0.0.1:port).
	URL string
	srv *httptest.Server

	mu        sync.Mutex
	bots      map[string]*bot // by token
	blocked   map[string]bool // chat id → 403
	unknown   map[string]bool // chat id → 400 chat not found
	failNext  []failure
	delay     time.Duration
	down      bool
	limits    Limits
	global    map[string]*bucket // by bot id
	perChat   map[string]*bucket // by bot id + ":" + chat
	sent      []SentMessage
	calls     map[string]int
	limited   int
	nextMsgID int
	now       func() time.Time
}

type failure struct {
	code       int
	desc       string
	retryAfter int
}

type bot struct {
	id, token, username string
	webhook             *Webhook
	updates             []json.RawMessage
	nextUpdate          int64
	// wake is closed (and replaced) when an update is queued.
	wake chan struct{}
}

// New starts a fake with no bots; add them with AddBot. Close it when done.
func New() *Server {
	s := &Server{
		bots:    map[string]*bot{},
		blocked: map[string]bool{},
		unknown: map[string]bool{},
		global:  map[string]*bucket{},
		perChat: map[string]*bucket{},
		calls:   map[string]int{},
		now:     time.Now,
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

// AddBot registers a bot token ("<bot id>:<secret>") and its username.
func (s *Server) AddBot(token, username string) {
	id, _, _ := strings.Cut(token, ":")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bots[token] = &bot{id: id, token: token, username: username, nextUpdate: 1, wake: make(chan struct{})}
}

// Block makes sendMessage to chatID answer 403 "Forbidden: bot was blocked
// by the user"; Block(chatID, false) lifts it.
func (s *Server) Block(chatID string, blocked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked[chatID] = blocked
}

// MarkUnknown makes sendMessage to chatID answer 400 "Bad Request: chat not found".
func (s *Server) MarkUnknown(chatID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unknown[chatID] = true
}

// FailNext makes the next n calls (any method, after the token check) fail
// with the HTTP and error_code code and the description (a default one for
// the code when ""). A 429 carries retry_after 1.
func (s *Server) FailNext(n, code int, description string) {
	if description == "" {
		description = defaultDescription(code)
	}
	ra := 0
	if code == http.StatusTooManyRequests {
		ra = 1
	}
	s.fail(n, failure{code: code, desc: description, retryAfter: ra})
}

// RateLimitNext makes the next n calls answer 429 "Too Many Requests: retry
// after <retryAfter>" with parameters.retry_after.
func (s *Server) RateLimitNext(n, retryAfter int) {
	s.fail(n, failure{code: http.StatusTooManyRequests,
		desc: fmt.Sprintf("Too Many Requests: retry after %d", retryAfter), retryAfter: retryAfter})
}

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

// SetLimits installs the fake's own flood limits (and resets their counters).
func (s *Server) SetLimits(l Limits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = l
	s.global = map[string]*bucket{}
	s.perChat = map[string]*bucket{}
}

// Sent returns the accepted sendMessage calls in the order received.
func (s *Server) Sent() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SentMessage(nil), s.sent...)
}

// SentTo returns the accepted messages to one chat.
func (s *Server) SentTo(chatID string) []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SentMessage
	for _, m := range s.sent {
		if m.ChatID == chatID {
			out = append(out, m)
		}
	}
	return out
}

// ChatTimes returns when each accepted message to chatID was received.
func (s *Server) ChatTimes(chatID string) []time.Time {
	var out []time.Time
	for _, m := range s.SentTo(chatID) {
		out = append(out, m.At)
	}
	return out
}

// Calls returns how many calls of a method (e.g. "sendMessage") arrived with
// a valid token, whatever the answer.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[strings.ToLower(method)]
}

// RateLimited returns how many calls the fake's own Limits refused.
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limited
}

// Webhook returns the bot's registered webhook, or nil.
func (s *Server) Webhook(token string) *Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bots[token]
	if b == nil || b.webhook == nil {
		return nil
	}
	w := *b.webhook
	return &w
}

// QueueUpdate queues an Update (any value that marshals to a JSON object,
// e.g. from TextUpdate) for the bot's getUpdates, sets its update_id and
// returns it. It panics on an unknown token or a non-object update.
func (s *Server) QueueUpdate(token string, u any) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bots[token]
	if b == nil {
		panic("telegramfake: QueueUpdate for an unknown bot token")
	}
	id := b.nextUpdate
	b.nextUpdate++
	b.updates = append(b.updates, withUpdateID(u, id))
	close(b.wake)
	b.wake = make(chan struct{})
	return id
}

// PendingUpdates returns how many queued updates getUpdates has not yet
// seen confirmed (by a later offset).
func (s *Server) PendingUpdates(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.bots[token]; b != nil {
		return len(b.updates)
	}
	return 0
}

// envelope is the Bot API's answer.
type envelope struct {
	OK          bool        `json:"ok"`
	Result      any         `json:"result,omitempty"`
	ErrorCode   int         `json:"error_code,omitempty"`
	Description string      `json:"description,omitempty"`
	Parameters  *parameters `json:"parameters,omitempty"`
}

type parameters struct {
	RetryAfter int `json:"retry_after,omitempty"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	down, delay := s.down, s.delay
	s.mu.Unlock()
	if down {
		drop(w)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		writeError(w, http.StatusNotFound, DescNotFound, 0)
		return
	}
	params, err := readParams(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Bad Request: "+err.Error(), 0)
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
	method = strings.ToLower(method)

	s.mu.Lock()
	b := s.bots[token]
	if b == nil {
		s.mu.Unlock()
		writeError(w, http.StatusUnauthorized, DescUnauthorized, 0)
		return
	}
	s.calls[method]++
	if len(s.failNext) > 0 {
		f := s.failNext[0]
		s.failNext = s.failNext[1:]
		s.mu.Unlock()
		writeError(w, f.code, f.desc, f.retryAfter)
		return
	}
	switch method {
	case "getme":
		res := map[string]any{"id": atoi64(b.id), "is_bot": true, "first_name": b.username, "username": b.username,
			"can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false}
		s.mu.Unlock()
		writeResult(w, res, "")
	case "sendmessage":
		s.sendMessage(w, b, params) // unlocks
	case "getupdates":
		s.getUpdates(w, r, b, params) // unlocks
	case "setwebhook":
		url := params["url"]
		if url == "" {
			b.webhook = nil
			s.mu.Unlock()
			writeResult(w, true, "Webhook was deleted")
			return
		}
		if !strings.HasPrefix(url, "https://") {
			s.mu.Unlock()
			writeError(w, http.StatusBadRequest, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook", 0)
			return
		}
		secret := params["secret_token"]
		if secret != "" && !validSecret(secret) {
			s.mu.Unlock()
			writeError(w, http.StatusBadRequest, "Bad Request: secret token contains unallowed characters", 0)
			return
		}
		var allowed []string
		if a := params["allowed_updates"]; a != "" {
			_ = json.Unmarshal([]byte(a), &allowed)
		}
		b.webhook = &Webhook{URL: url, SecretToken: secret, AllowedUpdates: allowed}
		s.mu.Unlock()
		writeResult(w, true, "Webhook was set")
	case "deletewebhook":
		desc := "Webhook was deleted"
		if b.webhook == nil {
			desc = "Webhook is already deleted"
		}
		b.webhook = nil
		if params["drop_pending_updates"] == "true" {
			b.updates = nil
		}
		s.mu.Unlock()
		writeResult(w, true, desc)
	default:
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, DescNotFound, 0)
	}
}

// sendMessage answers a sendMessage call; s.mu is held on entry.
func (s *Server) sendMessage(w http.ResponseWriter, b *bot, p map[string]string) {
	chatID, text, mode := p["chat_id"], p["text"], p["parse_mode"]
	plain := text
	var perr error
	switch strings.ToLower(mode) {
	case "":
	case "html":
		plain, perr = checkHTML(text)
	case "markdown", "markdownv2":
	default:
		perr = fmt.Errorf("unsupported parse_mode")
	}
	now := s.now()
	code, desc, retry := 0, "", 0
	switch {
	case chatID == "":
		code, desc = http.StatusBadRequest, "Bad Request: chat_id is empty"
	case strings.TrimSpace(text) == "":
		code, desc = http.StatusBadRequest, "Bad Request: message text is empty"
	case perr != nil:
		code, desc = http.StatusBadRequest, "Bad Request: can't parse entities: "+perr.Error()
	case utf8.RuneCountInString(plain) > 4096:
		code, desc = http.StatusBadRequest, "Bad Request: message is too long"
	default:
		if wait, ok := s.allow(b.id, chatID, now); !ok {
			s.limited++
			retry = int(math.Ceil(wait.Seconds()))
			if retry < 1 {
				retry = 1
			}
			code, desc = http.StatusTooManyRequests, fmt.Sprintf("Too Many Requests: retry after %d", retry)
		} else if s.blocked[chatID] {
			code, desc = http.StatusForbidden, DescBlocked
		} else if s.unknown[chatID] {
			code, desc = http.StatusBadRequest, DescChatNotFound
		}
	}
	if code != 0 {
		s.mu.Unlock()
		writeError(w, code, desc, retry)
		return
	}
	s.nextMsgID++
	id := s.nextMsgID
	s.sent = append(s.sent, SentMessage{BotID: b.id, ChatID: chatID, Text: text, ParseMode: mode, MessageID: id, At: now})
	from := map[string]any{"id": atoi64(b.id), "is_bot": true, "first_name": b.username, "username": b.username}
	s.mu.Unlock()
	ch := map[string]any{"id": atoi64(chatID), "type": "private"}
	if strings.HasPrefix(chatID, "@") {
		ch = map[string]any{"id": int64(-1000000000000) - int64(id), "type": "channel", "username": chatID[1:]}
	}
	writeResult(w, map[string]any{"message_id": id, "from": from, "chat": ch, "date": now.Unix(), "text": plain}, "")
}

// allow applies the fake's own limits; s.mu is held.
func (s *Server) allow(botID, chatID string, now time.Time) (time.Duration, bool) {
	l := s.limits
	var g, c *bucket
	if l.GlobalPerSecond > 0 {
		if g = s.global[botID]; g == nil {
			g = newBucket(l.GlobalPerSecond, l.GlobalBurst, now)
			s.global[botID] = g
		}
	}
	if l.ChatPerSecond > 0 {
		key := botID + ":" + chatID
		if c = s.perChat[key]; c == nil {
			c = newBucket(l.ChatPerSecond, l.ChatBurst, now)
			s.perChat[key] = c
		}
	}
	var wait time.Duration
	for _, b := range []*bucket{g, c} {
		if b != nil {
			wait = max(wait, b.wait(now))
		}
	}
	if wait > 0 {
		return wait, false
	}
	for _, b := range []*bucket{g, c} {
		if b != nil {
			b.take()
		}
	}
	return 0, true
}

// getUpdates answers a (long) poll; s.mu is held on entry.
func (s *Server) getUpdates(w http.ResponseWriter, r *http.Request, b *bot, p map[string]string) {
	if b.webhook != nil {
		s.mu.Unlock()
		writeError(w, http.StatusConflict, DescWebhookSet, 0)
		return
	}
	offset, _ := strconv.ParseInt(p["offset"], 10, 64)
	limit, _ := strconv.Atoi(p["limit"])
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, _ := strconv.Atoi(p["timeout"])
	deadline := time.NewTimer(time.Duration(max(timeout, 0)) * time.Second)
	defer deadline.Stop()
	for {
		// Updates below the offset are confirmed and forgotten.
		for len(b.updates) > 0 && offset > 0 && updateID(b.updates[0]) < offset {
			b.updates = b.updates[1:]
		}
		if len(b.updates) > 0 || timeout <= 0 {
			out := b.updates[:min(limit, len(b.updates))]
			res := append([]json.RawMessage{}, out...)
			s.mu.Unlock()
			writeResult(w, res, "")
			return
		}
		wake := b.wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-deadline.C:
			timeout = 0
		case <-r.Context().Done():
			return
		}
		s.mu.Lock()
		if b.webhook != nil {
			s.mu.Unlock()
			writeError(w, http.StatusConflict, DescWebhookSet, 0)
			return
		}
	}
}

// readParams reads a call's parameters from the query, a form or JSON body.
func readParams(r *http.Request) (map[string]string, error) {
	p := map[string]string{}
	for k, v := range r.URL.Query() {
		p[k] = v[0]
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return nil, err
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, fmt.Errorf("can't parse JSON object")
		}
		for k, raw := range m {
			var str string
			if json.Unmarshal(raw, &str) == nil {
				p[k] = str
			} else {
				p[k] = string(raw)
			}
		}
	case "application/x-www-form-urlencoded", "multipart/form-data":
		if err := r.ParseMultipartForm(1 << 20); err != nil && err != http.ErrNotMultipart {
			return nil, err
		}
		for k, v := range r.PostForm {
			p[k] = v[0]
		}
	}
	return p, nil
}

func writeResult(w http.ResponseWriter, result any, description string) {
	writeJSON(w, http.StatusOK, envelope{OK: true, Result: result, Description: description})
}

func writeError(w http.ResponseWriter, code int, desc string, retryAfter int) {
	e := envelope{ErrorCode: code, Description: desc}
	if retryAfter > 0 {
		e.Parameters = &parameters{RetryAfter: retryAfter}
	}
	writeJSON(w, code, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
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

func defaultDescription(code int) string {
	switch code {
	case http.StatusBadRequest:
		return "Bad Request"
	case http.StatusUnauthorized:
		return DescUnauthorized
	case http.StatusForbidden:
		return "Forbidden"
	case http.StatusNotFound:
		return DescNotFound
	case http.StatusConflict:
		return "Conflict"
	case http.StatusTooManyRequests:
		return "Too Many Requests: retry after 1"
	}
	if code >= 500 {
		return "Internal Server Error"
	}
	return http.StatusText(code)
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func validSecret(s string) bool {
	if len(s) > 256 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// bucket is a token bucket.
type bucket struct {
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64, burst int, now time.Time) *bucket {
	b := float64(max(burst, 1))
	return &bucket{rate: rate, burst: b, tokens: b, last: now}
}

// wait refills the bucket and returns how long until a token is available.
func (b *bucket) wait(now time.Time) time.Duration {
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(b.burst, b.tokens+el*b.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

func (b *bucket) take() { b.tokens-- }
