package httpapi

import (
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/7loc/hub/hub"
)

// DefaultMaxBodyBytes bounds request bodies unless Config says otherwise.
const DefaultMaxBodyBytes = 1 << 20

// Limiter decides whether a caller may make another request now: whether it
// may, the burst capacity, what remains, and how long to wait when refused.
type Limiter interface {
	Allow(ctx context.Context, key string) (allowed bool, limit, remaining int, retryAfter time.Duration, err error)
}

// PageRenderer writes the public card page as HTML.
type PageRenderer interface {
	Render(w io.Writer, page *hub.CardPage) error
}

// Config wires the HTTP API. Zero values are documented per field.
type Config struct {
	// Service runs the use cases. Required.
	Service *hub.Service
	// AdminToken guards /admin/v1. Empty refuses every operator call.
	AdminToken string
	// Limiter limits requests per API key. Nil means no limit.
	Limiter Limiter
	// PublicLimiter limits the public pages (/c/, /u/, /wallet/, /passkit/)
	// per client address. Nil means no limit.
	PublicLimiter Limiter
	// HooksLimiter limits the providers' webhooks (/hooks/) per client
	// address, a flood guard well above a provider's burst. Nil means no
	// limit.
	HooksLimiter Limiter
	// TrustedProxies are the addresses or ranges of reverse proxies whose
	// X-Forwarded-For names the client for the per-address limits. Empty
	// trusts none: the client is the connection's peer.
	TrustedProxies []string
	// Checks are run by /readyz by name ("database", "redis"); any error makes it 503.
	Checks map[string]func(context.Context) error
	// Pages renders the public card page. Nil serves it as JSON.
	Pages PageRenderer
	// Logger receives request logs. Nil discards them.
	Logger *slog.Logger
	// Registry collects the HTTP metrics and is served at /metrics. Nil means a new registry.
	Registry *prometheus.Registry
	// MaxBodyBytes bounds request bodies; larger ones get 413. Zero means 1 MiB.
	MaxBodyBytes int64
	// RequestTimeout bounds each request's work: past it the database calls
	// and queue calls of the request are cancelled and the answer is 503
	// unavailable (nothing half written: a write's transaction rolls back).
	// Zero means no deadline.
	RequestTimeout time.Duration
	// Passes builds signed wallet passes for the pass web service. Nil
	// answers 404 to pass downloads.
	Passes PassBuilder
	// PublicURL is the hub's public base URL (the pass web service URL is
	// built from it). Empty means http://localhost:8080.
	PublicURL string
}

type server struct {
	svc      *hub.Service
	admin    []byte
	limiter  Limiter
	checks   map[string]func(context.Context) error
	pages    PageRenderer
	log      *slog.Logger
	registry *prometheus.Registry
	maxBody  int64
	metrics  *httpMetrics

	passes    PassBuilder
	publicURL string
}

// auth says who may call a route.
type auth int

const (
	public auth = iota
	apiKey
	operator
)

// route is one line of the routing table.
type route struct {
	method  string
	path    string
	auth    auth
	handler func(s *server, c *gin.Context)
}

// routes is every endpoint of the hub, in one table.
var routes = []route{
	{"GET", "/healthz", public, (*server).healthz},
	{"GET", "/readyz", public, (*server).readyz},
	{"GET", "/metrics", public, (*server).metricsHandler},
	{"GET", "/v1/openapi.json", public, (*server).openapi},
	{"GET", "/c/:id", public, (*server).cardPage},
	{"GET", "/c/:id/link/:channel", public, (*server).cardPageLink},
	{"GET", "/u/:token", public, (*server).unsubscribeForm},
	{"POST", "/u/:token", public, (*server).unsubscribe},
	{"GET", "/hooks/:provider/:business", public, (*server).inbound},
	{"POST", "/hooks/:provider/:business", public, (*server).inbound},
	{"POST", "/wallet/google/:business", public, (*server).googleSaved},
	{"POST", "/passkit/v1/devices/:device/registrations/:passtype/:serial", public, (*server).registerPass},
	{"DELETE", "/passkit/v1/devices/:device/registrations/:passtype/:serial", public, (*server).unregisterPass},
	{"GET", "/passkit/v1/devices/:device/registrations/:passtype", public, (*server).updatedPasses},
	{"GET", "/passkit/v1/passes/:passtype/:serial", public, (*server).latestPass},
	{"POST", "/passkit/v1/log", public, (*server).passLog},

	{"POST", "/admin/v1/businesses", operator, (*server).createBusiness},
	{"POST", "/admin/v1/businesses/:b/locations", operator, (*server).createLocation},
	{"POST", "/admin/v1/businesses/:b/staff", operator, (*server).createStaff},
	{"POST", "/admin/v1/businesses/:b/owners", operator, (*server).inviteOwner},
	{"GET", "/admin/v1/businesses/:b/api-keys", operator, (*server).listAPIKeys},
	{"POST", "/admin/v1/businesses/:b/api-keys", operator, (*server).createAPIKey},
	{"POST", "/admin/v1/businesses/:b/api-keys/:id/regenerate", operator, (*server).regenerateAPIKey},
	{"DELETE", "/admin/v1/businesses/:b/api-keys/:id", operator, (*server).revokeAPIKey},
	{"POST", "/admin/v1/businesses/:b/card-templates", operator, (*server).createCardTemplate},
	{"POST", "/admin/v1/businesses/:b/voucher-templates", operator, (*server).createVoucherTemplate},

	{"GET", "/v1/me", apiKey, (*server).me},
	{"GET", "/v1/card-templates", apiKey, (*server).listCardTemplates},
	{"GET", "/v1/card-templates/:id", apiKey, (*server).getCardTemplate},
	{"PATCH", "/v1/card-templates/:id", apiKey, (*server).patchCardTemplate},
	{"POST", "/v1/cards", apiKey, (*server).issueCard},
	{"GET", "/v1/cards", apiKey, (*server).listCards},
	{"GET", "/v1/cards/:id", apiKey, (*server).getCard},
	{"GET", "/v1/cards/:id/history", apiKey, (*server).cardHistory},
	{"POST", "/v1/cards/:id/stamps", apiKey, (*server).addStamps},
	{"POST", "/v1/cards/:id/lottery", apiKey, (*server).playLottery},
	{"POST", "/v1/stamps", apiKey, (*server).stampByCustomer},
	{"POST", "/v1/vouchers", apiKey, (*server).issueVoucher},
	{"GET", "/v1/vouchers", apiKey, (*server).listVouchers},
	{"GET", "/v1/vouchers/:id", apiKey, (*server).getVoucher},
	{"POST", "/v1/vouchers/:id/redeem", apiKey, (*server).redeemVoucher},
	{"POST", "/v1/vouchers/redeem", apiKey, (*server).redeemByCode},
	{"GET", "/v1/customers", apiKey, (*server).listCustomers},
	{"GET", "/v1/customers/:id", apiKey, (*server).getCustomer},
	{"PATCH", "/v1/customers/:id", apiKey, (*server).patchCustomer},
	{"GET", "/v1/events", apiKey, (*server).listEvents},
	{"GET", "/v1/events/samples", apiKey, (*server).eventSamples},
	{"GET", "/v1/events/:id", apiKey, (*server).getEvent},
	{"POST", "/v1/events/:id/redeliver", apiKey, (*server).redeliver},
	{"POST", "/v1/hooks", apiKey, (*server).createHook},
	{"GET", "/v1/hooks", apiKey, (*server).listHooks},
	{"DELETE", "/v1/hooks", apiKey, (*server).deleteHooksByTarget},
	{"GET", "/v1/hooks/:id", apiKey, (*server).getHook},
	{"DELETE", "/v1/hooks/:id", apiKey, (*server).deleteHook},
	{"GET", "/v1/hooks/:id/deliveries", apiKey, (*server).hookDeliveries},
	{"POST", "/v1/hooks/:id/rotate-secret", apiKey, (*server).rotateHookSecret},
	{"POST", "/v1/hooks/:id/enable", apiKey, (*server).enableHook},
	{"GET", "/v1/channels", apiKey, (*server).listChannels},
	{"GET", "/v1/channels/:provider", apiKey, (*server).getChannel},
	{"PUT", "/v1/channels/:provider", apiKey, (*server).putChannel},
	{"POST", "/v1/channels/:provider/test", apiKey, (*server).testChannel},
	{"POST", "/v1/channels/:provider/webhook", apiKey, (*server).registerChannelWebhook},
	{"POST", "/v1/customers/:id/links/:channel", apiKey, (*server).createLink},
	{"GET", "/v1/deliveries", apiKey, (*server).listDeliveries},
	{"GET", "/v1/deliveries/:id", apiKey, (*server).getDelivery},
	{"GET", "/v1/settings", apiKey, (*server).getSettings},
	{"PATCH", "/v1/settings", apiKey, (*server).patchSettings},
	{"POST", "/v1/message-templates", apiKey, (*server).createMessageTemplate},
	{"GET", "/v1/message-templates", apiKey, (*server).listMessageTemplates},
	{"GET", "/v1/message-templates/:id", apiKey, (*server).getMessageTemplate},
	{"PATCH", "/v1/message-templates/:id", apiKey, (*server).patchMessageTemplate},
	{"DELETE", "/v1/message-templates/:id", apiKey, (*server).deleteMessageTemplate},
	{"POST", "/v1/message-templates/:id/preview", apiKey, (*server).previewMessageTemplate},
	{"POST", "/v1/messages", apiKey, (*server).sendMessage},
	{"POST", "/v1/audiences/preview", apiKey, (*server).previewAudience},
	{"POST", "/v1/campaigns", apiKey, (*server).createCampaign},
	{"GET", "/v1/campaigns", apiKey, (*server).listCampaigns},
	{"GET", "/v1/campaigns/:id", apiKey, (*server).getCampaign},
	{"PATCH", "/v1/campaigns/:id", apiKey, (*server).patchCampaign},
	{"POST", "/v1/campaigns/:id/send", apiKey, campaignAction(http.StatusAccepted, (*hub.Service).SendCampaign)},
	{"POST", "/v1/campaigns/:id/pause", apiKey, campaignAction(http.StatusOK, (*hub.Service).PauseCampaign)},
	{"POST", "/v1/campaigns/:id/resume", apiKey, campaignAction(http.StatusOK, (*hub.Service).ResumeCampaign)},
	{"POST", "/v1/campaigns/:id/cancel", apiKey, campaignAction(http.StatusOK, (*hub.Service).CancelCampaign)},
	{"GET", "/v1/campaigns/:id/recipients", apiKey, (*server).campaignRecipients},
	{"POST", "/v1/automations", apiKey, (*server).createAutomation},
	{"GET", "/v1/automations", apiKey, (*server).listAutomations},
	{"GET", "/v1/automations/:id", apiKey, (*server).getAutomation},
	{"PATCH", "/v1/automations/:id", apiKey, (*server).patchAutomation},
	{"DELETE", "/v1/automations/:id", apiKey, (*server).deleteAutomation},
	{"POST", "/admin/v1/sweeps/:kind/run", operator, (*server).runSweep},
	{"POST", "/v1/sales", apiKey, (*server).recordSale},
	{"GET", "/v1/sales", apiKey, (*server).listSales},
	{"POST", "/v1/sales/:source/:order/refund", apiKey, (*server).refundSale},
	{"GET", "/v1/pos", apiKey, (*server).listPos},
	{"GET", "/v1/pos/:provider", apiKey, (*server).getPos},
	{"PUT", "/v1/pos/:provider", apiKey, (*server).putPos},
	{"DELETE", "/v1/pos/:provider", apiKey, (*server).deletePos},
	{"POST", "/v1/pos/:provider/reconcile", apiKey, (*server).reconcilePos},
	{"GET", "/pos/poster/connect", public, (*server).posterConnect},
	{"GET", "/pos/poster/callback", public, (*server).posterCallback},
	{"POST", "/pos/poster", public, (*server).tillWebhook},
	{"POST", "/pos/:provider/:business", public, (*server).tillWebhook},
}

// New returns the HTTP handler of the hub.
func New(cfg Config) (http.Handler, error) {
	if cfg.Service == nil {
		return nil, hub.Errorf(hub.EInternal, "httpapi: Config.Service is required")
	}
	s := &server{
		svc: cfg.Service, admin: []byte(cfg.AdminToken), limiter: cfg.Limiter, checks: cfg.Checks,
		pages: cfg.Pages, log: cfg.Logger, registry: cfg.Registry, maxBody: cfg.MaxBodyBytes,
		passes: cfg.Passes, publicURL: strings.TrimRight(cfg.PublicURL, "/"),
	}
	if s.publicURL == "" {
		s.publicURL = "http://localhost:8080"
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	m, err := newHTTPMetrics(s.registry)
	if err != nil {
		return nil, err
	}
	s.metrics = m

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	if err := r.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("httpapi: trusted proxies: %w", err)
	}
	r.HandleMethodNotAllowed = true
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.Use(s.observe, s.recover, s.limitBody)
	if cfg.RequestTimeout > 0 {
		r.Use(deadline(cfg.RequestTimeout))
	}
	r.NoRoute(func(c *gin.Context) { s.fail(c, errNoRoute) })
	r.NoMethod(func(c *gin.Context) { s.fail(c, errMethod) })
	for _, rt := range routes {
		h := rt.handler
		chain := []gin.HandlerFunc{}
		switch rt.auth {
		case public:
			if l := s.publicLimiter(cfg, rt.path); l != nil {
				chain = append(chain, s.limitClient(l))
			}
		case apiKey:
			chain = append(chain, s.authenticate, s.rateLimit)
		case operator:
			chain = append(chain, s.authorizeOperator)
		}
		if rt.method == http.MethodPost && rt.auth != public {
			chain = append(chain, s.idempotent)
		}
		chain = append(chain, func(c *gin.Context) { h(s, c) })
		r.Handle(rt.method, rt.path, chain...)
	}
	return r, nil
}

// recover turns a panic into a 500 with the error envelope.
func (s *server) recover(c *gin.Context) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.ErrorContext(c.Request.Context(), "panic in handler", "path", c.Request.URL.Path, "panic", p)
			s.fail(c, hub.Errorf(hub.EInternal, "internal error"))
		}
	}()
	c.Next()
}

// deadline gives each request a context that ends after d.
func deadline(d time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), d)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// limitBody refuses bodies over the limit: at once when Content-Length says so,
// and while reading otherwise.
func (s *server) limitBody(c *gin.Context) {
	if c.Request.ContentLength > s.maxBody {
		s.fail(c, hub.Errorf(hub.EPayloadTooLarge, "the request body is larger than %d bytes", s.maxBody))
		return
	}
	if c.Request.Body != nil {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.maxBody)
	}
	c.Next()
}

const principalKey = "httpapi.principal"

// authenticate resolves the API key from Authorization: Bearer or X-API-Key.
func (s *server) authenticate(c *gin.Context) {
	key := c.GetHeader("X-API-Key")
	if h := c.GetHeader("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			s.fail(c, hub.Errorf(hub.EUnauthorized, "the Authorization header must be: Bearer <API key>"))
			return
		}
		key = strings.TrimSpace(token)
	}
	if key == "" {
		c.Header("WWW-Authenticate", `Bearer realm="hub"`)
		s.fail(c, hub.Errorf(hub.EUnauthorized, "missing API key: send Authorization: Bearer <key> or X-API-Key"))
		return
	}
	pr, err := s.svc.Authenticate(c.Request.Context(), key)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Set(principalKey, pr)
	c.Next()
}

func principal(c *gin.Context) *hub.Principal {
	return c.MustGet(principalKey).(*hub.Principal)
}

// authorizeOperator checks the operator token of /admin/v1.
func (s *server) authorizeOperator(c *gin.Context) {
	scheme, token, _ := strings.Cut(c.GetHeader("Authorization"), " ")
	if len(s.admin) == 0 || !strings.EqualFold(scheme, "Bearer") ||
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), s.admin) != 1 {
		s.fail(c, hub.Errorf(hub.EUnauthorized, "the operator API needs Authorization: Bearer <HUB_ADMIN_TOKEN>"))
		return
	}
	c.Next()
}

// publicLimiter is the per-address limiter of a public path, if any: the
// pages a stranger can reach by guessing, and the providers' webhooks.
// Health, readiness, metrics and the OpenAPI document are not limited.
func (s *server) publicLimiter(cfg Config, path string) Limiter {
	switch {
	case strings.HasPrefix(path, "/hooks/"), strings.HasPrefix(path, "/pos/"):
		return cfg.HooksLimiter
	case strings.HasPrefix(path, "/c/"), strings.HasPrefix(path, "/u/"),
		strings.HasPrefix(path, "/wallet/"), strings.HasPrefix(path, "/passkit/"):
		return cfg.PublicLimiter
	}
	return nil
}

// limitClient applies a per-address limit. A limiter that cannot answer
// lets the request through (logged): a card page or a provider's callback
// is not worth refusing because Redis is away.
func (s *server) limitClient(l Limiter) gin.HandlerFunc {
	return func(c *gin.Context) {
		allowed, _, _, retryAfter, err := l.Allow(c.Request.Context(), "ip:"+c.ClientIP())
		if err != nil {
			s.log.WarnContext(c.Request.Context(), "per-address limit unavailable, request let through", "err", err)
			c.Next()
			return
		}
		if !allowed {
			s.tooMany(c, retryAfter, "from this address")
			return
		}
		c.Next()
	}
}

// rateLimit applies the per-key limit; a limiter that cannot answer makes the
// request fail with 503 rather than go unmetered.
func (s *server) rateLimit(c *gin.Context) {
	if s.limiter == nil {
		c.Next()
		return
	}
	allowed, limit, remaining, retryAfter, err := s.limiter.Allow(c.Request.Context(), principal(c).KeyID)
	if err != nil {
		s.fail(c, hub.Unavailable("the rate limiter", err))
		return
	}
	c.Header("RateLimit-Limit", strconv.Itoa(limit))
	c.Header("RateLimit-Remaining", strconv.Itoa(remaining))
	if !allowed {
		s.tooMany(c, retryAfter, "for this API key")
		return
	}
	c.Next()
}

// tooMany answers 429 rate_limited with Retry-After in whole seconds (at
// least one); who says whose budget ran out.
func (s *server) tooMany(c *gin.Context, retryAfter time.Duration, who string) {
	secs := max(int((retryAfter+time.Second-1)/time.Second), 1)
	c.Header("Retry-After", strconv.Itoa(secs))
	s.fail(c, hub.Errorf(hub.ERateLimited, "too many requests %s; retry after %d s", who, secs))
}
