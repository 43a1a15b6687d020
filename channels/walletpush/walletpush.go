package walletpush

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/7loc/hub/hub"
	"github.com/sideshow/apns2"
	"golang.org/x/net/http2"
	"golang.org/x/oauth2"
)

// Provider endpoints and constants.
const (
	// DefaultAPNsURL is APNs' production host; Wallet passes always use it.
	DefaultAPNsURL = apns2.HostProduction
	// DefaultGoogleURL is the Google Wallet API's base URL.
	DefaultGoogleURL = "https://walletobjects.googleapis.com"
	// DefaultGoogleTokenURL is Google's OAuth2 token endpoint.
	DefaultGoogleTokenURL = "https://oauth2.googleapis.com/token"
	// GoogleScope is the OAuth2 scope of the Google Wallet issuer API.
	GoogleScope = "https://www.googleapis.com/auth/wallet_object.issuer"
	// GoogleDeviceID is the PassDevice.DeviceID that stands for "this card
	// is saved in Google Wallet".
	GoogleDeviceID = "google"
	// GoogleNotifyBudget is how many TEXT_AND_NOTIFY messages Google Wallet
	// allows per pass in GoogleNotifyWindow.
	GoogleNotifyBudget = 3
	// GoogleNotifyWindow is the window of GoogleNotifyBudget.
	GoogleNotifyWindow = 24 * time.Hour
)

// defaultTimeout bounds one provider call when the context has no deadline.
const defaultTimeout = 30 * time.Second

// Errors of BuildPass and SaveURL when a side is not configured.
var (
	// ErrAppleNotConfigured: apple_pass_type_id, apple_team_id and
	// apple_certificate are not all set.
	ErrAppleNotConfigured = errors.New("walletpush: Apple Wallet is not configured (apple_pass_type_id, apple_team_id, apple_certificate)")
	// ErrNoWWDR: passes cannot be signed without Apple's WWDR intermediate
	// (apple_wwdr_certificate, or appended to apple_certificate).
	ErrNoWWDR = errors.New("walletpush: apple_wwdr_certificate is not configured; it is needed to sign passes")
	// ErrGoogleNotConfigured: google_issuer_id, google_class_id and
	// google_service_account are not all set.
	ErrGoogleNotConfigured = errors.New("walletpush: Google Wallet is not configured (google_issuer_id, google_class_id, google_service_account)")
)

// Options are the operator's settings of the PUSH provider.
type Options struct {
	// APNsURL is the APNs host; "" means DefaultAPNsURL.
	APNsURL string
	// APNsRootCAs are the roots trusted for APNs' TLS certificate; nil means
	// the system roots. Tests pass apnsfake's CertPool.
	APNsRootCAs *x509.CertPool
	// GoogleURL is the Google Wallet API base URL; "" means DefaultGoogleURL.
	GoogleURL string
	// GoogleTokenURL is the OAuth2 token endpoint; "" means
	// DefaultGoogleTokenURL. The service account's own token_uri is ignored so
	// a business cannot point the hub at another host.
	GoogleTokenURL string
	// Client makes the Google calls (APNs needs its own HTTP/2 client with
	// the business's certificate); nil means a client with a 30s timeout.
	Client *http.Client
	// Logger receives warnings about partly failed pushes; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Sender pushes pass updates for one business and builds its passes. It is
// safe for concurrent use; Close releases its APNs connections.
type Sender struct {
	apple  *appleSide
	google *googleSide
	rate   float64
	log    *slog.Logger
	now    func() time.Time
}

type appleSide struct {
	passTypeID string
	teamID     string
	cert       *x509.Certificate
	key        crypto.Signer
	wwdr       *x509.Certificate // nil: passes cannot be signed
	apns       *apns2.Client
}

type googleSide struct {
	issuerID string
	classID  string // full "<issuer>.<suffix>"
	email    string
	keyID    string
	key      *rsa.PrivateKey
	keyPEM   []byte
	base     string
	tokenURL string
	client   *http.Client

	mu  sync.Mutex
	tok *oauth2.Token
}

// New validates a push configuration and makes a Sender; it makes no network
// calls. Either the Apple fields (apple_pass_type_id, apple_team_id,
// apple_certificate) or the Google fields (google_issuer_id, google_class_id,
// google_service_account) or both must be complete; half-filled sides are
// errors. Errors are hub validation errors naming the fields.
func New(cfg *hub.ChannelConfig, opt Options) (*Sender, error) {
	if cfg == nil {
		return nil, hub.Errorf(hub.EValidation, "walletpush: no channel configuration")
	}
	if cfg.Provider != "" && cfg.Provider != hub.ChannelPush {
		return nil, hub.Errorf(hub.EValidation, "walletpush: configuration is for provider %q", cfg.Provider)
	}
	get := func(name string) string { return strings.TrimSpace(cfg.Get(name)) }
	s := &Sender{
		rate: cfg.Float("rate_per_second", 50),
		log:  opt.Logger,
		now:  opt.Now,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	p := hub.Problems{}
	appleFields := []string{"apple_pass_type_id", "apple_team_id", "apple_certificate"}
	googleFields := []string{"google_issuer_id", "google_class_id", "google_service_account"}
	appleSet, googleSet := countSet(get, appleFields), countSet(get, googleFields)
	if appleSet == 0 && googleSet == 0 {
		fields := map[string]string{}
		for _, f := range append(appleFields, googleFields...) {
			fields[f] = "configure Apple Wallet (all apple_* fields) or Google Wallet (all google_* fields)"
		}
		return nil, &hub.Error{Code: hub.EValidation, Message: "walletpush: neither Apple Wallet nor Google Wallet is configured", Fields: fields}
	}
	requireAll(get, p, appleFields, appleSet)
	requireAll(get, p, googleFields, googleSet)
	if get("apple_wwdr_certificate") != "" && appleSet == 0 {
		p.Add("apple_wwdr_certificate", "is set but the apple_* fields are not")
	}
	if appleSet == len(appleFields) {
		a, err := newAppleSide(get, p, opt)
		if err != nil {
			return nil, err
		}
		s.apple = a
	}
	if googleSet == len(googleFields) {
		s.google = newGoogleSide(get, p, opt)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

func countSet(get func(string) string, names []string) int {
	n := 0
	for _, f := range names {
		if get(f) != "" {
			n++
		}
	}
	return n
}

func requireAll(get func(string) string, p hub.Problems, names []string, set int) {
	if set == 0 || set == len(names) {
		return
	}
	for _, f := range names {
		if get(f) == "" {
			p.Add(f, "is required when the other "+strings.SplitN(f, "_", 2)[0]+"_* fields are set")
		}
	}
}

func newAppleSide(get func(string) string, p hub.Problems, opt Options) (*appleSide, error) {
	a := &appleSide{passTypeID: get("apple_pass_type_id"), teamID: get("apple_team_id")}
	if !validPassTypeID(a.passTypeID) {
		p.Add("apple_pass_type_id", "must be a pass type identifier such as pass.com.example.loyalty")
	}
	if !validTeamID(a.teamID) {
		p.Add("apple_team_id", "must be the 10-character Apple team identifier")
	}
	pp, err := parseCertAndKey(get("apple_certificate"))
	if err != nil {
		p.Add("apple_certificate", err.Error())
		return nil, nil
	}
	a.cert, a.key = pp.leaf, pp.key
	if uid := certUID(pp.leaf); uid != "" && uid != a.passTypeID {
		p.Add("apple_certificate", fmt.Sprintf("is the certificate of pass type %q, not of apple_pass_type_id %q", uid, a.passTypeID))
	}
	if w := get("apple_wwdr_certificate"); w != "" {
		certs, err := parseCerts(w)
		if err != nil {
			p.Add("apple_wwdr_certificate", err.Error())
		} else if a.wwdr = issuerOf(pp.leaf, certs); a.wwdr == nil {
			p.Add("apple_wwdr_certificate", "did not issue the pass certificate in apple_certificate")
		}
	} else {
		a.wwdr = issuerOf(pp.leaf, pp.extra)
	}
	apnsURL := strings.TrimRight(opt.APNsURL, "/")
	if apnsURL == "" {
		apnsURL = DefaultAPNsURL
	}
	if !validBaseURL(apnsURL) {
		return nil, hub.Errorf(hub.EValidation, "walletpush: bad APNs URL %q", apnsURL)
	}
	chain := [][]byte{pp.leaf.Raw}
	if a.wwdr != nil {
		chain = append(chain, a.wwdr.Raw)
	}
	tc := tls.Certificate{Certificate: chain, PrivateKey: pp.key, Leaf: pp.leaf}
	tr := &http2.Transport{
		TLSClientConfig: &tls.Config{
			Certificates: []tls.Certificate{tc},
			RootCAs:      opt.APNsRootCAs,
			MinVersion:   tls.VersionTLS12,
		},
		ReadIdleTimeout: 15 * time.Second,
		PingTimeout:     10 * time.Second,
	}
	a.apns = &apns2.Client{
		Host:        apnsURL,
		Certificate: tc,
		HTTPClient:  &http.Client{Transport: tr, Timeout: defaultTimeout},
	}
	return a, nil
}

func newGoogleSide(get func(string) string, p hub.Problems, opt Options) *googleSide {
	g := &googleSide{issuerID: get("google_issuer_id")}
	if !allDigits(g.issuerID) {
		p.Add("google_issuer_id", "must be the numeric Google Wallet issuer id")
	}
	class := get("google_class_id")
	if !strings.HasPrefix(class, g.issuerID+".") {
		class = g.issuerID + "." + class
	}
	if !validObjectID(class) {
		p.Add("google_class_id", "may contain only letters, digits, '.', '_' and '-'")
	}
	g.classID = class
	sa, err := parseServiceAccount(get("google_service_account"))
	if err != nil {
		p.Add("google_service_account", err.Error())
	} else {
		g.email, g.keyID, g.key, g.keyPEM = sa.ClientEmail, sa.PrivateKeyID, sa.key, []byte(sa.PrivateKey)
	}
	g.base = strings.TrimRight(opt.GoogleURL, "/")
	if g.base == "" {
		g.base = DefaultGoogleURL
	}
	g.tokenURL = opt.GoogleTokenURL
	if g.tokenURL == "" {
		g.tokenURL = DefaultGoogleTokenURL
	}
	if !validBaseURL(g.base) || !validBaseURL(g.tokenURL) {
		p.Add("google_service_account", "the operator's Google URLs are invalid")
	}
	g.client = opt.Client
	if g.client == nil {
		g.client = &http.Client{Timeout: defaultTimeout}
	}
	return g
}

// Apple reports whether Apple Wallet is configured.
func (s *Sender) Apple() bool { return s.apple != nil }

// Google reports whether Google Wallet is configured.
func (s *Sender) Google() bool { return s.google != nil }

// PassTypeID returns the Apple pass type identifier ("" without Apple).
func (s *Sender) PassTypeID() string {
	if s.apple == nil {
		return ""
	}
	return s.apple.passTypeID
}

// GoogleObjectID returns the Google Wallet loyalty object id of a card
// ("<issuer>.<card>"; "" without Google).
func (s *Sender) GoogleObjectID(cardID string) string {
	if s.google == nil {
		return ""
	}
	return s.google.issuerID + "." + cardID
}

// Close closes idle APNs connections.
func (s *Sender) Close() {
	if s.apple != nil {
		s.apple.apns.CloseIdleConnections()
	}
}

// Limits returns the limits the router enforces before Send: the business's
// push rate on "push:<pass type id>" (or "push:<google issuer>" without
// Apple) and, when the message goes to Google Wallet, Google's notification
// budget of GoogleNotifyBudget per pass per day on "google:<issuer>.<card>".
// The budget holds back the whole message (Apple devices included), which
// keeps the card's Apple and Google passes in step.
func (s *Sender) Limits(m hub.Message) []hub.RateLimit {
	var key string
	switch {
	case s.apple != nil:
		key = "push:" + s.apple.passTypeID
	case s.google != nil:
		key = "push:" + s.google.issuerID
	}
	out := []hub.RateLimit{{Key: key, PerSecond: s.rate, Burst: 1}}
	if s.google != nil && m.To != "" && hasGoogle(m) {
		out = append(out, hub.RateLimit{
			Key:       "google:" + s.google.issuerID + "." + m.To,
			PerSecond: GoogleNotifyBudget / GoogleNotifyWindow.Seconds(),
			Burst:     GoogleNotifyBudget,
		})
	}
	return out
}

func hasGoogle(m hub.Message) bool {
	for _, d := range m.Devices {
		if d.DeviceID == GoogleDeviceID {
			return true
		}
	}
	return false
}

// result is the outcome of one device's push (or of the Google message).
type result struct {
	reached bool
	id      string   // provider message id when reached
	gone    []string // device ids APNs reported unregistered
	isGone  bool     // APNs reported the token unregistered
	err     *hub.SendError
}

// Send notifies every device of m.Devices that the pass of card m.To changed:
// an APNs pass-update push to each Apple device with a push token, and a
// TEXT_AND_NOTIFY message (header m.Subject or "Update", body m.Text, id
// m.DeliveryID) on the Google Wallet object when the "google" device is there.
//
// Devices APNs reports unregistered (410, BadDeviceToken,
// DeviceTokenNotForTopic) go to Receipt.GoneDevices and are not errors. The
// router retries whole messages, so Send succeeds as soon as one device was
// reached (failures of the others are logged); when none was, it returns, in
// this order, a rate limit, a transient error, a permanent error — or success
// when every device was simply gone, so the router forgets them. APNs pushes
// are idempotent (the device just fetches the pass again), so their timeouts
// are plain transient errors; a Google timeout after the request was written
// is MaybeSent.
func (s *Sender) Send(ctx context.Context, m hub.Message) (hub.Receipt, error) {
	if m.To == "" {
		return hub.Receipt{}, &hub.SendError{Kind: hub.SendPermanent, Reason: "bad_address", Err: errors.New("walletpush: no card id in To")}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 2*defaultTimeout)
		defer cancel()
	}
	var results []result
	// One push per token: a token registered under two device ids is pushed once.
	var tokens []string
	byToken := map[string][]string{}
	google := false
	for _, d := range m.Devices {
		switch {
		case d.DeviceID == GoogleDeviceID:
			google = true
		case d.PushToken != "":
			if _, ok := byToken[d.PushToken]; !ok {
				tokens = append(tokens, d.PushToken)
			}
			byToken[d.PushToken] = append(byToken[d.PushToken], d.DeviceID)
		}
	}
	if len(tokens) == 0 && !google {
		return hub.Receipt{}, &hub.SendError{Kind: hub.SendPermanent, Reason: "no_device", Err: errors.New("walletpush: no Apple device with a push token and no Google Wallet pass")}
	}
	if len(tokens) > 0 {
		if s.apple == nil {
			results = append(results, result{err: configError("", ErrAppleNotConfigured)})
		} else {
			for _, tok := range tokens {
				if ctx.Err() != nil {
					results = append(results, result{err: ctxError(ctx.Err(), false)})
					break
				}
				r := s.pushAPNs(ctx, tok)
				if r.isGone {
					r.gone = byToken[tok]
				}
				results = append(results, r)
				if r.err != nil && r.err.Kind == hub.SendPermanent && r.err.Reason == "config" {
					break // the certificate or topic is wrong for every device
				}
			}
		}
	}
	if google {
		if s.google == nil {
			results = append(results, result{err: configError("", ErrGoogleNotConfigured)})
		} else {
			results = append(results, s.addMessage(ctx, m))
		}
	}
	return s.combine(m, results)
}

// combine turns the devices' results into Send's answer.
func (s *Sender) combine(m hub.Message, results []result) (hub.Receipt, error) {
	var rc hub.Receipt
	var rate, maybe, transient, config, permanent *hub.SendError
	reached := false
	for _, r := range results {
		rc.GoneDevices = append(rc.GoneDevices, r.gone...)
		if r.reached {
			reached = true
			if rc.ProviderMessageID == "" {
				rc.ProviderMessageID = r.id
			}
		}
		e := r.err
		switch {
		case e == nil:
		case e.Kind == hub.SendRateLimited:
			if rate == nil || e.RetryAfter > rate.RetryAfter {
				rate = e
			}
		case e.Kind == hub.SendTransient && e.MaybeSent:
			maybe = first(maybe, e)
		case e.Kind == hub.SendTransient:
			transient = first(transient, e)
		case e.Reason == "config":
			config = first(config, e)
		default:
			permanent = first(permanent, e)
		}
	}
	if reached {
		for _, r := range results {
			if r.err != nil {
				s.log.Warn("walletpush: some devices were not reached", "delivery_id", m.DeliveryID, "card_id", m.To, "error", r.err.Error())
			}
		}
		return rc, nil
	}
	for _, e := range []*hub.SendError{rate, maybe, transient, config, permanent} {
		if e != nil {
			return hub.Receipt{}, e
		}
	}
	return rc, nil // every device was gone
}

func first(a, b *hub.SendError) *hub.SendError {
	if a != nil {
		return a
	}
	return b
}

func configError(code string, err error) *hub.SendError {
	return &hub.SendError{Kind: hub.SendPermanent, Code: code, Reason: "config", Err: err}
}

// ctxError classifies a context or network error; written says the request
// reached the wire with no idempotency key.
func ctxError(err error, written bool) *hub.SendError {
	reason := "provider_down"
	var ne interface{ Timeout() bool }
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		reason = "timeout"
	} else if errors.Is(err, context.Canceled) {
		reason = "canceled"
	}
	return &hub.SendError{Kind: hub.SendTransient, Reason: reason, MaybeSent: written && reason != "provider_down", Err: err}
}

func validBaseURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

func validPassTypeID(s string) bool {
	if !strings.HasPrefix(s, "pass.") || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func validTeamID(s string) bool {
	if len(s) != 10 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func validObjectID(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// readBody reads at most 1 MiB of a response body.
func readBody(r io.Reader) []byte {
	b, _ := io.ReadAll(io.LimitReader(r, 1<<20))
	return b
}
