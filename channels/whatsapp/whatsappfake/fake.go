package whatsappfake

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/7loc/hub/hub"
)

// Defaults of Config.
const (
	DefaultPhoneNumberID = "106540352242922"
	DefaultAccessToken   = "EAAtest-access-token"
	DefaultAppSecret     = "test-app-secret"
	DefaultVerifyToken   = "test-verify-token"
	// WABAID is the business account id the webhook helpers put in entry.id.
	WABAID = "102290129340398"
	// DisplayPhoneNumber is the business number the webhook helpers show.
	DisplayPhoneNumber = "15550783881"
)

// Window is how long a customer's message keeps the service window open.
const Window = 24 * time.Hour

// Config sets up a Server; zero fields take the defaults.
type Config struct {
	PhoneNumberID string
	AccessToken   string
	AppSecret     string
	// VerifyToken is the webhook verify token the helpers use.
	VerifyToken string
	// Now is the clock of the service windows; nil means time.Now.
	Now func() time.Time
}

// Error is a Graph API error the server answers with.
type Error struct {
	// HTTPStatus of the answer; 0 means 400.
	HTTPStatus int
	Code       int
	Subcode    int
	// Type is the Graph exception type; "" means OAuthException.
	Type    string
	Message string
	// Details goes to error_data.details.
	Details string
}

// ErrorFor returns Meta's error for a Graph code, with its usual HTTP status,
// message and details; unknown codes get a generic one.
func ErrorFor(code int) Error {
	e := Error{Code: code, HTTPStatus: http.StatusBadRequest}
	switch code {
	case 190:
		e.HTTPStatus, e.Message = http.StatusUnauthorized, "Invalid OAuth access token - Cannot parse access token"
	case 10:
		e.HTTPStatus, e.Message = http.StatusForbidden, "(#10) Application does not have permission for this action"
	case 200:
		e.HTTPStatus, e.Message = http.StatusForbidden, "(#200) Permissions error"
	case 4:
		e.Message = "(#4) Application request limit reached"
	case 80007:
		e.Message = "(#80007) Rate limit hit"
	case 100:
		e.Message, e.Details = "(#100) Invalid parameter", "Invalid parameter"
	case 130429:
		e.Message, e.Details = "(#130429) Rate limit hit", "Cloud API message throughput has been reached."
	case 131000:
		e.HTTPStatus, e.Message = http.StatusInternalServerError, "(#131000) Something went wrong"
	case 131016:
		e.HTTPStatus, e.Message = http.StatusServiceUnavailable, "(#131016) Service unavailable"
	case 131021:
		e.Message, e.Details = "(#131021) Recipient cannot be sender", "Sender and recipient phone number is the same."
	case 131026:
		e.Message, e.Details = "(#131026) Message undeliverable", "Unable to deliver message."
	case 131047:
		e.Message, e.Details = "(#131047) Re-engagement message",
			"Message failed to send because more than 24 hours have passed since the customer last replied to this number."
	case 131048:
		e.Message, e.Details = "(#131048) Spam rate limit hit",
			"Message failed to send because there are restrictions on how many messages can be sent from this phone number."
	case 131049:
		e.Message, e.Details = "(#131049) This message was not delivered to maintain healthy ecosystem engagement.",
			"In order to maintain a healthy ecosystem engagement, the message failed to be delivered."
	case 131050:
		e.Message, e.Details = "(#131050) User has stopped receipt of marketing messages",
			"Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business."
	case 131056:
		e.Message, e.Details = "(#131056) (Business Account, Consumer Account) pair rate limit hit",
			"Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time."
	case 132001:
		e.Message, e.Details = "(#132001) Template name does not exist in the translation",
			"template name does not exist in the language"
	default:
		e.Message = fmt.Sprintf("(#%d) Error", code)
	}
	return e
}

// Message is a message the server accepted.
type Message struct {
	// ID is the wamid the server answered.
	ID            string
	Version       string
	PhoneNumberID string
	// To is the recipient as sent: digits without '+'.
	To string
	// Type is "text" or "template".
	Type       string
	Text       string
	PreviewURL bool
	// Template, Language and Params describe a template message (its body
	// parameters, in order).
	Template string
	Language string
	Params   []string
	At       time.Time
}

// Server is a fake WhatsApp Cloud API. Close it when done.
type Server struct {
	// URL is the base URL to give the sender (Options.BaseURL).
	URL string
	srv *httptest.Server
	cfg Config

	mu         sync.Mutex
	calls      int
	seq        uint64
	messages   []Message
	failNext   []Error
	failTo     map[string]Error
	windows    map[string]time.Time
	delay      time.Duration
	down       bool
	throughput int
	second     int64
	inSecond   int
}

// New starts a fake Cloud API.
func New(cfg Config) *Server {
	if cfg.PhoneNumberID == "" {
		cfg.PhoneNumberID = DefaultPhoneNumberID
	}
	if cfg.AccessToken == "" {
		cfg.AccessToken = DefaultAccessToken
	}
	if cfg.AppSecret == "" {
		cfg.AppSecret = DefaultAppSecret
	}
	if cfg.VerifyToken == "" {
		cfg.VerifyToken = DefaultVerifyToken
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, failTo: map[string]Error{}, windows: map[string]time.Time{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Config returns the server's configuration with defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// ChannelConfig returns an enabled WhatsApp configuration for this server's
// phone number and secrets, with templateName as the default template.
func (s *Server) ChannelConfig(businessID, templateName string) *hub.ChannelConfig {
	return &hub.ChannelConfig{
		BusinessID: businessID,
		Provider:   hub.ChannelWhatsApp,
		Enabled:    true,
		Settings:   map[string]string{"phone_number_id": s.cfg.PhoneNumberID, "template_name": templateName},
		Secrets: map[string]string{"access_token": s.cfg.AccessToken, "app_secret": s.cfg.AppSecret,
			"verify_token": s.cfg.VerifyToken},
	}
}

// FailNext makes the next n message calls that pass authentication and
// validation fail with e.
func (s *Server) FailNext(n int, e Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, e)
	}
}

// FailTo makes every message to a recipient (E.164 or digits) fail with e
// until ClearFailures.
func (s *Server) FailTo(to string, e Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failTo[digits(to)] = e
}

// MarkUndeliverable makes messages to a recipient fail with 131026, Meta's
// answer for numbers not on WhatsApp and customers who blocked the business.
func (s *Server) MarkUndeliverable(to string) { s.FailTo(to, ErrorFor(131026)) }

// MarkStopped makes messages to a recipient fail with 131050 (the customer
// stopped marketing messages).
func (s *Server) MarkStopped(to string) { s.FailTo(to, ErrorFor(131050)) }

// ClearFailures forgets scripted failures.
func (s *Server) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = nil
	s.failTo = map[string]Error{}
}

// SetThroughput limits accepted calls per wall-clock second (130429 beyond);
// 0 removes the limit.
func (s *Server) SetThroughput(perSecond int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throughput = perSecond
}

// SetDelay makes every call wait d before answering (or until the client
// gives up).
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

// OpenWindow opens a recipient's 24-hour service window now, as a message
// from the customer does.
func (s *Server) OpenWindow(to string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.windows[digits(to)] = s.cfg.Now().Add(Window)
}

// CloseWindow closes a recipient's service window.
func (s *Server) CloseWindow(to string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.windows, digits(to))
}

// WindowUntil returns when a recipient's window closes (zero: never opened).
func (s *Server) WindowUntil(to string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.windows[digits(to)]
}

// Messages returns the accepted messages in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	copy(out, s.messages)
	return out
}

// Calls returns how many requests reached the server (answered or not).
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Reset forgets messages, calls, failures, windows, delay, throughput and
// the down state.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls, s.messages, s.failNext, s.delay, s.down, s.throughput = 0, nil, nil, 0, false, 0
	s.failTo, s.windows = map[string]Error{}, map[string]time.Time{}
}

var messagesPath = regexp.MustCompile(`^/(v[0-9]+\.[0-9]+)/([^/]+)/messages$`)

// request is the body of POST /messages as the server reads it.
type request struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type"`
	To               string `json:"to"`
	Type             string `json:"type"`
	Text             *struct {
		PreviewURL bool   `json:"preview_url"`
		Body       string `json:"body"`
	} `json:"text"`
	Template *struct {
		Name     string `json:"name"`
		Language struct {
			Code string `json:"code"`
		} `json:"language"`
		Components []struct {
			Type       string `json:"type"`
			Parameters []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"parameters"`
		} `json:"components"`
	} `json:"template"`
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
	// Read the body first: only then does the server notice a client that
	// gives up while we delay.
	body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	m := messagesPath.FindStringSubmatch(r.URL.Path)
	if m == nil || r.Method != http.MethodPost {
		writeError(w, Error{Code: 100, Type: "GraphMethodException",
			Message: fmt.Sprintf("Unsupported %s request.", strings.ToLower(r.Method))})
		return
	}
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); !ok || auth != s.cfg.AccessToken {
		writeError(w, ErrorFor(190))
		return
	}
	if m[2] != s.cfg.PhoneNumberID {
		writeError(w, Error{Code: 100, Subcode: 33, Type: "GraphMethodException", Message: fmt.Sprintf(
			"Unsupported post request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", m[2])})
		return
	}
	var req request
	if readErr != nil || json.Unmarshal(body, &req) != nil {
		writeError(w, Error{Code: 100, Message: "(#100) Invalid parameter", Details: "Request body is not valid JSON"})
		return
	}
	msg, problem := req.message()
	if problem != "" {
		writeError(w, Error{Code: 100, Message: "(#100) Invalid parameter", Details: problem})
		return
	}
	msg.Version, msg.PhoneNumberID = m[1], m[2]

	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failNext) > 0 {
		e := s.failNext[0]
		s.failNext = s.failNext[1:]
		writeError(w, e)
		return
	}
	if e, ok := s.failTo[msg.To]; ok {
		writeError(w, e)
		return
	}
	if s.throughput > 0 {
		if sec := time.Now().Unix(); sec != s.second {
			s.second, s.inSecond = sec, 0
		}
		if s.inSecond >= s.throughput {
			writeError(w, ErrorFor(130429))
			return
		}
		s.inSecond++
	}
	now := s.cfg.Now()
	if msg.Type == "text" && !now.Before(s.windows[msg.To]) {
		writeError(w, ErrorFor(131047))
		return
	}
	s.seq++
	msg.ID = wamid(msg.To, s.seq)
	msg.At = now
	s.messages = append(s.messages, msg)

	type contact struct {
		Input string `json:"input"`
		WaID  string `json:"wa_id"`
	}
	type sent struct {
		ID            string `json:"id"`
		MessageStatus string `json:"message_status,omitempty"`
	}
	out := struct {
		MessagingProduct string    `json:"messaging_product"`
		Contacts         []contact `json:"contacts"`
		Messages         []sent    `json:"messages"`
	}{"whatsapp", []contact{{msg.To, msg.To}}, []sent{{ID: msg.ID}}}
	if msg.Type == "template" {
		out.Messages[0].MessageStatus = "accepted"
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// message validates the request and returns the message it describes, or
// the problem (Meta's 100 details).
func (r *request) message() (Message, string) {
	if r.MessagingProduct != "whatsapp" {
		return Message{}, "The parameter messaging_product is required."
	}
	if r.RecipientType != "" && r.RecipientType != "individual" {
		return Message{}, "Invalid recipient_type."
	}
	to := digits(r.To)
	if to == "" || len(to) != len(strings.TrimPrefix(r.To, "+")) {
		return Message{}, "The parameter to is required."
	}
	msg := Message{To: to, Type: r.Type}
	switch r.Type {
	case "text":
		if r.Text == nil || r.Text.Body == "" {
			return Message{}, "The parameter text['body'] is required."
		}
		msg.Text, msg.PreviewURL = r.Text.Body, r.Text.PreviewURL
	case "template":
		if r.Template == nil || r.Template.Name == "" {
			return Message{}, "The parameter template['name'] is required."
		}
		if r.Template.Language.Code == "" {
			return Message{}, "The parameter template['language']['code'] is required."
		}
		msg.Template, msg.Language = r.Template.Name, r.Template.Language.Code
		for _, c := range r.Template.Components {
			if c.Type == "" {
				return Message{}, "The parameter template['components'][0]['type'] is required."
			}
			for _, p := range c.Parameters {
				if p.Type != "text" || p.Text == "" {
					return Message{}, "Parameter of type text is missing text value."
				}
				if c.Type == "body" {
					msg.Params = append(msg.Params, p.Text)
				}
			}
		}
	default:
		return Message{}, fmt.Sprintf("Unsupported message type %q.", r.Type)
	}
	return msg, ""
}

// writeError answers with a Graph error body.
func writeError(w http.ResponseWriter, e Error) {
	status := e.HTTPStatus
	if status == 0 {
		status = http.StatusBadRequest
	}
	typ := e.Type
	if typ == "" {
		typ = "OAuthException"
	}
	body := map[string]any{"message": e.Message, "type": typ, "code": e.Code, "fbtrace_id": "AbCdEfGhIjK-fake"}
	if e.Subcode != 0 {
		body["error_subcode"] = e.Subcode
	}
	if e.Details != "" {
		body["error_data"] = map[string]string{"messaging_product": "whatsapp", "details": e.Details}
	}
	w.Header().Set("Content-Type", "application/json")
	if e.Code == 190 {
		w.Header().Set("WWW-Authenticate", `OAuth "Facebook Platform" "invalid_token"`)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": body})
}

// drop closes the connection without answering.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("whatsappfake: connection cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}

// wamid makes a message id shaped like Meta's.
func wamid(to string, seq uint64) string {
	b := make([]byte, 0, 32)
	b = append(b, to...)
	b = binary.BigEndian.AppendUint64(b, seq)
	b = binary.BigEndian.AppendUint64(b, uint64(time.Now().UnixNano()))
	return "wamid." + base64.RawURLEncoding.EncodeToString(b)
}

// digits strips a leading '+' and returns "" unless the rest is digits.
func digits(addr string) string {
	d := strings.TrimPrefix(addr, "+")
	if d == "" {
		return ""
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return ""
		}
	}
	return d
}
