package emailfake

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/7loc/hub/hub"
)

// Options configure a Server.
type Options struct {
	// StartTLS offers STARTTLS with the generated certificate (the sender's
	// tls "starttls").
	StartTLS bool
	// ImplicitTLS speaks TLS from the first byte, like port 465 (the sender's
	// tls "tls"). It wins over StartTLS.
	ImplicitTLS bool
	// Username, when set, makes the server offer AUTH PLAIN (after TLS when TLS
	// is on) and refuse MAIL until the client authenticated with Username and
	// Password.
	Username string
	Password string
	// Domain is the host name in the greeting; "smtp.fake.test" by default.
	Domain string
}

// Stage is where a scripted failure strikes.
type Stage string

// Stages of an SMTP transaction a Failure can strike.
const (
	// StageAny fails whichever of MAIL, RCPT or end of DATA comes first.
	StageAny Stage = ""
	// StageConnect answers a new connection with the reply instead of the
	// greeting and closes it (a 421 "too many connections").
	StageConnect Stage = "connect"
	// StageMail fails MAIL FROM.
	StageMail Stage = "mail"
	// StageRcpt fails RCPT TO.
	StageRcpt Stage = "rcpt"
	// StageData fails the end of DATA: the message was transferred and is
	// refused (not recorded).
	StageData Stage = "data"
)

// Failure is a scripted SMTP error reply.
type Failure struct {
	Stage Stage
	// Code is the basic reply code (421, 451, 550, …).
	Code int
	// Enhanced is the RFC 3463 enhanced status code ("4.7.0"); empty gives the
	// generic X.0.0.
	Enhanced string
	// Message is the reply text.
	Message string
}

// Temporary is the usual 451 4.3.0 transient failure, at any stage.
func Temporary() Failure {
	return Failure{Code: 451, Enhanced: "4.3.0", Message: "Temporary local problem, please try again later"}
}

// RateLimit is a 421 4.7.0 "too many messages" reply, at any stage: what
// providers answer a sender going over its rate.
func RateLimit() Failure {
	return Failure{Code: 421, Enhanced: "4.7.0", Message: "Too many messages, rate limit exceeded, try again later"}
}

// NoSuchUser is the 550 5.1.1 reply for a mailbox that does not exist.
func NoSuchUser() Failure {
	return Failure{Stage: StageRcpt, Code: 550, Enhanced: "5.1.1", Message: "No such user here"}
}

func (f Failure) smtpError() *smtp.SMTPError {
	e := &smtp.SMTPError{Code: f.Code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: f.Message}
	if e.Message == "" {
		e.Message = "Scripted failure"
	}
	if parts := strings.Split(f.Enhanced, "."); len(parts) == 3 {
		var ec smtp.EnhancedCode
		ok := true
		for i, p := range parts {
			n, err := strconv.Atoi(p)
			if err != nil {
				ok = false
				break
			}
			ec[i] = n
		}
		if ok {
			e.EnhancedCode = ec
		}
	}
	return e
}

// Message is one message the server accepted.
type Message struct {
	// From is the envelope sender (MAIL FROM).
	From string
	// To are the envelope recipients (RCPT TO).
	To []string
	// Data is the message as transferred (headers and body, CRLF line ends).
	Data []byte
	// Header is Data's header; Body the rest. Both are empty when Data does not
	// parse as a message (ParseErr says why).
	Header   mail.Header
	Body     []byte
	ParseErr error
	// AuthUser is the authenticated user, "" without AUTH.
	AuthUser string
	// TLS reports whether the session was encrypted.
	TLS bool
	// Helo is the name the client gave in EHLO.
	Helo string
	// At is when the message was accepted.
	At time.Time
}

// Server is a scriptable SMTP server on 127.0.0.1.
type Server struct {
	opt       Options
	addr      string
	serverTLS *tls.Config
	pool      *x509.CertPool

	mu          sync.Mutex
	srv         *smtp.Server
	ln          net.Listener
	conns       map[net.Conn]struct{} // open connections of the current listener
	stop        chan struct{}         // closed when the current listener goes down
	closed      bool
	messages    []Message
	rejects     map[string]Failure
	failures    []Failure
	dataDelay   time.Duration
	connections int
}

// New starts a server on 127.0.0.1 on a free port.
func New(opt Options) (*Server, error) {
	if opt.Domain == "" {
		opt.Domain = "smtp.fake.test"
	}
	cert, pool, err := selfSigned()
	if err != nil {
		return nil, err
	}
	s := &Server{
		opt:       opt,
		serverTLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		pool:      pool,
		rejects:   map[string]Failure{},
		conns:     map[net.Conn]struct{}{},
	}
	if err := s.listen("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return s, nil
}

// Start is New for tests: it fails tb on error and closes the server when the
// test ends.
func Start(tb testing.TB, opt Options) *Server {
	tb.Helper()
	s, err := New(opt)
	if err != nil {
		tb.Fatalf("emailfake: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// listen (re)starts serving on addr; s.mu must not be held.
func (s *Server) listen(addr string) error {
	raw, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("emailfake: listen: %w", err)
	}
	// raw -> tracking (count, close on down) -> TLS (implicit) -> scripted
	// connect failures -> go-smtp, which must see the *tls.Conn.
	var ln net.Listener = &trackListener{Listener: raw, s: s}
	if s.opt.ImplicitTLS {
		ln = tls.NewListener(ln, s.serverTLS)
	}
	ln = &rejectListener{Listener: ln, s: s}
	stop := make(chan struct{})
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c, stop: stop}, nil
	}))
	srv.Domain = s.opt.Domain
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 100
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if s.opt.StartTLS && !s.opt.ImplicitTLS {
		srv.TLSConfig = s.serverTLS
	}
	// Without TLS there is nothing to wait for before AUTH.
	srv.AllowInsecureAuth = !s.opt.StartTLS && !s.opt.ImplicitTLS

	s.mu.Lock()
	s.addr = raw.Addr().String()
	s.srv = srv
	s.ln = raw
	s.stop = stop
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// trackListener counts connections and keeps them for SetDown and Close.
type trackListener struct {
	net.Listener
	s *Server
}

func (l *trackListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if l.s.ln != l.Listener {
		// Went down while accepting.
		_ = c.Close()
		return nil, net.ErrClosed
	}
	l.s.connections++
	tc := &conn{Conn: c, s: l.s}
	l.s.conns[tc] = struct{}{}
	return tc, nil
}

// rejectListener answers scripted StageConnect failures instead of the
// greeting.
type rejectListener struct {
	net.Listener
	s *Server
}

func (l *rejectListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		f, ok := l.s.take(StageConnect)
		if !ok {
			return c, nil
		}
		go func() {
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			e := f.smtpError()
			line := fmt.Sprintf("%d %s\r\n", e.Code, e.Message)
			if e.EnhancedCode != smtp.EnhancedCodeNotSet && e.EnhancedCode != smtp.NoEnhancedCode {
				line = fmt.Sprintf("%d %d.%d.%d %s\r\n", e.Code, e.EnhancedCode[0], e.EnhancedCode[1], e.EnhancedCode[2], e.Message)
			}
			_, _ = io.WriteString(c, line)
			_ = c.Close()
		}()
	}
}

// conn leaves the server's set of open connections when closed.
type conn struct {
	net.Conn
	s    *Server
	once sync.Once
}

func (c *conn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// Addr is the server's "127.0.0.1:port".
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Host is "127.0.0.1".
func (s *Server) Host() string {
	host, _, _ := net.SplitHostPort(s.Addr())
	return host
}

// Port is the port the server listens on.
func (s *Server) Port() int {
	_, port, _ := net.SplitHostPort(s.Addr())
	n, _ := strconv.Atoi(port)
	return n
}

// CertPool holds the server's self-signed certificate.
func (s *Server) CertPool() *x509.CertPool { return s.pool }

// ClientTLSConfig is a client configuration that trusts the server's
// certificate (ServerName left empty: the client sets the host it dials).
func (s *Server) ClientTLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.pool, MinVersion: tls.VersionTLS12}
}

// ChannelConfig is an email channel configuration pointing at the server:
// host, port, tls matching Options, the username and password when set, and
// the sender "Shop <noreply@shop.example>".
func (s *Server) ChannelConfig(businessID string) *hub.ChannelConfig {
	mode := "none"
	switch {
	case s.opt.ImplicitTLS:
		mode = "tls"
	case s.opt.StartTLS:
		mode = "starttls"
	}
	cfg := &hub.ChannelConfig{
		BusinessID: businessID,
		Provider:   hub.ChannelEmail,
		Enabled:    true,
		Settings: map[string]string{
			"host":      s.Host(),
			"port":      strconv.Itoa(s.Port()),
			"from":      "noreply@shop.example",
			"from_name": "Shop",
			"tls":       mode,
		},
		Secrets: map[string]string{},
	}
	if s.opt.Username != "" {
		cfg.Settings["username"] = s.opt.Username
		cfg.Secrets["password"] = s.opt.Password
	}
	return cfg
}

// Messages returns a copy of the accepted messages, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	copy(out, s.messages)
	return out
}

// Connections is the number of TCP connections accepted so far.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connections
}

// RejectRcpt makes RCPT TO for addr (case-insensitive) fail with f's reply
// (f.Stage is ignored) until Reset.
func (s *Server) RejectRcpt(addr string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejects[strings.ToLower(addr)] = f
}

// FailNext makes the next n commands of f.Stage fail with f's reply.
// Failures queue up in order; each one is used once.
func (s *Server) FailNext(n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, f)
	}
}

// SetDataDelay delays the answer to the end of DATA by d, after the message
// was recorded; 0 turns the delay off.
func (s *Server) SetDataDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dataDelay = d
}

// Reset forgets the recorded messages and every script (rejections, queued
// failures, delay); the connection count stays.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = nil
	s.rejects = map[string]Failure{}
	s.failures = nil
	s.dataDelay = 0
}

// SetDown(true) closes the listener and every open connection, so that
// connections are refused; SetDown(false) listens again on the same address.
func (s *Server) SetDown(down bool) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("emailfake: server closed")
	}
	srv := s.srv
	if down {
		closeSrv := s.shutdownLocked()
		s.mu.Unlock()
		closeSrv()
		return nil
	}
	addr := s.addr
	s.mu.Unlock()
	if srv != nil {
		return nil
	}
	return s.listen(addr)
}

// Close stops the server for good.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	closeSrv := s.shutdownLocked()
	s.mu.Unlock()
	closeSrv()
	return nil
}

// shutdownLocked closes the listener itself (go-smtp's Close misses a
// listener whose Serve has not started yet) and returns the function that
// closes the connections, to be called without s.mu.
func (s *Server) shutdownLocked() func() {
	if s.srv == nil {
		return func() {}
	}
	close(s.stop)
	_ = s.ln.Close()
	srv := s.srv
	s.srv, s.ln = nil, nil
	conns := make([]net.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	return func() {
		_ = srv.Close()
		for _, c := range conns {
			_ = c.Close()
		}
	}
}

// take pops the next queued failure if it strikes at stage.
func (s *Server) take(stage Stage) (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) == 0 {
		return Failure{}, false
	}
	f := s.failures[0]
	if f.Stage != stage && !(f.Stage == StageAny && stage != StageConnect) {
		return Failure{}, false
	}
	s.failures = s.failures[1:]
	return f, true
}

// session is one SMTP connection's state; go-smtp calls it from the
// connection's goroutine only.
type session struct {
	s        *Server
	conn     *smtp.Conn
	stop     chan struct{}
	authUser string
	from     string
	rcpts    []string
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string {
	if ss.s.opt.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if ss.s.opt.Username == "" || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if identity != "" && identity != username {
			return smtp.ErrAuthFailed
		}
		if username != ss.s.opt.Username || password != ss.s.opt.Password {
			return smtp.ErrAuthFailed
		}
		ss.authUser = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if f, ok := ss.s.take(StageMail); ok {
		return f.smtpError()
	}
	if ss.s.opt.Username != "" && ss.authUser == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	ss.from = from
	ss.rcpts = nil
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if f, ok := ss.s.take(StageRcpt); ok {
		return f.smtpError()
	}
	ss.s.mu.Lock()
	f, rejected := ss.s.rejects[strings.ToLower(to)]
	ss.s.mu.Unlock()
	if rejected {
		return f.smtpError()
	}
	ss.rcpts = append(ss.rcpts, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if f, ok := ss.s.take(StageData); ok {
		return f.smtpError()
	}
	_, isTLS := ss.conn.TLSConnectionState()
	m := Message{
		From:     ss.from,
		To:       append([]string(nil), ss.rcpts...),
		Data:     data,
		AuthUser: ss.authUser,
		TLS:      isTLS,
		Helo:     ss.conn.Hostname(),
		At:       time.Now(),
	}
	if pm, err := mail.ReadMessage(bytes.NewReader(data)); err != nil {
		m.ParseErr = err
	} else {
		m.Header = pm.Header
		m.Body, m.ParseErr = io.ReadAll(pm.Body)
	}
	ss.s.mu.Lock()
	ss.s.messages = append(ss.s.messages, m)
	delay := ss.s.dataDelay
	ss.s.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ss.stop:
		}
	}
	return nil
}

func (ss *session) Reset() {
	ss.from = ""
	ss.rcpts = nil
}

func (ss *session) Logout() error { return nil }
