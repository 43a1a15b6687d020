// Package googlefake is a scriptable stand-in for the Google Wallet API and
// Google's OAuth2 token endpoint, for tests of Google Wallet messages.
//
// The token endpoint (POST /token) takes the service-account JWT-bearer grant
// (grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer, assertion = an
// RS256 JWT from the fake's own service account with the wallet scope and
// aud = the token URL) and answers {"access_token", "expires_in",
// "token_type"}. The API answers POST
// /walletobjects/v1/loyaltyObject/{issuer}.{id}/addMessage with a Bearer
// token, and errors in Google's {"error": {"code", "message", "errors",
// "status"}} shape.
//
// A Server is safe for concurrent use.
package googlefake

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// DefaultIssuerID is the issuer id of New("").
const DefaultIssuerID = "3388000000022000001"

// Scope is the OAuth2 scope the token endpoint requires.
const Scope = "https://www.googleapis.com/auth/wallet_object.issuer"

const jwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// Message is one message the API accepted.
type Message struct {
	ObjectID    string
	Header      string
	Body        string
	ID          string
	MessageType string
	At          time.Time
}

// Failure is a scripted Google API error.
type Failure struct {
	// Code is the HTTP status; Status the canonical status
	// ("RESOURCE_EXHAUSTED"); Message the text.
	Code    int
	Status  string
	Message string
	// RetryAfter, when set, is sent as a Retry-After header.
	RetryAfter time.Duration
}

// TokenFailure is a scripted token endpoint error.
type TokenFailure struct {
	Status int
	// Error is the OAuth2 error code ("invalid_grant").
	Error       string
	Description string
}

// Server is a fake Google Wallet API with its token endpoint.
type Server struct {
	srv      *httptest.Server
	key      *rsa.PrivateKey
	keyID    string
	email    string
	issuerID string

	mu          sync.Mutex
	now         func() time.Time
	tokens      map[string]time.Time
	tokenCalls  int
	apiCalls    int
	messages    []Message
	objects     map[string][]map[string]string
	missing     map[string]bool
	next        []Failure
	tokenNext   []TokenFailure
	delay       time.Duration
	down        bool
	tokenExpiry time.Duration
}

// New starts a fake for issuerID ("" means DefaultIssuerID) with a freshly
// generated service account; Close it when done.
func New(issuerID string) *Server {
	if issuerID == "" {
		issuerID = DefaultIssuerID
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	s := &Server{
		key: key, keyID: randHex(20), email: "hub-wallet@fake-project.iam.gserviceaccount.com", issuerID: issuerID,
		now: time.Now, tokens: map[string]time.Time{}, objects: map[string][]map[string]string{}, missing: map[string]bool{},
		tokenExpiry: time.Hour,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/token", s.handleToken)
	mux.HandleFunc("/walletobjects/v1/loyaltyObject/", s.handleAddMessage)
	s.srv = httptest.NewServer(mux)
	return s
}

// URL is the API base URL (walletpush.Options.GoogleURL).
func (s *Server) URL() string { return s.srv.URL }

// TokenURL is the token endpoint (walletpush.Options.GoogleTokenURL).
func (s *Server) TokenURL() string { return s.srv.URL + "/token" }

// IssuerID is the issuer whose objects the fake serves.
func (s *Server) IssuerID() string { return s.issuerID }

// ClientEmail is the service account's e-mail.
func (s *Server) ClientEmail() string { return s.email }

// PublicKey is the service account's public key (to verify save links).
func (s *Server) PublicKey() *rsa.PublicKey { return &s.key.PublicKey }

// ServiceAccountJSON is the service account's JSON key
// (the google_service_account field).
func (s *Server) ServiceAccountJSON() string {
	der, _ := x509.MarshalPKCS8PrivateKey(s.key)
	b, _ := json.Marshal(map[string]string{
		"type":                        "service_account",
		"project_id":                  "fake-project",
		"private_key_id":              s.keyID,
		"private_key":                 string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":                s.email,
		"client_id":                   "100000000000000000001",
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   s.TokenURL(),
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
	})
	return string(b)
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// SetClock sets the clock used for token expiry and Message.At.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetTokenLifetime sets the lifetime of issued access tokens (default 1h).
func (s *Server) SetTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenExpiry = d
}

// Messages returns a copy of the accepted messages.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// TokenCalls counts requests to the token endpoint.
func (s *Server) TokenCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenCalls
}

// APICalls counts requests to the addMessage endpoint.
func (s *Server) APICalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apiCalls
}

// Reset forgets messages, tokens, counters and every script.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens, s.objects, s.missing = map[string]time.Time{}, map[string][]map[string]string{}, map[string]bool{}
	s.messages, s.next, s.tokenNext = nil, nil, nil
	s.tokenCalls, s.apiCalls, s.delay, s.down = 0, 0, 0, false
}

// FailNext makes the next n addMessage calls (with a valid token) fail with f.
func (s *Server) FailNext(n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.next = append(s.next, f)
	}
}

// RateLimitNext makes the next n addMessage calls answer 429
// RESOURCE_EXHAUSTED with Retry-After retryAfter (0: no header).
func (s *Server) RateLimitNext(n int, retryAfter time.Duration) {
	s.FailNext(n, Failure{Code: http.StatusTooManyRequests, Status: "RESOURCE_EXHAUSTED", Message: "Quota exceeded for quota metric 'Requests' of service 'walletobjects.googleapis.com'.", RetryAfter: retryAfter})
}

// FailTokenNext makes the next n token requests fail with f.
func (s *Server) FailTokenNext(n int, f TokenFailure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.tokenNext = append(s.tokenNext, f)
	}
}

// MarkMissing makes an object ("<issuer>.<card>") answer 404 NOT_FOUND, as a
// card never saved to Google Wallet does.
func (s *Server) MarkMissing(objectID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.missing[objectID] = true
}

// ExpireTokens revokes every access token issued so far (the API then
// answers 401 UNAUTHENTICATED until a new token is fetched).
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]time.Time{}
}

// SetDelay makes every answer wait d (or until the client gives up).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetDown makes the server close every connection without answering.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// prelude applies down and delay; it reports false when the request is done.
func (s *Server) prelude(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	down, delay := s.down, s.delay
	s.mu.Unlock()
	if down {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return false
			}
		}
		panic(http.ErrAbortHandler)
	}
	if delay > 0 {
		// Read the body first so the server notices a client that gives up.
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(bytes.NewReader(b))
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return false
		}
	}
	return true
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.tokenCalls++
	s.mu.Unlock()
	if !s.prelude(w, r) {
		return
	}
	tokErr := func(st int, code, desc string) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(st)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	if r.Method != http.MethodPost {
		tokErr(http.StatusMethodNotAllowed, "invalid_request", "POST required")
		return
	}
	s.mu.Lock()
	var f *TokenFailure
	if len(s.tokenNext) > 0 {
		f = &s.tokenNext[0]
		s.tokenNext = s.tokenNext[1:]
	}
	now := s.now()
	s.mu.Unlock()
	if f != nil {
		tokErr(f.Status, f.Error, f.Description)
		return
	}
	if err := r.ParseForm(); err != nil {
		tokErr(http.StatusBadRequest, "invalid_request", "unreadable form")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != jwtBearer {
		tokErr(http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+gt)
		return
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(r.PostForm.Get("assertion"), claims, func(t *jwt.Token) (any, error) {
		if t.Method != jwt.SigningMethodRS256 {
			return nil, fmt.Errorf("alg %v", t.Header["alg"])
		}
		return &s.key.PublicKey, nil
	})
	if err != nil {
		tokErr(http.StatusBadRequest, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	if iss, _ := claims["iss"].(string); iss != s.email {
		tokErr(http.StatusUnauthorized, "invalid_client", "The OAuth client was not found.")
		return
	}
	if !claims.VerifyAudience(s.TokenURL(), true) {
		tokErr(http.StatusBadRequest, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
		return
	}
	scope, _ := claims["scope"].(string)
	if !slices.Contains(strings.Fields(scope), Scope) {
		tokErr(http.StatusBadRequest, "invalid_scope", "Invalid OAuth scope or ID token audience provided.")
		return
	}
	tok := "ya29.fake-" + randHex(24)
	s.mu.Lock()
	s.tokens[tok] = now.Add(s.tokenExpiry)
	exp := s.tokenExpiry
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "expires_in": int(exp.Seconds()), "token_type": "Bearer"})
}

// apiError writes Google's error body.
func apiError(w http.ResponseWriter, f Failure) {
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
	}
	reason := map[int]string{400: "invalid", 401: "authError", 403: "forbidden", 404: "resourceNotFound", 409: "duplicate", 429: "rateLimitExceeded"}[f.Code]
	if reason == "" {
		reason = "backendError"
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(f.Code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code":    f.Code,
		"message": f.Message,
		"errors":  []map[string]string{{"message": f.Message, "domain": "global", "reason": reason}},
		"status":  f.Status,
	}})
}

func (s *Server) handleAddMessage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.apiCalls++
	s.mu.Unlock()
	if !s.prelude(w, r) {
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, "/walletobjects/v1/loyaltyObject/")
	objectID, ok := strings.CutSuffix(rest, "/addMessage")
	if !ok || objectID == "" || strings.Contains(objectID, "/") {
		apiError(w, Failure{Code: http.StatusNotFound, Status: "NOT_FOUND", Message: "Method not found."})
		return
	}
	if r.Method != http.MethodPost {
		apiError(w, Failure{Code: http.StatusMethodNotAllowed, Status: "INVALID_ARGUMENT", Message: "Method not allowed."})
		return
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	exp, known := s.tokens[tok]
	now := s.now()
	valid := known && now.Before(exp)
	var f *Failure
	if valid && len(s.next) > 0 {
		f = &s.next[0]
		s.next = s.next[1:]
	}
	missing := s.missing[objectID]
	s.mu.Unlock()
	switch {
	case !valid:
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
		apiError(w, Failure{Code: http.StatusUnauthorized, Status: "UNAUTHENTICATED", Message: "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential."})
		return
	case f != nil:
		apiError(w, *f)
		return
	case !strings.HasPrefix(objectID, s.issuerID+"."):
		apiError(w, Failure{Code: http.StatusForbidden, Status: "PERMISSION_DENIED", Message: "The caller does not have permission"})
		return
	case missing:
		apiError(w, Failure{Code: http.StatusNotFound, Status: "NOT_FOUND", Message: fmt.Sprintf("Resource not found: %s", objectID)})
		return
	}
	var body struct {
		Message *struct {
			Header      string `json:"header"`
			Body        string `json:"body"`
			ID          string `json:"id"`
			MessageType string `json:"messageType"`
		} `json:"message"`
	}
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(raw, &body); err != nil || body.Message == nil {
		apiError(w, Failure{Code: http.StatusBadRequest, Status: "INVALID_ARGUMENT", Message: "Invalid JSON payload received."})
		return
	}
	m := body.Message
	switch m.MessageType {
	case "", "TEXT", "TEXT_AND_NOTIFY", "text", "textAndNotify", "EXPIRATION_NOTIFICATION", "expirationNotification":
	default:
		apiError(w, Failure{Code: http.StatusBadRequest, Status: "INVALID_ARGUMENT", Message: fmt.Sprintf("Invalid value at 'message.message_type' (%s)", m.MessageType)})
		return
	}
	if m.Header == "" && m.Body == "" {
		apiError(w, Failure{Code: http.StatusBadRequest, Status: "INVALID_ARGUMENT", Message: "Message header or body is required."})
		return
	}
	s.mu.Lock()
	s.messages = append(s.messages, Message{ObjectID: objectID, Header: m.Header, Body: m.Body, ID: m.ID, MessageType: m.MessageType, At: now})
	s.objects[objectID] = append(s.objects[objectID], map[string]string{"header": m.Header, "body": m.Body, "id": m.ID, "messageType": m.MessageType})
	msgs := append([]map[string]string(nil), s.objects[objectID]...)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"resource": map[string]any{
		"kind": "walletobjects#loyaltyObject", "id": objectID, "state": "ACTIVE", "messages": msgs,
	}})
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
