package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/7loc/hub/integrations/poster"
	"github.com/7loc/hub/integrations/syrve"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/7loc/hub/channels"
	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/cardpage"
	"github.com/7loc/hub/hub/httpapi"
	"github.com/7loc/hub/hub/password"
	"github.com/7loc/hub/hub/ratelimit"
	"github.com/7loc/hub/hub/revocation"
	"github.com/7loc/hub/hub/sendbudget"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/tasks"
	"github.com/7loc/hub/templates"
	"github.com/7loc/hub/triggers/webhook"
)

// app is the hub wired together: the only place that knows every concrete type.
type app struct {
	cfg    *config
	log    *slog.Logger
	store  *sqlstore.Store
	rdb    *redis.Client
	queue  *asynq.Client
	queues tasks.Queues
	svc    *hub.Service
	revoke *revocation.Channel

	batcher     *tasks.Batcher
	stopBatcher context.CancelFunc
	waker       *tasks.Waker
	stopWaker   context.CancelFunc
	publisher   *tasks.Publisher
	providers   *providers
	allow       []netip.Prefix
	// wrapFactories, when set, changes the workers' senders (the bench
	// binary's in-process sink).
	wrapFactories func(map[string]channels.Factory) map[string]channels.Factory

	// registry holds the process's metrics: /metrics of the API, or of
	// HUB_METRICS_ADDR for a worker without one.
	registry *prometheus.Registry
}

func newLogger(cfg *config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, fmt.Errorf("HUB_LOG_LEVEL: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch cfg.LogFormat {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("HUB_LOG_FORMAT must be json or text, not %q", cfg.LogFormat)
}

// openApp connects to the database and Redis and builds the service.
func openApp(ctx context.Context, cfg *config, log *slog.Logger) (*app, error) {
	if cfg.RedisURL == "" {
		return nil, errors.New("HUB_REDIS_URL is required (redis://host:6379/0); `hub dev` embeds one")
	}
	a := &app{cfg: cfg, log: log, queues: tasks.NewQueues(cfg.QueuePrefix), registry: prometheus.NewRegistry()}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.store = st
	if cfg.Migrate {
		if err := st.Migrate(ctx); err != nil {
			a.Close()
			return nil, fmt.Errorf("migrate database: %w", err)
		}
	}
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("HUB_REDIS_URL: %w", err)
	}
	opt.PoolSize = 64
	a.rdb = redis.NewClient(opt)
	// Every enqueue on this client wakes idle workers, here and elsewhere.
	a.waker = tasks.NewWaker(a.rdb, a.queues, cfg.PollInterval, log)
	wctx, stopWaker := context.WithCancel(context.WithoutCancel(ctx))
	a.stopWaker = stopWaker
	go a.waker.Run(wctx)
	a.queue = asynq.NewClientFromRedisClient(a.rdb)
	a.revoke = revocation.New(a.rdb, cfg.QueuePrefix)
	allow, err := parseCIDRs(cfg.WebhookAllow)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.allow = allow
	a.publisher = tasks.NewPublisher(a.queue, a.queues)
	a.batcher = tasks.NewBatcher(a.publisher, tasks.DispatchWindow, log)
	bctx, stopBatcher := context.WithCancel(context.WithoutCancel(ctx))
	a.stopBatcher = stopBatcher
	go a.batcher.Run(bctx)
	key, err := secretKey(cfg.SecretKey)
	if err != nil {
		a.Close()
		return nil, err
	}
	if key == nil {
		log.Warn("HUB_SECRET_KEY is not set: channels (PUT /v1/channels) are unavailable")
	}
	a.providers = &providers{
		urls: providerURLs{Telegram: cfg.TelegramURL, WhatsApp: cfg.WhatsAppURL, Viber: cfg.ViberURL,
			APNs: cfg.APNsURL, GoogleWallet: cfg.GoogleWalletURL, GoogleToken: cfg.GoogleTokenURL},
		client:        providerClient(),
		gatewayClient: webhook.NewClient(webhook.Options{AllowCIDRs: allow, UserAgent: "7loc-hub/" + version + " (gateway)"}),
		log:           log,
	}
	a.svc, err = hub.NewService(hub.Config{
		Store: st, Publisher: a.batcher, Logger: log, PublicURL: cfg.publicURL(),
		KeyCacheTTL: cfg.KeyCacheTTL, Revocations: a.revoke, Passwords: password.New(password.Default), OwnerMail: a.providers,
		Webhooks: a.publisher, CheckHookURL: func(u string) error { return webhook.CheckURL(u, allow) },
		SecretKey: key, Messages: tasks.NewMessageQueue(a.queue, a.queues), Inbound: a.providers,
		CheckChannel: a.providers.check, LinkURL: a.providers.linkURL, RegisterWebhook: a.providers.registerWebhook,
		Renderer: templates.New(templates.Options{}), Campaigns: tasks.NewCampaigns(a.queue, a.queues, nil, nil, log),
		Automations: tasks.NewAutomations(a.queue, a.queues, nil, log), Defaults: templates.Defaults(),
		Tills: tills(cfg), TillQueue: tasks.NewTillQueue(a.queue, a.queues),
	})
	if err != nil {
		a.Close()
		return nil, err
	}
	log.Info("hub ready", "database", st.Dialect(), "redis", opt.Addr, "queues", a.queues.Events)
	return a, nil
}

// stopPublishing publishes what the batcher holds and stops it; later
// events wait for the outbox relay.
func (a *app) stopPublishing() {
	if a.stopBatcher != nil {
		a.stopBatcher()
		<-a.batcher.Done()
		a.stopBatcher = nil
	}
}

// Close publishes what the batcher holds and releases the connections.
func (a *app) Close() {
	a.stopPublishing()
	if a.stopWaker != nil {
		a.stopWaker()
	}
	if a.queue != nil {
		_ = a.queue.Close() // closes nothing it does not own: the client was shared
	}
	if a.rdb != nil {
		_ = a.rdb.Close()
	}
	if a.store != nil {
		_ = a.store.Close()
	}
}

// handler builds the HTTP API.
func (a *app) handler() (http.Handler, error) {
	reg := a.registry
	if err := a.registerProcessMetrics(); err != nil {
		return nil, err
	}
	pages, err := cardpage.New()
	if err != nil {
		return nil, err
	}
	var limiter, public, hooks httpapi.Limiter
	if a.cfg.RateLimit > 0 {
		limiter = ratelimit.New(a.rdb, a.cfg.RateLimit, a.cfg.RateBurst, a.cfg.QueuePrefix)
	}
	if a.cfg.PublicRateLimit > 0 {
		public = ratelimit.New(a.rdb, a.cfg.PublicRateLimit, 2*a.cfg.PublicRateLimit, a.cfg.QueuePrefix+":public")
	}
	if a.cfg.HooksRateLimit > 0 {
		hooks = ratelimit.New(a.rdb, a.cfg.HooksRateLimit, 2*a.cfg.HooksRateLimit, a.cfg.QueuePrefix+":hooks")
	}
	var proxies []string
	for _, p := range strings.Split(a.cfg.TrustedProxies, ",") {
		if p = strings.TrimSpace(p); p != "" {
			proxies = append(proxies, p)
		}
	}
	api, err := httpapi.New(httpapi.Config{
		Service: a.svc, AdminToken: a.cfg.AdminToken, Limiter: limiter, Pages: pages,
		PublicLimiter: public, HooksLimiter: hooks, TrustedProxies: proxies,
		Logger: a.log, Registry: reg, MaxBodyBytes: a.cfg.MaxBodyBytes, PublicURL: a.cfg.publicURL(),
		RequestTimeout: a.cfg.RequestTimeout,
		Passes:         a.providers,
		Checks: map[string]func(context.Context) error{
			"database": a.store.Ping,
			"redis":    func(ctx context.Context) error { return a.rdb.Ping(ctx).Err() },
		},
	})
	if err != nil {
		return nil, err
	}
	return a.withConsole(api)
}

// serveHTTP runs the API until ctx ends, then drains requests in flight.
func (a *app) serveHTTP(ctx context.Context, ln net.Listener) error {
	h, err := a.handler()
	if err != nil {
		return err
	}
	if a.cfg.KeyCacheTTL > 0 {
		go a.revoke.Listen(ctx, a.svc.ForgetKey, a.svc.ForgetAllKeys)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("API listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// runWorkers processes the queue until ctx ends.
func (a *app) runWorkers(ctx context.Context, scheduler bool) error {
	h := tasks.NewHandlers(a.svc, a.log)
	h.RelayMinAge = a.cfg.RelayMinAge
	h.DeliveryLogRetention = a.cfg.DeliveryLogKeep
	wh := tasks.NewWebhooks(a.svc, newWebhookSender(a.allow, version), a.publisher, a.log)
	wh.PerHook = max(1, a.cfg.Concurrency/2) // one endpoint gets at most half the workers
	metrics, err := newWorkerMetrics(a.registry, tasks.DefaultPeriodic)
	if err != nil {
		return err
	}
	wh.Attempted = metrics.webhookAttempted
	factories := a.providers.factories()
	if a.wrapFactories != nil {
		factories = a.wrapFactories(factories)
	}
	router := channels.NewRouter(channels.Config{
		Ledger: countingLedger{Ledger: a.svc, sends: metrics.sends}, Limiter: sendbudget.New(a.rdb, a.cfg.QueuePrefix),
		Factories: factories, SendTimeout: sendTimeout, Logger: a.log,
	})
	return tasks.Run(ctx, a.rdb, h, tasks.WorkerConfig{
		Queues: a.queues, Concurrency: a.cfg.Concurrency, Scheduler: scheduler, Logger: a.log, Webhooks: wh,
		PollInterval: a.cfg.PollInterval, Waker: a.waker, Messages: tasks.NewMessages(router),
		Campaigns:   tasks.NewCampaigns(a.queue, a.queues, a.svc, router, a.log),
		Automations: tasks.NewAutomations(a.queue, a.queues, a.svc, a.log),
		Observer:    metrics,
	})
}

// registerProcessMetrics adds the Go runtime, process and queue collectors
// to the registry, once.
func (a *app) registerProcessMetrics() error {
	err := a.registry.Register(collectors.NewGoCollector())
	if errors.As(err, new(prometheus.AlreadyRegisteredError)) {
		return nil
	}
	if err != nil {
		return err
	}
	return errors.Join(a.registry.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})),
		a.registry.Register(newQueueCollector(asynq.NewInspectorFromRedisClient(a.rdb), a.queues, a.svc)))
}

// serveMetrics serves the registry at /metrics on addr until ctx ends: the
// scrape target of a worker process, which has no API.
func (a *app) serveMetrics(ctx context.Context, addr string) error {
	if err := a.registerProcessMetrics(); err != nil {
		return err
	}
	ln, err := listen(addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	a.log.Info("metrics listening", "addr", ln.Addr().String())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil && strings.Contains(err.Error(), "address already in use") {
		return nil, fmt.Errorf("%w (set HUB_ADDR or --addr to another port)", err)
	}
	return ln, err
}

// version names the build in the webhook User-Agent.
const version = "0.1"

// tills builds the till providers' adapters: Syrve always (each business
// brings its own apiLogin), Poster when its application is configured.
func tills(cfg *config) map[string]hub.TillProvider {
	out := map[string]hub.TillProvider{hub.SourceSyrve: &syrve.Till{BaseURL: cfg.SyrveURL, HTTP: providerClient()}}
	if cfg.PosterAppID != "" && cfg.PosterAppSecret != "" {
		out[hub.SourcePoster] = &poster.Till{DefaultCurrency: cfg.PosterCurrency, Client: &poster.Client{
			BaseURL: cfg.PosterURL, AppID: cfg.PosterAppID, AppSecret: cfg.PosterAppSecret, HTTP: providerClient()}}
	}
	return out
}

// providerClient calls the providers' APIs. Each provider is one host that
// every worker goroutine calls at once (a campaign sends 8 per chunk, 20
// chunks per worker, 160 at once): the default of 2 idle connections per
// host would close and dial (and TLS-handshake) a connection for most
// messages, and so would any number under the 160 (with 64, a campaign
// still spent 2.5 % of a worker's CPU dialling and closing).
func providerClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 512
	tr.MaxIdleConnsPerHost = 256
	return &http.Client{Transport: tr, Timeout: sendTimeout}
}
