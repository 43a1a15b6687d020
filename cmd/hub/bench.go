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
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gin-gonic/gin"

	"github.com/7loc/hub/hub"
)

// benchOptions configures `hub bench api`.
type benchOptions struct {
	clients  int
	duration time.Duration
	warmup   time.Duration
	cards    int
	workers  bool
	baseline bool
	profile  string
}

// benchResult is one measured run.
type benchResult struct {
	name     string
	requests int
	errors   int
	elapsed  time.Duration
	p50, p99 time.Duration
	max      time.Duration
	// cpu is the CPU time used during the measured run (zero when not
	// measured).
	cpu cpuUse
}

func (r benchResult) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// runBench load-tests the stamp endpoint through the real HTTP stack: the
// database, the rate limiter and the asynq enqueue of every event, on the
// configured database and Redis. It prints a Markdown table.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	if len(args) > 0 && args[0] == "webhooks" {
		return runBenchWebhooks(ctx, args[1:], stdout, stderr, lookup)
	}
	if len(args) == 0 || args[0] != "api" {
		return errors.New("usage: hub bench api|webhooks [flags] (see BENCHMARKS.md)")
	}
	var o benchOptions
	cfg, _, err := parseConfig("bench api", args[1:], lookup, func(fs *flag.FlagSet) {
		fs.IntVar(&o.clients, "clients", 32, "concurrent HTTP clients")
		fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per run")
		fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured time before each run")
		fs.IntVar(&o.cards, "cards", 2000, "cards the clients stamp at random")
		fs.BoolVar(&o.baseline, "baseline", true, "also measure a bare gin handler with the same clients")
		fs.StringVar(&o.profile, "cpuprofile", "", "write a CPU profile of the measured hub run to this file")
	})
	if err != nil {
		return err
	}
	cfg.applyRuntime(lookup)
	o.workers = cfg.WithWorkers // --with-workers: also dispatch the events while measuring
	cfg.LogLevel, cfg.LogFormat = "warn", "text"
	if cfg.RateLimit > 0 {
		cfg.RateLimit, cfg.RateBurst = 1_000_000, 1_000_000 // the limiter runs, but never refuses
	}
	a, cleanup, err := benchApp(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer cleanup()

	key, cards, err := benchFixture(ctx, a.svc, o.cards)
	if err != nil {
		return fmt.Errorf("bench fixture: %w", err)
	}
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

	var results []benchResult
	if o.baseline {
		gin.SetMode(gin.ReleaseMode)
		bare := gin.New()
		bare.POST("/v1/cards/:id/stamps", func(c *gin.Context) { c.JSON(200, gin.H{"ok": true}) })
		r, err := measure(rctx, "bare gin handler", bare, o, nil, func(int) (string, string) { return "/v1/cards/x/stamps", "" })
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
	r, err := measure(rctx, "POST /v1/cards/{id}/stamps ("+a.store.Dialect()+")", h, o, probe, func(i int) (string, string) {
		return "/v1/cards/" + cards[rand.IntN(len(cards))] + "/stamps", key
	})
	if err != nil {
		return err
	}
	results = append(results, r)

	fmt.Fprintf(stdout, "clients=%d duration=%s cards=%d database=%s workers=%v\n\n", o.clients, o.duration, o.cards, a.store.Dialect(), o.workers)
	fmt.Fprintln(stdout, "| run | requests/s | p50 | p99 | max | errors | vs bare gin |")
	fmt.Fprintln(stdout, "|---|---:|---:|---:|---:|---:|---:|")
	for _, r := range results {
		ratio := "-"
		if o.baseline && r.name != results[0].name {
			ratio = fmt.Sprintf("%.2f", r.rps()/results[0].rps())
		}
		fmt.Fprintf(stdout, "| %s | %.0f | %s | %s | %s | %d | %s |\n", r.name, r.rps(), ms(r.p50), ms(r.p99), ms(r.max), r.errors, ratio)
	}
	fmt.Fprintf(stdout, "\nCPU per stamp request: hub process (server and clients) %s, PostgreSQL backends %s, Redis %s\n",
		perOp(r.cpu.hub, r.requests), perOp(r.cpu.pg, r.requests), perOp(r.cpu.redis, r.requests))
	fmt.Fprintf(stdout, "peak RSS of the process (server and clients): %s\n", peakRSS())
	depth, _ := a.rdb.LLen(ctx, "asynq:{"+a.queues.Events+"}:pending").Result()
	fmt.Fprintf(stdout, "dispatch tasks waiting in Redis after the run: %d\n", depth)
	return nil
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

// measure serves h on loopback and runs o.clients clients against it: a
// warm-up, then o.duration measured. A probe, when given, measures the CPU
// time of the measured part.
func measure(ctx context.Context, name string, h http.Handler, o benchOptions, probe *cpuProbe, target func(i int) (path, key string)) (benchResult, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return benchResult{}, err
	}
	srv := &http.Server{Handler: h, ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	addr := ln.Addr().String()

	run := func(d time.Duration, record bool) ([]time.Duration, int, time.Duration) {
		var mu sync.Mutex
		var all []time.Duration
		failures := 0
		start := time.Now()
		deadline := start.Add(d)
		var wg sync.WaitGroup
		for c := 0; c < o.clients; c++ {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				lat := make([]time.Duration, 0, 4096)
				bad := 0
				body := []byte(`{"count":1}`)
				client := &benchClient{addr: addr}
				defer client.close()
				for i := 0; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
					path, key := target(c*1_000_000 + i)
					t0 := time.Now()
					status, err := client.post(path, key, body)
					if err == nil && status != 200 {
						err = fmt.Errorf("status %d", status)
					}
					lat = append(lat, time.Since(t0))
					if err != nil {
						bad++
					}
				}
				if record {
					mu.Lock()
					all = append(all, lat...)
					failures += bad
					mu.Unlock()
				}
			}(c)
		}
		wg.Wait()
		return all, failures, time.Since(start)
	}
	run(o.warmup, false)
	if probe != nil {
		probe.analyze(ctx)
		probe.start(ctx)
	}
	lat, failures, elapsed := run(o.duration, true)
	var cpu cpuUse
	if probe != nil {
		cpu = probe.stop(ctx)
	}
	if len(lat) == 0 {
		return benchResult{}, errors.New("no request completed")
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	return benchResult{name: name, requests: len(lat), errors: failures, elapsed: elapsed, p50: pct(0.50), p99: pct(0.99),
		max: lat[len(lat)-1], cpu: cpu}, nil
}

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
func vmHWM(pid string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
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
