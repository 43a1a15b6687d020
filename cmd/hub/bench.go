package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gin-gonic/gin"
	"github.com/hibiken/asynq"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
)

// benchOptions configures `hub bench api`.
type benchOptions struct {
	clients    int
	businesses int
	duration   time.Duration
	warmup     time.Duration
	cards      int
	workers    bool
	baseline   bool
	profile    string
	// openLoad runs an open loop at this fraction of the closed loop's
	// rate (0: none); openRate, when set, at a fixed rate instead.
	openLoad float64
	openRate int
	// overload runs an open loop at twice the closed loop's rate.
	overload bool
	// maxOpen bounds the requests in flight of an open loop.
	maxOpen int
	// pgbench runs the reference script on PostgreSQL (when pgbench is on
	// PATH); pgbenchDir holds docs/pgbench-setup.sql and pgbench-stamp.sql.
	pgbench    bool
	pgbenchDir string
}

// benchResult is one measured run.
type benchResult struct {
	name string
	run  *loadRun
	// rate is the open loop's arrival rate (0: closed loop).
	rate int
	// cpu is the CPU time used during the run and until the workers had
	// dispatched its events (zero when not measured).
	cpu cpuUse
	// rssStart and rssEnd are the process's resident set (kB) before and
	// after the run (-1 unknown).
	rssStart, rssEnd int64
}

// rps is the rate of accepted (2xx) requests.
func (r benchResult) rps() float64 { return float64(r.run.accepted()) / r.run.elapsed.Seconds() }

// benchBusiness is one business of the fleet: its key (one till's) and its
// cards.
type benchBusiness struct {
	key   string
	cards []string
}

// runBench load-tests the stamp endpoint through the real HTTP stack: many
// businesses, each with its own key at the configured (default) rate limit,
// the database, the rate limiter, the asynq enqueue of every event and,
// unless --workers=false, the workers dispatching them while it measures.
// It runs a closed loop, an open loop (latency from the scheduled send
// time), optionally an overload at twice the closed loop's rate, and on
// PostgreSQL the pgbench reference in the same invocation. It prints
// Markdown tables.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	if len(args) > 0 && args[0] == "webhooks" {
		return runBenchWebhooks(ctx, args[1:], stdout, stderr, lookup)
	}
	if len(args) == 0 || args[0] != "api" {
		return errors.New("usage: hub bench api|webhooks [flags] (see BENCHMARKS.md)")
	}
	var o benchOptions
	cfg, _, err := parseConfig("bench api", args[1:], lookup, func(fs *flag.FlagSet) {
		fs.IntVar(&o.clients, "clients", 16, "concurrent HTTP clients of the closed loop (and of the pgbench reference)")
		fs.IntVar(&o.businesses, "businesses", 100, "businesses, one API key (till) each at the configured rate limit; requests spread over them at random")
		fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per run")
		fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured time before the closed loop")
		fs.IntVar(&o.cards, "cards", 2000, "cards in all, spread over the businesses, stamped at random")
		fs.BoolVar(&o.workers, "workers", true, "run the workers in the process, dispatching the events while measuring (as production)")
		fs.BoolVar(&o.baseline, "baseline", false, "also measure a bare gin handler with the same clients")
		fs.Float64Var(&o.openLoad, "open-load", 0.8, "also run an open loop at this fraction of the closed loop's rate (0: none)")
		fs.IntVar(&o.openRate, "open-rate", 0, "run the open loop at this many requests per second instead")
		fs.BoolVar(&o.overload, "overload", false, "also run an open loop at twice the closed loop's rate (issue 11, item 5)")
		fs.IntVar(&o.maxOpen, "max-in-flight", 256, "most requests in flight (connections) of an open loop; a request due while all are busy is late, and counted from when it was due")
		fs.BoolVar(&o.pgbench, "pgbench", true, "on PostgreSQL, also run the pgbench reference (docs/pgbench-stamp.sql) in a fresh schema, if pgbench is on PATH")
		fs.StringVar(&o.pgbenchDir, "pgbench-dir", "docs", "directory of pgbench-setup.sql and pgbench-stamp.sql")
		fs.StringVar(&o.profile, "cpuprofile", "", "write a CPU profile of the measured hub runs to this file")
	})
	if err != nil {
		return err
	}
	if o.clients < 1 || o.businesses < 1 || o.cards < o.businesses {
		return errors.New("--clients and --businesses must be at least 1, --cards at least --businesses")
	}
	cfg.applyRuntime(lookup)
	o.workers = o.workers || cfg.WithWorkers
	cfg.LogLevel, cfg.LogFormat = "warn", "text"
	a, cleanup, err := benchApp(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer cleanup()

	seedStart := time.Now()
	fleet, err := benchFleet(ctx, a.svc, o.businesses, o.cards)
	if err != nil {
		return fmt.Errorf("bench fixture: %w", err)
	}
	fmt.Fprintf(stderr, "bench: %d businesses, %d cards in %s\n", o.businesses, o.cards, time.Since(seedStart).Round(time.Millisecond))
	h, err := a.handler()
	if err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.workers {
		workersDone := make(chan struct{})
		go func() { _ = a.runWorkers(rctx, false); close(workersDone) }()
		defer func() { cancel(); <-workersDone }() // before a.Close: the workers use its Redis client
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	addr := ln.Addr().String()
	stamp := func(c *benchClient, i int) (int, error) {
		b := &fleet[rand.IntN(len(fleet))]
		return c.post("/v1/cards/"+b.cards[rand.IntN(len(b.cards))]+"/stamps", b.key, stampBody)
	}

	var results []benchResult
	if o.baseline {
		r, err := bareGin(rctx, o)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	stopProfile, err := cpuProfile(o.profile)
	if err != nil {
		return err
	}
	defer stopProfile()
	probe := newCPUProbe(ctx, cfg.DatabaseURL)
	probe.redis = func(ctx context.Context) (string, error) { return a.rdb.Info(ctx, "cpu").Result() }
	defer probe.close()
	drained := func() { waitDispatched(rctx, a, o.workers, 60*time.Second) }

	runLoad(rctx, loadSpec{addr: addr, clients: o.clients, duration: o.warmup}, stamp)
	drained()
	probe.analyze(ctx)
	dialect := a.store.Dialect()
	phase := func(name string, spec loadSpec) benchResult {
		r := benchResult{name: name, rate: spec.rate, rssStart: vmRSS("self")}
		probe.start(ctx)
		r.run = runLoad(rctx, spec, stamp)
		r.rssEnd = vmRSS("self")
		drained()
		r.cpu = probe.stop(ctx)
		return r
	}
	closed := phase(fmt.Sprintf("closed loop, %d clients (%s)", o.clients, dialect),
		loadSpec{addr: addr, clients: o.clients, duration: o.duration})
	results = append(results, closed)
	if closed.run.accepted() == 0 {
		return fmt.Errorf("no stamp accepted in the closed loop (statuses %v, first error %v)", closed.run.statuses, closed.run.err)
	}
	openRate := o.openRate
	if openRate == 0 && o.openLoad > 0 {
		openRate = int(o.openLoad * closed.rps())
	}
	if openRate > 0 {
		results = append(results, phase(fmt.Sprintf("open loop at %d/s (%s)", openRate, dialect),
			loadSpec{addr: addr, clients: o.maxOpen, duration: o.duration, rate: openRate}))
	}
	if o.overload {
		rate := int(2 * closed.rps())
		results = append(results, phase(fmt.Sprintf("overload: open loop at %d/s, 2× the closed loop (%s)", rate, dialect),
			loadSpec{addr: addr, clients: o.maxOpen, duration: o.duration, rate: rate}))
	}
	stopProfile()

	var ref *pgbenchResult
	if o.pgbench && sqlstore.IsPostgresURL(cfg.DatabaseURL) {
		ref, err = runPgbench(ctx, cfg.DatabaseURL, o, probe)
		if err != nil {
			fmt.Fprintf(stderr, "bench: pgbench reference skipped: %v\n", err)
		}
	}
	writeBenchAPI(stdout, o, dialect, results, ref)
	depth, _ := a.rdb.LLen(ctx, "asynq:{"+a.queues.Events+"}:pending").Result()
	fmt.Fprintf(stdout, "dispatch tasks waiting in Redis after the runs: %d\n", depth)
	return nil
}

// stampBody is the body of every stamp request.
var stampBody = []byte(`{"count":1}`)

// bareGin measures a bare gin handler that answers {"ok":true} with the
// closed loop's clients: what the machine does with no hub behind the
// HTTP stack.
func bareGin(ctx context.Context, o benchOptions) (benchResult, error) {
	gin.SetMode(gin.ReleaseMode)
	bare := gin.New()
	bare.POST("/v1/cards/:id/stamps", func(c *gin.Context) { c.JSON(200, gin.H{"ok": true}) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return benchResult{}, err
	}
	srv := &http.Server{Handler: bare, ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	send := func(c *benchClient, _ int) (int, error) { return c.post("/v1/cards/x/stamps", "", stampBody) }
	spec := loadSpec{addr: ln.Addr().String(), clients: o.clients, duration: o.warmup}
	runLoad(ctx, spec, send)
	spec.duration = o.duration
	return benchResult{name: "bare gin handler", run: runLoad(ctx, spec, send), rssStart: -1, rssEnd: -1}, nil
}

// waitDispatched waits (at most timeout) until the workers have taken
// every dispatch task queued, so that a run's CPU includes dispatching its
// events and the next run starts with an empty queue.
func waitDispatched(ctx context.Context, a *app, workers bool, timeout time.Duration) {
	if !workers {
		return
	}
	insp := asynq.NewInspectorFromRedisClient(a.rdb)
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(20 * time.Millisecond) {
		info, err := insp.GetQueueInfo(a.queues.Events)
		if err != nil || info.Pending+info.Active+info.Scheduled == 0 {
			return
		}
	}
}

// writeBenchAPI prints the runs and the reference as Markdown.
func writeBenchAPI(w io.Writer, o benchOptions, dialect string, results []benchResult, ref *pgbenchResult) {
	fmt.Fprintf(w, "businesses (keys)=%d cards=%d clients=%d duration=%s database=%s workers=%v\n\n",
		o.businesses, o.cards, o.clients, o.duration, dialect, o.workers)
	fmt.Fprintln(w, "| run | sent | stamps/s (2xx) | p50 | p99 | max | 429 | 503 | other errors | CPU per stamp: hub / PostgreSQL / Redis | RSS start → end |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
	for _, r := range results {
		p50, p99, mx := r.run.percentiles(true)
		other := r.run.sent() - r.run.accepted() - r.run.statuses[429] - r.run.statuses[503]
		rss := "-"
		if r.rssStart > 0 && r.rssEnd > 0 {
			rss = fmt.Sprintf("%d → %d MB", r.rssStart>>10, r.rssEnd>>10)
		}
		cpu := "-"
		if r.cpu.hub > 0 {
			n := r.run.accepted()
			cpu = perOp(r.cpu.hub, n) + " / " + perOp(r.cpu.pg, n) + " / " + perOp(r.cpu.redis, n)
		}
		fmt.Fprintf(w, "| %s | %d | %.0f | %s | %s | %s | %d | %d | %d | %s | %s |\n", r.name, r.run.sent(), r.rps(),
			ms(p50), ms(p99), ms(mx), r.run.statuses[429], r.run.statuses[503], other, cpu, rss)
	}
	fmt.Fprintln(w, "\nLatency of the 2xx answers; an open loop's from each request's scheduled send time. CPU per accepted stamp,"+
		" until the workers had dispatched the run's events. Peak RSS of the process (server, workers and clients): "+peakRSS())
	if ref != nil && len(results) > 0 {
		var closed benchResult
		for _, r := range results {
			if r.rate == 0 && r.cpu.hub > 0 {
				closed = r
			}
		}
		fmt.Fprintf(w, "\npgbench reference (%s, %d clients, %s, fresh schema): %.0f tps; CPU per transaction: pgbench %s, PostgreSQL %s\n",
			ref.script, ref.clients, ref.duration, ref.tps, perOp(ref.clientCPU, ref.transactions), perOp(ref.pgCPU, ref.transactions))
		if closed.run != nil {
			fmt.Fprintf(w, "hub closed loop ÷ pgbench: %.2f (PostgreSQL CPU per stamp ÷ per pgbench transaction: %.2f)\n",
				closed.rps()/ref.tps, (float64(closed.cpu.pg)/float64(max(closed.run.accepted(), 1)))/(float64(ref.pgCPU)/float64(max(ref.transactions, 1))))
		}
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// benchFixture makes a business with a key and n cards to stamp.
func benchFixture(ctx context.Context, svc *hub.Service, n int) (string, []string, error) {
	k, err := svc.EnsureKey(ctx, "Bench "+strconv.FormatInt(time.Now().UnixNano(), 36), "bench", nil)
	if err != nil {
		return "", nil, err
	}
	pr, err := svc.Authenticate(ctx, k.Key)
	if err != nil {
		return "", nil, err
	}
	tpl, err := svc.CreateCardTemplate(ctx, pr.Business.ID, hub.CardTemplateInput{Name: "Bench", Goals: []hub.GoalInput{
		{Stamps: 5, Reward: hub.RewardInput{Title: "Coffee"}}, {Stamps: 10, Reward: hub.RewardInput{Title: "Cake"}},
	}})
	if err != nil {
		return "", nil, err
	}
	cards := make([]string, n)
	for i := range cards {
		email := fmt.Sprintf("bench%d@example.com", i)
		c, _, err := svc.IssueCard(ctx, pr, hub.IssueCardInput{TemplateID: tpl.ID, Customer: hub.CustomerInput{Email: &email}})
		if err != nil {
			return "", nil, err
		}
		cards[i] = c.ID
	}
	return k.Key, cards, nil
}

// benchFleet makes n businesses, each with a key, a card template (goals
// at 5 and 10 stamps, so every fifth stamp also issues a reward voucher) and
// its share of cards.
func benchFleet(ctx context.Context, svc *hub.Service, n, cards int) ([]benchBusiness, error) {
	fleet := make([]benchBusiness, n)
	tag := strconv.FormatInt(time.Now().UnixNano(), 36)
	for b := range fleet {
		k, err := svc.EnsureKey(ctx, fmt.Sprintf("Bench %d %s", b, tag), "till", nil)
		if err != nil {
			return nil, err
		}
		pr, err := svc.Authenticate(ctx, k.Key)
		if err != nil {
			return nil, err
		}
		tpl, err := svc.CreateCardTemplate(ctx, pr.Business.ID, hub.CardTemplateInput{Name: "Bench", Goals: []hub.GoalInput{
			{Stamps: 5, Reward: hub.RewardInput{Title: "Coffee"}}, {Stamps: 10, Reward: hub.RewardInput{Title: "Cake"}},
		}})
		if err != nil {
			return nil, err
		}
		fleet[b].key = k.Key
		for i := b; i < cards; i += n {
			email := fmt.Sprintf("bench%d@example.com", i)
			c, _, err := svc.IssueCard(ctx, pr, hub.IssueCardInput{TemplateID: tpl.ID, Customer: hub.CustomerInput{Email: &email}})
			if err != nil {
				return nil, err
			}
			fleet[b].cards = append(fleet[b].cards, c.ID)
		}
	}
	return fleet, nil
}

// vmRSS is the resident set size (VmRSS) of a process ("self" or a pid) in
// kB, or -1 when /proc cannot tell.
func vmRSS(pid string) int64 { return procStatusKB(pid, "VmRSS:") }

// peakRSS reads the process's peak resident set size from /proc.
func peakRSS() string {
	kb := vmHWM("self")
	if kb < 0 {
		return "unknown"
	}
	return strconv.FormatInt(kb, 10) + " kB"
}

// vmHWM is the peak resident set size (VmHWM) of a process ("self" or a
// pid) in kB, or -1 when /proc cannot tell.
func vmHWM(pid string) int64 { return procStatusKB(pid, "VmHWM:") }

// procStatusKB reads a field in kB of /proc/PID/status, or -1.
func procStatusKB(pid, field string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return -1
			}
			return kb
		}
	}
	return -1
}

// benchApp opens the hub for a benchmark: a temporary SQLite file unless a
// database is configured, the embedded Redis (with a warning) unless one is,
// and queues of its own. cleanup deletes the queues and closes everything.
func benchApp(ctx context.Context, cfg *config, stderr io.Writer) (*app, func(), error) {
	var undo []func()
	cleanup := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	if cfg.DatabaseURL == "" {
		dir, err := os.MkdirTemp("", "hub-bench-")
		if err != nil {
			return nil, nil, err
		}
		undo = append(undo, func() { os.RemoveAll(dir) })
		cfg.DatabaseURL = filepath.Join(dir, "bench.db")
	}
	if cfg.RedisURL == "" {
		mr := miniredis.NewMiniRedis()
		if err := mr.StartAddr("127.0.0.1:0"); err != nil {
			cleanup()
			return nil, nil, err
		}
		undo = append(undo, mr.Close)
		cfg.RedisURL = "redis://" + mr.Addr()
		fmt.Fprintln(stderr, "bench: no HUB_REDIS_URL; using the embedded in-memory Redis (numbers are not those of a real Redis)")
	}
	if !cfg.keepQueuePrefix {
		cfg.QueuePrefix = "bench" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	undo = append(undo, a.Close, func() {
		// The bench's keys go (queues, tasks, counters): the Redis may be
		// shared. The batcher stops first, so that nothing is enqueued after.
		a.stopPublishing()
		bg := context.Background()
		for _, pattern := range []string{"asynq:{" + cfg.QueuePrefix + "*", cfg.QueuePrefix + ":*"} {
			iter := a.rdb.Scan(bg, 0, pattern, 1000).Iterator()
			var keys []string
			for iter.Next(bg) {
				keys = append(keys, iter.Val())
			}
			for len(keys) > 0 {
				n := min(len(keys), 1000)
				_ = a.rdb.Del(bg, keys[:n]...).Err()
				keys = keys[n:]
			}
		}
		_ = a.rdb.SRem(bg, "asynq:queues", a.queues.Events, a.queues.Webhooks, a.queues.WebhookRetries,
			a.queues.Maintenance, cfg.QueuePrefix+":raw").Err()
	})
	return a, cleanup, nil
}

// benchClient is one load-generating client: a keep-alive HTTP/1.1
// connection that writes each request and reads its response in the calling
// goroutine, the way wrk does. net/http's client hands every request to a
// write and a read goroutine per connection; on two cores shared with the
// server and the database those handoffs cost the load generator about twice
// the CPU, which the server's measurement would pay for.
type benchClient struct {
	addr string
	conn net.Conn
	r    *bufio.Reader
	buf  []byte
}

// post sends a JSON POST and returns the response status; the body is read
// and dropped. A broken or closed connection is dialled again on the next
// call.
func (c *benchClient) post(path, key string, body []byte) (int, error) {
	if c.conn == nil {
		conn, err := net.Dial("tcp", c.addr)
		if err != nil {
			return 0, err
		}
		c.conn, c.r = conn, bufio.NewReader(conn)
	}
	c.buf = append(c.buf[:0], "POST "...)
	c.buf = append(c.buf, path...)
	c.buf = append(c.buf, " HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: "...)
	c.buf = strconv.AppendInt(c.buf, int64(len(body)), 10)
	if key != "" {
		c.buf = append(c.buf, "\r\nAuthorization: Bearer "...)
		c.buf = append(c.buf, key...)
	}
	c.buf = append(c.buf, "\r\n\r\n"...)
	c.buf = append(c.buf, body...)
	if err := c.conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		c.close()
		return 0, err
	}
	if _, err := c.conn.Write(c.buf); err != nil {
		c.close()
		return 0, err
	}
	res, err := http.ReadResponse(c.r, nil)
	if err != nil {
		c.close()
		return 0, err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil || res.Close {
		c.close()
	}
	return res.StatusCode, err
}

func (c *benchClient) close() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
}
