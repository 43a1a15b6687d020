package main

import (
	"flag"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"time"
)

// config is every setting of the hub. Each has a flag and a HUB_* environment
// variable; a flag given on the command line wins over the variable.
type config struct {
	Addr             string
	DataDir          string
	DatabaseURL      string
	RedisURL         string
	AdminToken       string
	SecretKey        string
	PublicURL        string
	RateLimit        int
	RateBurst        int
	PublicRateLimit  int
	HooksRateLimit   int
	TrustedProxies   string
	MaxBodyBytes     int64
	QueuePrefix      string
	Concurrency      int
	LogLevel         string
	LogFormat        string
	Migrate          bool
	WithWorkers      bool
	Scheduler        bool
	ShutdownTimeout  time.Duration
	RequestTimeout   time.Duration
	RelayMinAge      time.Duration
	DatabaseMaxConns int
	StatementTimeout time.Duration
	LockTimeout      time.Duration
	KeyCacheTTL      time.Duration
	GCPercent        int
	MemoryLimitMB    int
	WebhookAllow     string
	PollInterval     time.Duration
	MetricsAddr      string
	DeliveryLogKeep  time.Duration
	TelegramURL      string
	WhatsAppURL      string
	ViberURL         string
	APNsURL          string
	GoogleWalletURL  string
	GoogleTokenURL   string
	PosterURL        string
	PosterAppID      string
	PosterAppSecret  string
	PosterCurrency   string
	SyrveURL         string

	// keepQueuePrefix: a benchmark keeps HUB_QUEUE_PREFIX instead of a fresh
	// one (its workers run in other processes).
	keepQueuePrefix bool
}

// setting describes one configuration entry for flags, env and the README.
type setting struct {
	flag, env, def, help string
}

// settings lists every setting with its default; README.md documents the same table.
var settings = []setting{
	{"addr", "HUB_ADDR", ":8080", "HTTP listen address"},
	{"data-dir", "HUB_DATA_DIR", "./data", "directory of the default SQLite file and dev files"},
	{"database-url", "HUB_DATABASE_URL", "", "database: a postgres:// URL, or a SQLite file (default <data-dir>/hub.db)"},
	{"redis-url", "HUB_REDIS_URL", "", "Redis URL (redis://host:6379/0); required by serve and work, embedded by dev when empty"},
	{"admin-token", "HUB_ADMIN_TOKEN", "", "bearer token of the operator API /admin/v1; empty disables it (dev generates one)"},
	{"secret-key", "HUB_SECRET_KEY", "", "key for encrypting stored provider credentials (32 bytes, base64)"},
	{"public-url", "HUB_PUBLIC_URL", "", "public base URL of the hub, used in card page links (default http://localhost<addr>)"},
	{"rate-limit", "HUB_RATE_LIMIT", "50", "requests per second per API key"},
	{"rate-burst", "HUB_RATE_BURST", "100", "burst size per API key"},
	{"public-rate-limit", "HUB_PUBLIC_RATE_LIMIT", "20", "requests per second per client address to the public pages /c/, /u/, /wallet/, /passkit/ (burst twice that; 0 disables)"},
	{"hooks-rate-limit", "HUB_HOOKS_RATE_LIMIT", "1000", "requests per second per client address to the providers' webhooks /hooks/ (burst twice that; 0 disables)"},
	{"trusted-proxies", "HUB_TRUSTED_PROXIES", "", "comma-separated addresses or ranges of reverse proxies whose X-Forwarded-For names the client; empty trusts none"},
	{"max-body-bytes", "HUB_MAX_BODY_BYTES", "1048576", "largest accepted request body; larger gets 413"},
	{"queue-prefix", "HUB_QUEUE_PREFIX", "hub", "prefix of the asynq queue names and Redis keys"},
	{"concurrency", "HUB_WORKER_CONCURRENCY", "20", "tasks a worker process runs at once"},
	{"log-level", "HUB_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"log-format", "HUB_LOG_FORMAT", "json", "json or text (dev uses text)"},
	{"migrate", "HUB_MIGRATE", "true", "apply database migrations on start"},
	{"with-workers", "HUB_WITH_WORKERS", "false", "serve: also run workers and the scheduler in the API process"},
	{"scheduler", "HUB_SCHEDULER", "true", "work: also run the periodic tasks (safe on every replica)"},
	{"request-timeout", "HUB_REQUEST_TIMEOUT", "10s", "longest an API request may work; past it its database and queue calls are cancelled and it answers 503 (0 disables)"},
	{"shutdown-timeout", "HUB_SHUTDOWN_TIMEOUT", "15s", "how long a stopping process waits for requests in flight"},
	{"relay-min-age", "HUB_RELAY_MIN_AGE", "30s", "age after which an undispatched event is enqueued again by the relay"},
	{"database-max-conns", "HUB_DATABASE_MAX_CONNS", "16", "PostgreSQL pool size (SQLite uses one writer and several readers)"},
	{"database-statement-timeout", "HUB_DATABASE_STATEMENT_TIMEOUT", "8s", "PostgreSQL statement_timeout of every pooled connection, a little under the request timeout: a statement running longer is cancelled by the server and the request answers 503 (0 leaves the server's; migrations run without it)"},
	{"database-lock-timeout", "HUB_DATABASE_LOCK_TIMEOUT", "3s", "PostgreSQL lock_timeout of every pooled connection: a statement waiting longer for a lock (a card another transaction holds) fails, its transaction rolls back and the request answers 503 (0 leaves the server's)"},
	{"gc-percent", "HUB_GC_PERCENT", "800", "Go GC target percent; the hub's live heap is small, so collecting less often saves CPU (GOGC, when set, wins)"},
	{"memory-limit-mb", "HUB_MEMORY_LIMIT_MB", "512", "soft memory limit in MiB; near it the GC runs as often as needed (GOMEMLIMIT, when set, wins; 0 means none)"},
	{"metrics-addr", "HUB_METRICS_ADDR", "", "work: serve /metrics for Prometheus on this address (e.g. :9091); empty serves none (serve and dev have /metrics on the API)"},
	{"poll-interval", "HUB_WORKER_POLL_INTERVAL", "1s", "how long an idle worker waits for a wake-up before looking for tasks in Redis anyway; every enqueue wakes idle workers at once (Redis pub/sub), so this only bounds a missed wake-up"},
	{"delivery-log-retention", "HUB_DELIVERY_LOG_RETENTION", "720h", "how long webhook delivery attempts are kept (30 days)"},
	{"webhook-allow-cidrs", "HUB_WEBHOOK_ALLOW_CIDRS", "", "comma-separated address ranges webhooks may reach although private or loopback (tests, private deployments); dev adds 127.0.0.0/8 and ::1/128"},
	{"telegram-api-url", "HUB_TELEGRAM_API_URL", "", "Telegram Bot API base URL (default https://api.telegram.org)"},
	{"whatsapp-api-url", "HUB_WHATSAPP_API_URL", "", "WhatsApp Cloud API (Graph API) base URL (default https://graph.facebook.com)"},
	{"viber-api-url", "HUB_VIBER_API_URL", "", "Viber bot API base URL (default https://chatapi.viber.com)"},
	{"apns-url", "HUB_APNS_URL", "", "APNs base URL for wallet pass pushes (default https://api.push.apple.com)"},
	{"google-wallet-url", "HUB_GOOGLE_WALLET_URL", "", "Google Wallet API base URL (default https://walletobjects.googleapis.com)"},
	{"google-token-url", "HUB_GOOGLE_TOKEN_URL", "", "OAuth2 token URL for Google service accounts (default https://oauth2.googleapis.com/token)"},
	{"poster-api-url", "HUB_POSTER_API_URL", "", "Poster POS API base URL (default https://joinposter.com/api)"},
	{"poster-app-id", "HUB_POSTER_APP_ID", "", "Poster application id (the OAuth client); empty leaves Poster unavailable"},
	{"poster-app-secret", "HUB_POSTER_APP_SECRET", "", "Poster application secret: signs Poster's webhooks and the OAuth code exchange"},
	{"poster-currency", "HUB_POSTER_CURRENCY", "UAH", "currency of Poster checks when a connection names none (Poster's API does not say it)"},
	{"syrve-api-url", "HUB_SYRVE_API_URL", "", "Syrve (iiko Cloud) API base URL (default https://api-eu.syrve.live)"},
	{"key-cache-ttl", "HUB_KEY_CACHE_TTL", "10s", "how long an API process trusts an authenticated key; revocations reach every process at once over Redis, the TTL bounds a missed one (0 disables the cache)"},
}

// bind registers every setting as a flag with its documented default.
func (c *config) bind(fs *flag.FlagSet) {
	ptrs := map[string]any{
		"addr": &c.Addr, "data-dir": &c.DataDir, "database-url": &c.DatabaseURL, "redis-url": &c.RedisURL,
		"admin-token": &c.AdminToken, "secret-key": &c.SecretKey, "public-url": &c.PublicURL,
		"rate-limit": &c.RateLimit, "rate-burst": &c.RateBurst,
		"public-rate-limit": &c.PublicRateLimit, "hooks-rate-limit": &c.HooksRateLimit, "trusted-proxies": &c.TrustedProxies, "max-body-bytes": &c.MaxBodyBytes,
		"queue-prefix": &c.QueuePrefix, "concurrency": &c.Concurrency, "log-level": &c.LogLevel,
		"log-format": &c.LogFormat, "migrate": &c.Migrate, "with-workers": &c.WithWorkers,
		"scheduler": &c.Scheduler, "shutdown-timeout": &c.ShutdownTimeout, "request-timeout": &c.RequestTimeout, "relay-min-age": &c.RelayMinAge,
		"database-max-conns": &c.DatabaseMaxConns, "database-statement-timeout": &c.StatementTimeout, "database-lock-timeout": &c.LockTimeout, "key-cache-ttl": &c.KeyCacheTTL,
		"gc-percent": &c.GCPercent, "memory-limit-mb": &c.MemoryLimitMB, "webhook-allow-cidrs": &c.WebhookAllow,
		"poll-interval": &c.PollInterval, "metrics-addr": &c.MetricsAddr, "delivery-log-retention": &c.DeliveryLogKeep,
		"telegram-api-url": &c.TelegramURL, "whatsapp-api-url": &c.WhatsAppURL, "viber-api-url": &c.ViberURL,
		"apns-url": &c.APNsURL, "google-wallet-url": &c.GoogleWalletURL, "google-token-url": &c.GoogleTokenURL,
		"poster-api-url": &c.PosterURL, "poster-app-id": &c.PosterAppID, "poster-app-secret": &c.PosterAppSecret,
		"poster-currency": &c.PosterCurrency, "syrve-api-url": &c.SyrveURL,
	}
	for _, s := range settings {
		help := s.help + " (env " + s.env + ")"
		switch p := ptrs[s.flag].(type) {
		case *string:
			fs.StringVar(p, s.flag, s.def, help)
		case *int:
			n, _ := strconv.Atoi(s.def)
			fs.IntVar(p, s.flag, n, help)
		case *int64:
			n, _ := strconv.ParseInt(s.def, 10, 64)
			fs.Int64Var(p, s.flag, n, help)
		case *bool:
			fs.BoolVar(p, s.flag, s.def == "true", help)
		case *time.Duration:
			d, _ := time.ParseDuration(s.def)
			fs.DurationVar(p, s.flag, d, help)
		default:
			panic("config: setting without a field: " + s.flag) // a programming error caught by tests
		}
	}
}

// applyEnv sets every flag whose HUB_* variable is set; a malformed value is an error.
func applyEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	for _, s := range settings {
		if v, ok := lookup(s.env); ok {
			if err := fs.Set(s.flag, v); err != nil {
				return fmt.Errorf("%s=%q: %w", s.env, v, err)
			}
		}
	}
	return nil
}

// parseConfig reads the environment, then the command line.
func parseConfig(name string, args []string, lookup func(string) (string, bool), extra func(*flag.FlagSet)) (*config, *flag.FlagSet, error) {
	c := &config{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	c.bind(fs)
	if extra != nil {
		extra(fs)
	}
	if err := applyEnv(fs, lookup); err != nil {
		return nil, nil, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	return c, fs, nil
}

// databaseURL is the configured URL or the default SQLite file in the data dir.
func (c *config) databaseURL() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return filepath.Join(c.DataDir, "hub.db")
}

// publicURL is the configured public URL or one derived from the listen address.
func (c *config) publicURL() string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	host, port := "localhost", c.Addr
	if i := lastColon(c.Addr); i >= 0 {
		if h := c.Addr[:i]; h != "" && h != "0.0.0.0" && h != "[::]" {
			host = h
		}
		port = c.Addr[i+1:]
	}
	return "http://" + host + ":" + port
}

func lastColon(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ':' {
			return i
		}
	}
	return -1
}

// applyRuntime sets the garbage collector from the settings, unless the Go
// runtime's own GOGC and GOMEMLIMIT variables are set.
func (c *config) applyRuntime(lookup func(string) (string, bool)) {
	if _, ok := lookup("GOGC"); !ok && c.GCPercent > 0 {
		debug.SetGCPercent(c.GCPercent)
	}
	if _, ok := lookup("GOMEMLIMIT"); !ok && c.MemoryLimitMB > 0 {
		debug.SetMemoryLimit(int64(c.MemoryLimitMB) << 20)
	}
}
