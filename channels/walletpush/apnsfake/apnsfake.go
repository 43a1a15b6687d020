// Package apnsfake is a scriptable stand-in for the Apple Push Notification
// service, for tests of pass-update pushes. It is an HTTP/2 TLS server
// speaking APNs' provider API: POST /3/device/<hex token> with apns-topic,
// apns-push-type, apns-priority and apns-expiration headers, a client
// certificate whose subject UID names the allowed topic, and APNs' answers
// (200 with apns-id; {"reason": ...} errors, 410 with a timestamp).
//
// A Server is safe for concurrent use.
package apnsfake

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// APNs reasons the fake answers with.
const (
	ReasonUnregistered           = "Unregistered"
	ReasonBadDeviceToken         = "BadDeviceToken"
	ReasonDeviceTokenNotForTopic = "DeviceTokenNotForTopic"
	ReasonTooManyRequests        = "TooManyRequests"
	ReasonInternalServerError    = "InternalServerError"
	ReasonServiceUnavailable     = "ServiceUnavailable"
	ReasonBadCertificate         = "BadCertificate"
	ReasonTopicDisallowed        = "TopicDisallowed"
	ReasonMissingTopic           = "MissingTopic"
	ReasonPayloadEmpty           = "PayloadEmpty"
	ReasonPayloadTooLarge        = "PayloadTooLarge"
	ReasonBadPriority            = "BadPriority"
	ReasonInvalidPushType        = "InvalidPushType"
	ReasonMethodNotAllowed       = "MethodNotAllowed"
	ReasonBadPath                = "BadPath"
	ReasonMissingProviderToken   = "MissingProviderToken"
)

var oidUserID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// Push is one request the fake received (accepted or not).
type Push struct {
	Token      string
	Topic      string
	PushType   string
	Priority   string
	Expiration string
	// ApnsID is the id the fake answered with (or the request's apns-id).
	ApnsID  string
	Payload []byte
	// CertTopic is the subject UID of the client certificate ("" if none).
	CertTopic string
	// Status is the HTTP status answered (0 when the stream was reset).
	Status int
	Reason string
	At     time.Time
}

// Failure is a scripted APNs error answer.
type Failure struct {
	Status int
	Reason string
}

// Server is a fake APNs host.
type Server struct {
	srv *httptest.Server

	mu     sync.Mutex
	pushes []Push
	tokens map[string]Failure
	next   []Failure
	delay  time.Duration
	down   bool
	now    func() time.Time
}

// New starts a fake APNs server; Close it when done.
func New() *Server {
	s := &Server{tokens: map[string]Failure{}, now: time.Now}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.handle))
	s.srv.EnableHTTP2 = true
	s.srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	s.srv.StartTLS()
	return s
}

// URL is the server's base URL (walletpush.Options.APNsURL).
func (s *Server) URL() string { return s.srv.URL }

// CertPool trusts the server's TLS certificate
// (walletpush.Options.APNsRootCAs).
func (s *Server) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.srv.Certificate())
	return p
}

// ClientTLSConfig returns a TLS client configuration that trusts the server
// and speaks HTTP/2; add a client certificate to it to push.
func (s *Server) ClientTLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.CertPool(), NextProtos: []string{"h2"}}
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// SetClock sets the clock used for timestamps (410 answers, Push.At).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Pushes returns a copy of the requests received so far.
func (s *Server) Pushes() []Push {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Push(nil), s.pushes...)
}

// Accepted returns the pushes answered 200.
func (s *Server) Accepted() []Push {
	var out []Push
	for _, p := range s.Pushes() {
		if p.Status == http.StatusOK {
			out = append(out, p)
		}
	}
	return out
}

// Reset forgets recorded pushes and every script.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pushes, s.next, s.tokens, s.delay, s.down = nil, nil, map[string]Failure{}, 0, false
}

// FailNext makes the next n pushes (to any token) fail with status and
// reason, before any per-token script.
func (s *Server) FailNext(n int, status int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.next = append(s.next, Failure{Status: status, Reason: reason})
	}
}

// RateLimitNext makes the next n pushes answer 429 TooManyRequests.
func (s *Server) RateLimitNext(n int) {
	s.FailNext(n, http.StatusTooManyRequests, ReasonTooManyRequests)
}

// SetToken makes every push to token fail with status and reason until
// ClearToken.
func (s *Server) SetToken(token string, status int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = Failure{Status: status, Reason: reason}
}

// Unregister makes token answer 410 Unregistered (the app/pass is gone).
func (s *Server) Unregister(token string) {
	s.SetToken(token, http.StatusGone, ReasonUnregistered)
}

// ClearToken removes token's script.
func (s *Server) ClearToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, token)
}

// SetDelay makes every answer wait d (or until the client gives up).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetDown makes the server reset every stream without an answer, as a
// broken connection would.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// NewToken returns a random 32-byte device token in hex, as devices report them.
func NewToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := strings.ToUpper(hex.EncodeToString(b))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	p := Push{
		Topic:      r.Header.Get("apns-topic"),
		PushType:   r.Header.Get("apns-push-type"),
		Priority:   r.Header.Get("apns-priority"),
		Expiration: r.Header.Get("apns-expiration"),
		ApnsID:     r.Header.Get("apns-id"),
		Payload:    body,
	}
	if p.ApnsID == "" {
		p.ApnsID = newID()
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		p.CertTopic = uid(r.TLS.PeerCertificates[0])
	}
	p.Token, _ = strings.CutPrefix(r.URL.Path, "/3/device/")

	s.mu.Lock()
	p.At = s.now()
	delay, down := s.delay, s.down
	var scripted *Failure
	if len(s.next) > 0 {
		scripted = &s.next[0]
		s.next = s.next[1:]
	} else if f, ok := s.tokens[p.Token]; ok {
		scripted = &f
	}
	s.mu.Unlock()

	if down {
		s.record(p)
		panic(http.ErrAbortHandler) // resets the stream
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			s.record(p)
			return
		}
	}
	f := s.check(r, &p)
	if f == nil && scripted != nil {
		f = scripted
	}
	w.Header().Set("apns-id", p.ApnsID)
	if f == nil {
		p.Status = http.StatusOK
		s.record(p)
		w.WriteHeader(http.StatusOK)
		return
	}
	p.Status, p.Reason = f.Status, f.Reason
	s.record(p)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(f.Status)
	ans := map[string]any{"reason": f.Reason}
	if f.Status == http.StatusGone {
		ans["timestamp"] = p.At.UnixMilli()
	}
	_ = json.NewEncoder(w).Encode(ans)
}

// check applies APNs' own request rules.
func (s *Server) check(r *http.Request, p *Push) *Failure {
	switch {
	case r.Method != http.MethodPost:
		return &Failure{http.StatusMethodNotAllowed, ReasonMethodNotAllowed}
	case !strings.HasPrefix(r.URL.Path, "/3/device/"):
		return &Failure{http.StatusNotFound, ReasonBadPath}
	case r.TLS == nil || len(r.TLS.PeerCertificates) == 0:
		return &Failure{http.StatusForbidden, ReasonMissingProviderToken}
	case !isHex(p.Token):
		return &Failure{http.StatusBadRequest, ReasonBadDeviceToken}
	case p.Topic == "" && p.CertTopic == "":
		return &Failure{http.StatusBadRequest, ReasonMissingTopic}
	case p.Topic != "" && p.CertTopic != "" && p.Topic != p.CertTopic:
		return &Failure{http.StatusBadRequest, ReasonTopicDisallowed}
	case len(p.Payload) == 0:
		return &Failure{http.StatusBadRequest, ReasonPayloadEmpty}
	case len(p.Payload) > 4096:
		return &Failure{http.StatusRequestEntityTooLarge, ReasonPayloadTooLarge}
	}
	switch p.PushType {
	case "", "alert", "background", "voip", "complication", "fileprovider", "mdm", "location", "liveactivity", "pushtotalk":
	default:
		return &Failure{http.StatusBadRequest, ReasonInvalidPushType}
	}
	if p.Priority != "" {
		if n, err := strconv.Atoi(p.Priority); err != nil || (n != 1 && n != 5 && n != 10) {
			return &Failure{http.StatusBadRequest, ReasonBadPriority}
		}
	}
	return nil
}

func (s *Server) record(p Push) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pushes = append(s.pushes, p)
}

func isHex(t string) bool {
	if t == "" || len(t)%2 != 0 || len(t) > 200 {
		return false
	}
	_, err := hex.DecodeString(t)
	return err == nil
}

func uid(c *x509.Certificate) string {
	for _, n := range c.Subject.Names {
		if n.Type.Equal(oidUserID) {
			return fmt.Sprint(n.Value)
		}
	}
	return ""
}
