package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"

	"github.com/7loc/hub/hub"
)

// sink is the local receiver of the webhook benchmark: it records when each
// (hook path, webhook-id) first arrived.
type sink struct {
	mu    sync.Mutex
	first map[string]time.Time
	total atomic.Int64
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	key := r.URL.Path + " " + r.Header.Get("webhook-id")
	now := time.Now()
	s.mu.Lock()
	if _, seen := s.first[key]; !seen {
		s.first[key] = now
	}
	s.mu.Unlock()
	s.total.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

// distinct is how many different deliveries arrived.
func (s *sink) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.first)
}

// collect calls found for each of keys[k], k in missing, that has arrived,
// and returns the rest of missing (reusing its array). It holds the lock
// for 1,000 keys at a time, so that the sink is not held up.
func (s *sink) collect(keys []string, missing []int, found func(k int, at time.Time)) []int {
	rest := missing[:0]
	for start := 0; start < len(missing); start += 1000 {
		end := min(start+1000, len(missing))
		s.mu.Lock()
		for _, k := range missing[start:end] {
			if t, ok := s.first[keys[k]]; ok {
				found(k, t)
			} else {
				rest = append(rest, k)
			}
		}
		s.mu.Unlock()
	}
	return rest
}

// runBenchWebhooks measures webhook delivery end to end: stamps through the
// API, events dispatched by the in-process workers, signed deliveries to a
// local sink; and raw asynq throughput on the same Redis as the reference.
func runBenchWebhooks(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	var rate, clients, cards int
	var duration, warmup time.Duration
	var profile string
	var latencyOnly, externalWorkers bool
	cfg, _, err := parseConfig("bench webhooks", args, lookup, func(fs *flag.FlagSet) {
		fs.BoolVar(&latencyOnly, "latency-only", false, "run only the offered-rate run with one hook (no raw asynq reference, no saturation, no 10 hooks): the latency of a quiet hub, e.g. --rate 1 --duration 2m")
		fs.BoolVar(&externalWorkers, "external-workers", false, "run no workers in this process: `hub work` processes on the same database, Redis and HUB_QUEUE_PREFIX deliver (give them HUB_WEBHOOK_ALLOW_CIDRS=127.0.0.0/8)")
		fs.IntVar(&rate, "rate", 500, "offered load in events per second for the latency run")
		fs.IntVar(&clients, "clients", 16, "concurrent clients for the saturation runs")
		fs.DurationVar(&duration, "duration", 10*time.Second, "length of each run")
		fs.DurationVar(&warmup, "warmup", 2*time.Second, "unmeasured run at the offered rate before the others (0: none)")
		fs.StringVar(&profile, "cpuprofile", "", "write a CPU profile of the measured runs to this file")
		fs.IntVar(&cards, "cards", 1000, "cards the clients stamp at random")
	})
	if err != nil {
		return err
	}
	cfg.applyRuntime(lookup)
	if externalWorkers {
		if cfg.DatabaseURL == "" || cfg.RedisURL == "" {
			return errors.New("--external-workers needs HUB_DATABASE_URL and HUB_REDIS_URL, shared with the `hub work` processes")
		}
		cfg.keepQueuePrefix = true
	}
	cfg.LogLevel, cfg.LogFormat, cfg.RateLimit = "error", "text", 0
	cfg.WebhookAllow = strings.Trim(cfg.WebhookAllow+",127.0.0.0/8", ",")
	a, cleanup, err := benchApp(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer cleanup()

	var raw float64
	if !latencyOnly {
		if raw, err = rawAsynq(ctx, a, cfg.QueuePrefix+":raw", cfg.Concurrency, 20000); err != nil {
			return fmt.Errorf("raw asynq: %w", err)
		}
	}

	key, cardIDs, err := benchFixture(ctx, a.svc, cards)
	if err != nil {
		return err
	}
	pr, err := a.svc.Authenticate(ctx, key)
	if err != nil {
		return err
	}
	snk := &sink{first: map[string]time.Time{}}
	sinkLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sinkSrv := &http.Server{Handler: snk, ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
	go func() { _ = sinkSrv.Serve(sinkLn) }()
	defer sinkSrv.Close()
	h, err := a.handler()
	if err != nil {
		return err
	}
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	apiSrv := &http.Server{Handler: h, ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
	go func() { _ = apiSrv.Serve(apiLn) }()
	defer apiSrv.Close()
	if !externalWorkers {
		wctx, stopWorkers := context.WithCancel(ctx)
		workersDone := make(chan struct{})
		go func() { _ = a.runWorkers(wctx, false); close(workersDone) }()
		defer func() { stopWorkers(); <-workersDone }() // before a.Close: the workers use its Redis client
	}

	base := "http://" + apiLn.Addr().String()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 10 * time.Second}
	hooks := 0
	subscribe := func(n int) error {
		for ; hooks < n; hooks++ {
			u := fmt.Sprintf("http://%s/h/%d", sinkLn.Addr(), hooks)
			if _, _, err := a.svc.CreateHook(ctx, pr.Business.ID, hub.HookInput{Event: string(hub.StampAdded), TargetURL: &u}); err != nil {
				return err
			}
		}
		return nil
	}
	type result struct {
		name                 string
		events, deliveries   int
		elapsed              time.Duration
		p50, p99, max        time.Duration
		missing, apiFailures int
		// drainRate is deliveries per second after the API load stopped:
		// delivery alone, with nothing else on the machine.
		drainRate float64
		// cpu: CPU time used from the start of the run to the last receipt.
		cpu cpuUse
	}
	probe := newCPUProbe(ctx, cfg.DatabaseURL)
	probe.redis = func(ctx context.Context) (string, error) { return a.rdb.Info(ctx, "cpu").Result() }
	defer probe.close()
	run := func(name string, perSecond int, duration time.Duration) (result, error) {
		res := result{name: name}
		seenAtStart := snk.distinct()
		probe.start(ctx)
		var mu sync.Mutex
		type sent struct {
			id string
			at time.Time
		}
		var all []sent
		var failures atomic.Int64
		stamp := func() {
			card := cardIDs[rand.IntN(len(cardIDs))]
			req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/cards/"+card+"/stamps", bytes.NewReader([]byte(`{}`)))
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := client.Do(req)
			if err != nil {
				failures.Add(1)
				return
			}
			var body struct {
				Events []hub.EventRef `json:"events"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			at := time.Now()
			if resp.StatusCode != 200 || len(body.Events) == 0 {
				failures.Add(1)
				return
			}
			mu.Lock()
			all = append(all, sent{id: body.Events[0].ID, at: at})
			mu.Unlock()
		}
		start := time.Now()
		deadline := start.Add(duration)
		var wg sync.WaitGroup
		if perSecond > 0 { // a fixed offered load
			interval := time.Second / time.Duration(perSecond)
			next := start
			sem := make(chan struct{}, 256)
			for next.Before(deadline) {
				time.Sleep(time.Until(next))
				sem <- struct{}{}
				wg.Add(1)
				go func() { defer wg.Done(); stamp(); <-sem }()
				next = next.Add(interval)
			}
		} else { // saturation
			for c := 0; c < clients; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for time.Now().Before(deadline) {
						stamp()
					}
				}()
			}
		}
		wg.Wait()
		loadEnd, atLoadEnd := time.Now(), snk.total.Load()
		// Wait for the deliveries to drain (at most 60 s): until the sink has
		// seen as many new deliveries as this run makes, then look each one
		// up (a few keys at a time, so as not to hold up the sink), again
		// for those still missing. The sink and the workers share the CPU
		// with this loop.
		want := len(all) * hooks
		drain := time.Now().Add(60 * time.Second)
		keys := make([]string, want)
		missing := make([]int, want)
		prefixes := make([]string, hooks)
		for i := range prefixes {
			prefixes[i] = fmt.Sprintf("/h/%d ", i)
		}
		for k := range keys {
			keys[k], missing[k] = prefixes[k%hooks]+all[k/hooks].id, k
		}
		lats := make([]time.Duration, 0, want)
		var lastReceipt time.Time
		for {
			if snk.distinct() < seenAtStart+want && time.Now().Before(drain) {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			missing = snk.collect(keys, missing, func(k int, got time.Time) {
				lats = append(lats, got.Sub(all[k/hooks].at))
				if got.After(lastReceipt) {
					lastReceipt = got
				}
			})
			if len(missing) == 0 || time.Now().After(drain) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		res.missing = len(missing)
		res.cpu = probe.stop(ctx)
		res.events, res.deliveries, res.apiFailures = len(all), want-res.missing, int(failures.Load())
		res.elapsed = lastReceipt.Sub(start)
		if drained := snk.total.Load() - atLoadEnd; drained > 0 && lastReceipt.After(loadEnd) {
			res.drainRate = float64(drained) / time.Since(loadEnd).Seconds()
			if res.missing == 0 {
				res.drainRate = float64(drained) / lastReceipt.Sub(loadEnd).Seconds()
			}
		}
		if len(lats) > 0 {
			slices.Sort(lats)
			res.p50, res.p99, res.max = lats[len(lats)/2], lats[min(len(lats)-1, len(lats)*99/100)], lats[len(lats)-1]
		}
		return res, nil
	}

	var results []result
	if err := subscribe(1); err != nil {
		return err
	}
	if warmup > 0 {
		// Warms the pools and the queues, and gives the tables rows, whose
		// statistics ANALYZE then refreshes (see cpuProbe.analyze).
		if _, err := run("warm-up", rate, warmup); err != nil {
			return err
		}
	}
	probe.analyze(ctx)
	stopProfile, err := cpuProfile(profile)
	if err != nil {
		return err
	}
	defer stopProfile()
	runs := []struct {
		name string
		rate int
	}{{fmt.Sprintf("%d events/s offered, 1 hook", rate), rate}, {"saturation, 1 hook", 0}}
	if latencyOnly {
		runs = runs[:1]
	}
	for _, r := range runs {
		res, err := run(r.name, r.rate, duration)
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	for _, r := range []struct {
		name string
		rate int
	}{{fmt.Sprintf("%d events/s offered, 10 hooks", rate/10), rate / 10}, {"saturation, 10 hooks", 0}} {
		if latencyOnly {
			break
		}
		if err := subscribe(10); err != nil {
			return err
		}
		res, err := run(r.name, r.rate, duration)
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	fmt.Fprintf(stdout, "database=%s clients=%d duration=%s worker concurrency=%d\n\n", a.store.Dialect(), clients, duration, cfg.Concurrency)
	if !latencyOnly {
		fmt.Fprintf(stdout, "raw asynq on the same Redis: %.0f no-op tasks/s (enqueue and process, concurrency %d)\n\n", raw, cfg.Concurrency)
	}
	fmt.Fprintln(stdout, "| run | events | deliveries | deliveries/s overall | deliveries/s after the API stopped | vs raw asynq | end-to-end p50 | p99 | max | still queued at cut-off | API errors | CPU per delivery: hub | PostgreSQL | Redis |")
	fmt.Fprintln(stdout, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range results {
		dps := float64(r.deliveries) / r.elapsed.Seconds()
		fmt.Fprintf(stdout, "| %s | %d | %d | %.0f | %.0f | %.2f | %s | %s | %s | %d | %d | %s | %s | %s |\n", r.name, r.events, r.deliveries, dps, r.drainRate, r.drainRate/raw, ms(r.p50), ms(r.p99), ms(r.max), r.missing, r.apiFailures,
			perOp(r.cpu.hub, r.deliveries), perOp(r.cpu.pg, r.deliveries), perOp(r.cpu.redis, r.deliveries))
	}
	fmt.Fprintf(stdout, "\nsink received %d requests in all (deliveries counted once per hook and event above); peak RSS %s\n", snk.total.Load(), peakRSS())
	return nil
}

// rawAsynq enqueues n no-op tasks and processes them with the given
// concurrency on the same Redis; it returns tasks per second.
func rawAsynq(ctx context.Context, a *app, queue string, concurrency, n int) (float64, error) {
	var done atomic.Int64
	finished := make(chan struct{})
	srv := asynq.NewServerFromRedisClient(a.rdb, asynq.Config{Concurrency: concurrency, Queues: map[string]int{queue: 1},
		LogLevel: asynq.FatalLevel})
	mux := asynq.NewServeMux()
	mux.HandleFunc("noop", func(context.Context, *asynq.Task) error {
		if done.Add(1) == int64(n) {
			close(finished)
		}
		return nil
	})
	if err := srv.Start(mux); err != nil {
		return 0, err
	}
	defer srv.Shutdown()
	start := time.Now()
	var wg sync.WaitGroup
	per := n / 8
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				_, _ = a.queue.EnqueueContext(ctx, asynq.NewTask("noop", []byte(`{"id":"x"}`)), asynq.Queue(queue))
			}
		}()
	}
	wg.Wait()
	select {
	case <-finished:
	case <-time.After(120 * time.Second):
		return 0, errors.New("raw tasks did not finish")
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
