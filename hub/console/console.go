package console

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
)

//go:embed templates assets locales
var files embed.FS

// Prefix is where the console is mounted.
const Prefix = "/console"

// Cookie names: the __Host- prefix binds the cookie to the host and to
// https, so it is used whenever the console is served over https.
const (
	CookieSecure   = "__Host-hub_session"
	CookieInsecure = "hub_session"
)

// Default login throttles: per account 5 attempts, then one per 3 minutes;
// per client address 30 attempts, then one every 30 seconds.
var (
	DefaultAccountLimit = Limit{Burst: 5, Every: 3 * time.Minute}
	DefaultAddressLimit = Limit{Burst: 30, Every: 30 * time.Second}
)

// Config wires the console. Zero values are documented per field.
type Config struct {
	// Service runs the use cases. Required; it needs a PasswordHasher.
	Service *hub.Service
	// Secure says the console is served over https: the session cookie is
	// then __Host-hub_session with the Secure attribute, otherwise
	// hub_session.
	Secure bool
	// AccountThrottle limits login attempts per email. Nil means an
	// in-memory throttle of DefaultAccountLimit (one process only).
	AccountThrottle Throttle
	// AddressThrottle limits login attempts per client address. Nil means
	// an in-memory throttle of DefaultAddressLimit.
	AddressThrottle Throttle
	// ClientIP names the client of a request for the address throttle. Nil
	// means the connection's peer address.
	ClientIP func(r *http.Request) string
	// Logger receives structured logs. Nil discards them.
	Logger *slog.Logger
	// Background runs work that must not delay an answer (a password
	// reset's lookup and email). Nil means a new goroutine; tests run it
	// at once.
	Background func(func())
	// AudienceSample is the sample of customers the composer's live
	// audience count estimates from (hub.AudiencePreviewInput.Estimate).
	// Zero means hub.AudienceEstimateSample; below zero always counts
	// exactly.
	AudienceSample int
}

// server is the console's state.
type server struct {
	svc      *hub.Service
	secure   bool
	account  Throttle
	address  Throttle
	clientIP func(*http.Request) string
	log      *slog.Logger
	pages    *pages
	i18n     *catalog
	assets   http.Handler
	// background runs work after the answer (Config.Background).
	background func(func())
	// audienceSample is Config.AudienceSample with its default applied.
	audienceSample int
}

// New returns the console's handler, to be mounted at Prefix ("/console"
// and everything under "/console/"). It refuses cross-origin unsafe
// requests (http.CrossOriginProtection) and sends a Content-Security-Policy
// without inline script.
func New(cfg Config) (http.Handler, error) {
	if cfg.Service == nil {
		return nil, errors.New("console: Config.Service is required")
	}
	s := &server{svc: cfg.Service, secure: cfg.Secure, account: cfg.AccountThrottle, address: cfg.AddressThrottle,
		clientIP: cfg.ClientIP, log: cfg.Logger, background: cfg.Background, audienceSample: max(cfg.AudienceSample, 0)}
	if cfg.AudienceSample == 0 {
		s.audienceSample = hub.AudienceEstimateSample
	}
	if s.background == nil {
		s.background = func(f func()) { go f() }
	}
	if s.account == nil {
		s.account = NewMemoryThrottle(DefaultAccountLimit, nil)
	}
	if s.address == nil {
		s.address = NewMemoryThrottle(DefaultAddressLimit, nil)
	}
	if s.clientIP == nil {
		s.clientIP = peerIP
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if s.i18n, err = newCatalog(); err != nil {
		return nil, err
	}
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(files, "assets")
	if err != nil {
		return nil, err
	}
	s.assets = http.StripPrefix(Prefix+"/assets/", http.FileServerFS(sub))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /console", redirectTo(Prefix+"/api-keys"))
	mux.HandleFunc("GET /console/{$}", redirectTo(Prefix+"/api-keys"))
	mux.HandleFunc("GET /console/assets/", s.asset)
	mux.HandleFunc("GET /console/login", s.loginForm)
	mux.HandleFunc("POST /console/login", s.login)
	mux.HandleFunc("GET /console/invitations/{token}", s.passwordForm(s.invitationLink()))
	mux.HandleFunc("POST /console/invitations/{token}", s.setPassword(s.invitationLink()))
	mux.HandleFunc("GET /console/reset", s.resetForm)
	mux.HandleFunc("POST /console/reset", s.requestReset)
	mux.HandleFunc("GET /console/reset/{token}", s.passwordForm(s.resetLink()))
	mux.HandleFunc("POST /console/reset/{token}", s.setPassword(s.resetLink()))

	mux.HandleFunc("POST /console/logout", s.owner(s.logout))
	mux.HandleFunc("POST /console/logout-everywhere", s.owner(s.logoutEverywhere))
	mux.HandleFunc("POST /console/language", s.owner(s.setLanguage))
	mux.HandleFunc("GET /console/api-keys", s.owner(s.apiKeys))
	mux.HandleFunc("GET /console/api-keys/new", s.owner(s.apiKeys))
	mux.HandleFunc("POST /console/api-keys", s.owner(s.createAPIKey))
	mux.HandleFunc("GET /console/api-keys/{id}/{action}", s.owner(s.confirmAPIKey))
	mux.HandleFunc("POST /console/api-keys/{id}/regenerate", s.owner(s.regenerateAPIKey))
	mux.HandleFunc("POST /console/api-keys/{id}/delete", s.owner(s.deleteAPIKey))
	mux.HandleFunc("GET /console/staff", s.owner(s.staff))
	mux.HandleFunc("POST /console/staff", s.owner(s.createStaff))
	mux.HandleFunc("GET /console/webhooks", s.owner(s.webhooks))
	mux.HandleFunc("GET /console/webhooks/{id}", s.owner(s.webhook))
	mux.HandleFunc("POST /console/webhooks/{id}/rotate-secret", s.owner(s.rotateSecret))
	mux.HandleFunc("POST /console/webhooks/{id}/enable", s.owner(s.enableHook))
	mux.HandleFunc("POST /console/webhooks/{id}/redeliver", s.owner(s.redeliver))
	mux.HandleFunc("GET /console/settings", s.owner(s.settings))
	mux.HandleFunc("POST /console/settings", s.owner(s.saveSettings))
	mux.HandleFunc("GET /console/channels", s.owner(s.channels))
	mux.HandleFunc("GET /console/channels/{provider}", s.owner(s.channel))
	mux.HandleFunc("POST /console/channels/{provider}", s.owner(s.saveChannel))
	mux.HandleFunc("POST /console/channels/{provider}/test", s.owner(s.testChannel))
	mux.HandleFunc("POST /console/channels/{provider}/webhook", s.owner(s.registerWebhook))
	mux.HandleFunc("GET /console/customers", s.owner(s.customers))
	mux.HandleFunc("GET /console/customers/{id}", s.owner(s.customer))
	mux.HandleFunc("GET /console/templates", s.owner(s.templates))
	mux.HandleFunc("GET /console/templates/new", s.owner(s.newTemplate))
	mux.HandleFunc("POST /console/templates", s.owner(s.saveTemplate))
	mux.HandleFunc("GET /console/templates/{id}", s.owner(s.template))
	mux.HandleFunc("POST /console/templates/{id}", s.owner(s.saveTemplate))
	mux.HandleFunc("POST /console/templates/{id}/preview", s.owner(s.previewTemplate))
	mux.HandleFunc("GET /console/templates/{id}/delete", s.owner(s.confirmDeleteTemplate))
	mux.HandleFunc("POST /console/templates/{id}/delete", s.owner(s.deleteTemplate))
	mux.HandleFunc("GET /console/automations", s.owner(s.automations))
	mux.HandleFunc("GET /console/automations/new", s.owner(s.newAutomation))
	mux.HandleFunc("POST /console/automations", s.owner(s.saveAutomation))
	mux.HandleFunc("GET /console/automations/{id}", s.owner(s.automation))
	mux.HandleFunc("POST /console/automations/{id}", s.owner(s.saveAutomation))
	mux.HandleFunc("POST /console/automations/{id}/enabled", s.owner(s.switchAutomation))
	mux.HandleFunc("GET /console/automations/{id}/delete", s.owner(s.confirmDeleteAutomation))
	mux.HandleFunc("POST /console/automations/{id}/delete", s.owner(s.deleteAutomation))
	mux.HandleFunc("GET /console/campaigns", s.owner(s.campaigns))
	mux.HandleFunc("GET /console/campaigns/new", s.owner(s.newCampaign))
	mux.HandleFunc("POST /console/campaigns", s.owner(s.saveCampaign))
	mux.HandleFunc("POST /console/campaigns/audience", s.owner(s.audienceCount))
	mux.HandleFunc("GET /console/campaigns/{id}", s.owner(s.campaign))
	mux.HandleFunc("GET /console/campaigns/{id}/edit", s.owner(s.editCampaign))
	mux.HandleFunc("POST /console/campaigns/{id}/edit", s.owner(s.saveCampaign))
	mux.HandleFunc("GET /console/campaigns/{id}/progress", s.owner(s.campaignProgress))
	mux.HandleFunc("POST /console/campaigns/{id}/{action}", s.owner(s.campaignAction))
	mux.HandleFunc("/console/", s.notFound)

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(s.crossOrigin))
	return s.headers(cop.Handler(mux)), nil
}

// csp allows scripts, styles, images and form posts from the hub only.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// headers adds the security headers every console answer carries.
func (s *server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if !strings.HasPrefix(r.URL.Path, Prefix+"/assets/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) asset(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	s.assets.ServeHTTP(w, r)
}

func redirectTo(path string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, path, http.StatusSeeOther)
	}
}

// cookieName is the session cookie's name on this console.
func (s *server) cookieName() string {
	if s.secure {
		return CookieSecure
	}
	return CookieInsecure
}

// setSession gives the browser the session cookie at login. It lasts as
// long as the session can (the server ends it earlier when idle).
func (s *server) setSession(w http.ResponseWriter, sess *hub.OwnerSession) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(), Value: sess.Token, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(hub.SessionMaxAge / time.Second),
	})
}

func (s *server) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(), Value: "", Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1,
	})
}

type sessionKey struct{}

func session(r *http.Request) *hub.OwnerSession {
	sess, _ := r.Context().Value(sessionKey{}).(*hub.OwnerSession)
	return sess
}

// owner runs h for a logged-in owner; others go to the login page.
func (s *server) owner(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.currentSession(r)
		if err != nil {
			if hub.ErrorCode(err) != hub.EUnauthorized {
				s.fail(w, r, err)
				return
			}
			s.clearSession(w)
			http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)))
	}
}

// currentSession resolves the request's cookie.
func (s *server) currentSession(r *http.Request) (*hub.OwnerSession, error) {
	c, err := r.Cookie(s.cookieName())
	if err != nil || c.Value == "" {
		return nil, hub.Errorf(hub.EUnauthorized, "not logged in")
	}
	return s.svc.OwnerSession(r.Context(), c.Value)
}

// peerIP is the connection's peer address without the port.
func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// crossOrigin answers a refused cross-origin request.
func (s *server) crossOrigin(w http.ResponseWriter, r *http.Request) {
	s.log.WarnContext(r.Context(), "cross-origin request refused", "path", r.URL.Path,
		"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
	s.errorPage(w, r, http.StatusForbidden, "error.cross_origin")
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, http.StatusNotFound, "error.not_found")
}

// statusOf maps the hub's error codes to the console's answers.
var statusOf = map[hub.Code]int{
	hub.EInvalidJSON: http.StatusBadRequest, hub.EUnauthorized: http.StatusUnauthorized,
	hub.ENotFound: http.StatusNotFound, hub.EConflict: http.StatusConflict,
	hub.EValidation: http.StatusUnprocessableEntity, hub.ERateLimited: http.StatusTooManyRequests,
	hub.EUnavailable: http.StatusServiceUnavailable, hub.EPayloadTooLarge: http.StatusRequestEntityTooLarge,
}

func status(err error) int {
	if st, ok := statusOf[hub.ErrorCode(err)]; ok {
		return st
	}
	if hub.ErrorCode(err) == hub.EInternal {
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// fail answers an error that leaves nothing to show but the error: not
// found is the 404 page, anything else the error page with the hub's message.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	st := status(err)
	if st >= 500 {
		s.log.ErrorContext(r.Context(), "console request failed", "path", r.URL.Path, "err", err)
	}
	if st == http.StatusNotFound {
		s.errorPage(w, r, st, "error.not_found")
		return
	}
	s.render(w, r, st, "error", &view{Error: hub.ErrorMessage(err)})
}

func (s *server) errorPage(w http.ResponseWriter, r *http.Request, st int, msgID string) {
	s.render(w, r, st, "error", &view{ErrorID: msgID})
}
