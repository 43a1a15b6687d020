package email

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/7loc/hub/hub"
)

// Defaults of the operator settings.
const (
	// DefaultTimeout bounds one SMTP session when Options.Timeout is zero.
	DefaultTimeout = 30 * time.Second
	// DefaultRetryAfter is the pause asked of the router when a server says
	// "too many" without saying for how long.
	DefaultRetryAfter = 60 * time.Second
)

// TLS modes of the "tls" setting.
const (
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
	TLSNone     = "none"
)

// HeaderDelivery carries the hub's delivery id in every message.
const HeaderDelivery = "X-Hub-Delivery"

// Options are the operator's settings, the same for every business.
type Options struct {
	// Logger receives debug lines; nil discards them.
	Logger *slog.Logger
	// Now stamps the Date header; nil is time.Now.
	Now func() time.Time
	// Timeout bounds one SMTP session: connecting, TLS, AUTH and the
	// transaction (0 is DefaultTimeout). The context's deadline applies too.
	Timeout time.Duration
	// TLSConfig is the client TLS configuration (tests trust the fake's
	// certificate with it); nil is the system roots. ServerName defaults to
	// the host.
	TLSConfig *tls.Config
}

// Sender sends one business's email through its SMTP server.
type Sender struct {
	host     string
	port     int
	username string
	password string
	from     string
	fromName string
	domain   string
	tlsMode  string
	rate     float64
	limitKey string
	tlsConf  *tls.Config
	timeout  time.Duration
	log      *slog.Logger
	now      func() time.Time
}

// New validates an email configuration (see hub.ChannelFields["email"]); it
// makes no network call.
func New(cfg *hub.ChannelConfig, opt Options) (*Sender, error) {
	if cfg == nil {
		return nil, hub.Errorf(hub.EValidation, "email: no channel configuration")
	}
	if cfg.Provider != "" && cfg.Provider != hub.ChannelEmail {
		return nil, hub.Errorf(hub.EValidation, "email: configuration is for provider %q", cfg.Provider)
	}
	get := func(name string) string {
		if v := strings.TrimSpace(cfg.Get(name)); v != "" {
			return v
		}
		for _, f := range hub.ChannelFields[hub.ChannelEmail] {
			if f.Name == name {
				return f.Default
			}
		}
		return ""
	}
	p := hub.Problems{}
	host := get("host")
	switch {
	case host == "":
		p.Add("host", "is required")
	case strings.ContainsAny(host, " /:\r\n") && net.ParseIP(host) == nil:
		p.Add("host", "must be a host name or an IP address")
	}
	port, err := strconv.Atoi(get("port"))
	if err != nil || port < 1 || port > 65535 {
		p.Add("port", "must be a port number")
	}
	from := get("from")
	domain := ""
	if from == "" {
		p.Add("from", "is required")
	} else if a, err := mailAddress(from); err != nil {
		p.Add("from", "must be an email address")
	} else {
		from = a
		domain = from[strings.LastIndexByte(from, '@')+1:]
	}
	fromName := get("from_name")
	if strings.ContainsAny(fromName, "\r\n") {
		p.Add("from_name", "must be one line")
	}
	mode := strings.ToLower(get("tls"))
	if mode != TLSStartTLS && mode != TLSImplicit && mode != TLSNone {
		p.Add("tls", "must be starttls, tls or none")
	}
	username := get("username")
	password := cfg.Get("password")
	if strings.ContainsAny(username, "\r\n") {
		p.Add("username", "must be one line")
	}
	if username != "" && mode == TLSNone && !isLoopback(host) {
		p.Add("tls", "must be starttls or tls when a username is set: the password is never sent in clear text")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}

	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if opt.TLSConfig != nil {
		tc = opt.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	s := &Sender{
		host:     host,
		port:     port,
		username: username,
		password: password,
		from:     from,
		fromName: fromName,
		domain:   domain,
		tlsMode:  mode,
		rate:     cfg.Float("rate_per_second", 10),
		tlsConf:  tc,
		timeout:  opt.Timeout,
		log:      opt.Logger,
		now:      opt.Now,
	}
	sum := sha256.Sum256([]byte(username))
	s.limitKey = "email:" + strings.ToLower(host) + ":" + hex.EncodeToString(sum[:])[:8]
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Limits is the account's sending rate: {"email:<host>:<first 8 hex digits of
// sha256(username)>", rate_per_second, burst 1}.
func (s *Sender) Limits(hub.Message) []hub.RateLimit {
	return []hub.RateLimit{{Key: s.limitKey, PerSecond: s.rate, Burst: 1}}
}

// Send delivers m over one SMTP session. The receipt's ProviderMessageID is
// the Message-ID header, "<DeliveryID@domain of from>". Errors are
// *hub.SendError (see the package documentation).
func (s *Sender) Send(ctx context.Context, m hub.Message) (hub.Receipt, error) {
	msg, err := s.compose(m)
	if err != nil {
		return hub.Receipt{}, err
	}
	id := msg.GetMessageID()
	if err := ctx.Err(); err != nil {
		return hub.Receipt{}, &hub.SendError{Kind: hub.SendTransient, Reason: "timeout", Err: err}
	}

	sess := &session{ctx: ctx, tlsConf: s.tlsConf, implicitTLS: s.tlsMode == TLSImplicit}
	defer sess.finish()
	client, err := mail.NewClient(s.host, s.clientOptions(sess)...)
	if err != nil {
		return hub.Receipt{}, &hub.SendError{Kind: hub.SendPermanent, Reason: "config", Err: err}
	}
	sc, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		se := classify(sess.dialFailure(err))
		s.log.DebugContext(ctx, "email: connect failed", "host", s.host, "delivery_id", m.DeliveryID, "error", se)
		return hub.Receipt{}, se
	}
	err = client.SendWithSMTPClient(sc, msg)
	if msg.IsDelivered() {
		// The server took the message; a failed RSET or QUIT changes nothing.
		if cerr := client.CloseWithSMTPClient(sc); cerr != nil || err != nil {
			s.log.DebugContext(ctx, "email: error after delivery ignored", "delivery_id", m.DeliveryID, "error", firstErr(err, cerr))
		}
		return hub.Receipt{ProviderMessageID: id}, nil
	}
	f := sess.sendFailure(err)
	if f.code != 0 && sess.alive() {
		_ = client.CloseWithSMTPClient(sc) // polite QUIT after a refusal
	}
	se := classify(f)
	s.log.DebugContext(ctx, "email: send failed", "host", s.host, "delivery_id", m.DeliveryID, "error", se)
	return hub.Receipt{}, se
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (s *Sender) clientOptions(sess *session) []mail.Option {
	opts := []mail.Option{
		mail.WithPort(s.port),
		mail.WithTimeout(s.timeout),
		mail.WithDialContextFunc(sess.dial),
		mail.WithTLSConfig(s.tlsConf),
		// The session is new: no NOOP before sending, no RSET after.
		mail.WithoutNoop(),
		mail.WithoutRset(),
	}
	switch s.tlsMode {
	case TLSStartTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	default: // implicit TLS is done by sess.dial; none is none
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if s.username != "" {
		opts = append(opts,
			mail.WithUsername(s.username),
			mail.WithPassword(s.password),
			mail.WithOpportunisticSMTPAuth(mail.SMTPAuthPlain, mail.SMTPAuthLogin),
		)
	}
	return opts
}

// compose builds the message; a message that cannot be built is a permanent
// error.
func (s *Sender) compose(m hub.Message) (*mail.Msg, error) {
	bad := func(reason string, unreachable bool, err error) error {
		return &hub.SendError{Kind: hub.SendPermanent, Reason: reason, Unreachable: unreachable, Err: err}
	}
	to, err := mailAddress(m.To)
	if err != nil {
		return nil, bad("bad_address", true, fmt.Errorf("email: recipient %q: %w", m.To, err))
	}
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if s.fromName != "" {
		err = msg.FromFormat(s.fromName, s.from)
	} else {
		err = msg.From(s.from)
	}
	if err != nil {
		return nil, bad("config", false, fmt.Errorf("email: sender: %w", err))
	}
	if err := msg.To(to); err != nil {
		return nil, bad("bad_address", true, fmt.Errorf("email: recipient %q: %w", m.To, err))
	}
	msg.Subject(oneLine(m.Subject))
	msg.SetDateWithValue(s.now())
	if m.DeliveryID != "" {
		if !isDotAtom(m.DeliveryID) {
			return nil, bad("bad_request", false, fmt.Errorf("email: delivery id %q cannot be a Message-ID", m.DeliveryID))
		}
		msg.SetMessageIDWithValue(m.DeliveryID + "@" + s.domain)
		msg.SetGenHeader(mail.Header(HeaderDelivery), m.DeliveryID)
	} else {
		msg.SetMessageID()
	}
	if lang := strings.TrimSpace(m.Language); lang != "" && isLanguageTag(lang) {
		msg.SetGenHeader(mail.HeaderContentLang, lang)
	}
	if m.UnsubscribeURL != "" {
		u, err := url.Parse(m.UnsubscribeURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsAny(m.UnsubscribeURL, " <>\r\n") {
			return nil, bad("bad_request", false, fmt.Errorf("email: unsubscribe URL %q is not an http(s) URL", m.UnsubscribeURL))
		}
		if u.Scheme == "https" {
			// RFC 8058 one-click: List-Unsubscribe-Post needs an HTTPS URI.
			if err := msg.SetListUnsubscribeOneClick(m.UnsubscribeURL); err != nil {
				return nil, bad("bad_request", false, err)
			}
		} else {
			msg.SetListUnsubscribe(m.UnsubscribeURL)
		}
	}
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s)
}

// isDotAtom reports whether s is RFC 5322 dot-atom-text, as the left part of
// a Message-ID must be.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// isLanguageTag accepts BCP 47-shaped tags ("en", "pt-BR", "zh-Hant-TW").
func isLanguageTag(s string) bool {
	if len(s) > 35 {
		return false
	}
	for _, sub := range strings.Split(s, "-") {
		if sub == "" || len(sub) > 8 {
			return false
		}
		for _, c := range []byte(sub) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
