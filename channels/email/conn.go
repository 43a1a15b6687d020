package email

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/mail"
	"strings"
	"sync"
)

// session is the connection of one Send: it dials (and for implicit TLS does
// the handshake), closes the connection when the Send's context ends, and
// remembers the first transport error so that failures can be told apart.
type session struct {
	ctx         context.Context
	tlsConf     *tls.Config
	implicitTLS bool

	mu     sync.Mutex
	raw    net.Conn
	stop   func() bool
	netErr error
}

// dial is go-mail's DialContextFunc. go-mail bounds it with its timeout.
func (s *session) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.raw = raw
	s.stop = context.AfterFunc(s.ctx, func() { _ = raw.Close() })
	s.mu.Unlock()
	conn := &trackedConn{Conn: raw, s: s}
	if !s.implicitTLS {
		return conn, nil
	}
	// A *tls.Conn lets go-mail see the session is encrypted (PLAIN/LOGIN).
	tc := tls.Client(conn, s.tlsConf)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	return tc, nil
}

// finish releases the connection, whatever state it is in.
func (s *session) finish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop != nil {
		s.stop()
	}
	if s.raw != nil {
		_ = s.raw.Close()
	}
}

func (s *session) note(err error) {
	s.mu.Lock()
	if s.netErr == nil {
		s.netErr = err
	}
	s.mu.Unlock()
}

// state reports whether a connection was made and whether the transport
// failed by a timeout (or the context ended).
func (s *session) state() (connected, timedOut, broken bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	timedOut = s.ctx.Err() != nil || isTimeout(s.netErr)
	return s.raw != nil, timedOut, s.netErr != nil
}

// alive reports whether the connection can still carry a QUIT.
func (s *session) alive() bool {
	connected, timedOut, broken := s.state()
	return connected && !timedOut && !broken
}

func isTimeout(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// trackedConn records the first read or write error of the connection.
type trackedConn struct {
	net.Conn
	s *session
}

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.s.note(err)
	}
	return n, err
}

func (c *trackedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil {
		c.s.note(err)
	}
	return n, err
}

// mailAddress returns the bare address of an RFC 5322 address ("a@b.c" or
// "Name <a@b.c>").
func mailAddress(s string) (string, error) {
	a, err := mail.ParseAddress(strings.TrimSpace(s))
	if err != nil {
		return "", err
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at <= 0 || at == len(a.Address)-1 {
		return "", errors.New("no domain")
	}
	return a.Address, nil
}
