//go:build bench

package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/integrations/poster/posterfake"
)

// salesOptions are the flags of `hub bench sales`.
type salesOptions struct {
	checks      int
	customers   int
	concurrency int
	openRate    int
	db          string
	redis       string
	hub         string
	timeout     time.Duration
	profile     string
	// processes is 1 (hub serve --with-workers) or 2 (serve and work).
	processes int
}

// salesPhase is one measured way of recording checks.
type salesPhase struct {
	name               string
	checks             int
	refused            int
	elapsed            time.Duration // first send to the last sale recorded
	ackP50, ackP99     time.Duration
	ackMax             time.Duration
	recorded, stamped  int
	duplicateStampings int
	// cpu is the CPU each process spent in the phase: serve, work, the
	// bench (load and the fake Poster) and Redis.
	cpu [4]time.Duration
}

// cpuNames names salesPhase.cpu's entries.
var cpuNames = [4]string{"serve", "work", "bench + fake Poster", "Redis"}

func (p salesPhase) rate() float64 { return float64(p.recorded) / p.elapsed.Seconds() }

// runBenchSales measures closed checks per second through the Poster
// webhook path (webhook, 200, fetch from a fake Poster by a worker, sale
// intake) next to the same checks posted straight to /v1/sales, on one
// serve and one work process.
func runBenchSales(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	var o salesOptions
	cfg, _, err := parseConfig("bench sales", args, lookup, func(fs *flag.FlagSet) {
		fs.IntVar(&o.checks, "checks", 10_000, "closed checks per phase")
		fs.IntVar(&o.customers, "customers", 2_000, "customers with a card and a Poster client")
		fs.IntVar(&o.concurrency, "clients", 32, "requests in flight (closed loop); also the number of API keys (tills) of the direct phase")
		fs.IntVar(&o.openRate, "open-rate", 0, "also send webhooks open loop at this many per second, latency from the scheduled send time (0: no open-loop phase)")
		fs.StringVar(&o.db, "db", "sqlite", "sqlite (a temporary file) or postgres (HUB_DATABASE_URL, a fresh database)")
		fs.StringVar(&o.redis, "redis", "", "Redis URL (default HUB_REDIS_URL; without either, the embedded in-memory Redis)")
		fs.StringVar(&o.hub, "hub", "", "hub binary to run as serve and work (default: this executable)")
		fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up on a phase not recorded by then")
		fs.StringVar(&o.profile, "profile", "", "write a CPU profile of the `hub work` process to this file")
		fs.IntVar(&o.processes, "processes", 0, "1: one `hub serve --with-workers` (how the hub runs on SQLite: one process per SQLite file); 2: `hub serve` and `hub work`; 0: 1 on SQLite, 2 on PostgreSQL")
	})
	if err != nil {
		return err
	}
	if err := benchTargets(cfg, "bench sales", o.db, o.redis, &o.hub); err != nil {
		return err
	}
	if o.processes == 0 {
		o.processes = 2
		if o.db == "sqlite" {
			o.processes = 1
		}
	}
	if o.processes != 1 && o.processes != 2 {
		return errors.New("--processes must be 1 or 2")
	}
	if o.checks < 1 || o.customers < 1 || o.concurrency < 1 {
		return errors.New("--checks, --customers and --clients must be at least 1")
	}
	cfg.applyRuntime(lookup)
	phases, err := benchSales(ctx, cfg, o, stderr)
	if err != nil {
		return err
	}
	writeSalesTable(stdout, phases, o)
	return nil
}

func benchSales(ctx context.Context, cfg *config, o salesOptions, stderr io.Writer) ([]salesPhase, error) {
	fake := posterfake.New(posterfake.Config{})
	defer fake.Close()
	fc := fake.Config()
	if cfg.SecretKey == "" {
		key := make([]byte, hub.SecretKeySize)
		for i := range key {
			key[i] = byte(i*7 + 3)
		}
		cfg.SecretKey = base64.StdEncoding.EncodeToString(key)
	}
	cfg.LogLevel, cfg.LogFormat, cfg.Migrate = "warn", "text", true
	cfg.PosterURL, cfg.PosterAppID, cfg.PosterAppSecret = fake.APIURL(), fc.AppID, fc.AppSecret
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	base := "http://" + addr
	cfg.PublicURL = base
	a, cleanup, err := benchApp(ctx, cfg, stderr)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	defer func() { _ = a.rdb.SRem(context.Background(), "asynq:queues", a.queues.Tills, a.queues.Messages).Err() }()

	// One business with cards, its tills' keys, and the same customers as
	// Poster clients; three other businesses in the same database.
	var keys []string
	var businessID string
	for i := range o.concurrency {
		k, err := a.svc.EnsureKey(ctx, "Sales "+cfg.QueuePrefix, "till"+strconv.Itoa(i), nil)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k.Key)
		if i == 0 {
			pr, err := a.svc.Authenticate(ctx, k.Key)
			if err != nil {
				return nil, err
			}
			businessID = pr.Business.ID
		}
	}
	pr, err := a.svc.Authenticate(ctx, keys[0])
	if err != nil {
		return nil, err
	}
	amount := "5.00"
	tpl, err := a.svc.CreateCardTemplate(ctx, businessID, hub.CardTemplateInput{Name: "Coffee",
		Goals:   []hub.GoalInput{{Stamps: 8, Reward: hub.RewardInput{Title: "Free coffee"}}},
		Earning: &hub.Earning{Per: hub.EarnPerAmount, AmountPerStamp: &amount}})
	if err != nil {
		return nil, err
	}
	for i := range 3 {
		if _, err := a.svc.EnsureKey(ctx, fmt.Sprintf("Other %d %s", i, cfg.QueuePrefix), "till", nil); err != nil {
			return nil, err
		}
	}
	seedStart := time.Now()
	clients := make([]int64, o.customers)
	for i := range o.customers {
		phone := fmt.Sprintf("+4917%08d", i)
		if _, _, err := a.svc.IssueCard(ctx, pr, hub.IssueCardInput{TemplateID: tpl.ID, Customer: hub.CustomerInput{Phone: &phone}}); err != nil {
			return nil, err
		}
		clients[i] = fake.AddClient(posterfake.Client{Firstname: "Guest", Phone: phone})
	}
	fmt.Fprintf(stderr, "bench: %d customers with cards in %s\n", o.customers, time.Since(seedStart).Round(time.Millisecond))

	// The processes.
	env := append(os.Environ(), "HUB_DATABASE_URL="+cfg.DatabaseURL, "HUB_REDIS_URL="+cfg.RedisURL,
		"HUB_QUEUE_PREFIX="+cfg.QueuePrefix, "HUB_SECRET_KEY="+cfg.SecretKey, "HUB_PUBLIC_URL="+base,
		"HUB_POSTER_API_URL="+fake.APIURL(), "HUB_POSTER_APP_ID="+fc.AppID, "HUB_POSTER_APP_SECRET="+fc.AppSecret,
		"HUB_MIGRATE=false", "HUB_LOG_LEVEL=warn", "HUB_LOG_FORMAT=text", "HUB_CPU_PROFILE=",
		"HUB_WORKER_CONCURRENCY="+strconv.Itoa(cfg.Concurrency))
	var procs []*exec.Cmd
	commands := [][]string{{"serve"}, {"work"}}
	if o.processes == 1 {
		commands = [][]string{{"serve", "--with-workers"}}
	}
	for _, args := range commands {
		cmd := exec.Command(o.hub, args...)
		cmd.Env, cmd.Stdout, cmd.Stderr = append(slices.Clone(env), "HUB_ADDR="+addr), stderr, stderr
		if (args[0] == "work" || o.processes == 1) && o.profile != "" {
			cmd.Env = append(cmd.Env, "HUB_CPU_PROFILE="+o.profile)
		}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		procs = append(procs, cmd)
	}
	defer func() {
		for _, p := range procs {
			_ = p.Process.Signal(syscall.SIGTERM)
		}
		for _, p := range procs {
			_ = p.Wait()
		}
	}()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if err := waitServing(ctx, client, base, a, procs, 1); err != nil {
		return nil, err
	}
	if err := connectPoster(ctx, client, base, keys[0]); err != nil {
		return nil, fmt.Errorf("connect Poster: %w", err)
	}
	probe := &cpuProbe{redis: func(ctx context.Context) (string, error) { return a.rdb.Info(ctx, "cpu").Result() }}
	snapshot := func() [4]time.Duration {
		var c [4]time.Duration
		c[0], _ = procCPU(procs[0].Process.Pid)
		if len(procs) > 1 {
			c[1], _ = procCPU(procs[1].Process.Pid)
		}
		c[2], c[3] = selfCPU(), probe.redisCPU(ctx)
		return c
	}
	insp := asynq.NewInspectorFromRedisClient(a.rdb)
	q := a.queues
	// measured waits until the workers have done everything the phase
	// queued (event dispatch, webhooks, fetches), so that each phase's CPU
	// is its whole cost and not the next one's, then takes the CPU.
	measured := func(p *salesPhase, before [4]time.Duration) {
		for deadline := time.Now().Add(o.timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			busy := 0
			for _, name := range []string{q.Events, q.Webhooks, q.Messages, q.Tills} {
				if info, err := insp.GetQueueInfo(name); err == nil {
					busy += info.Pending + info.Active + info.Scheduled
				}
			}
			if busy == 0 {
				break
			}
		}
		after := snapshot()
		for i := range after {
			p.cpu[i] = after[i] - before[i]
		}
	}
	count, closeCount, err := saleCounter(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer closeCount()

	var phases []salesPhase
	// Direct: each till posts its checks to /v1/sales with its own key.
	direct := salesPhase{name: "POST /v1/sales (direct)", checks: o.checks}
	before := snapshot()
	err = closedLoop(o.checks, o.concurrency, addr, func(c *benchClient, i int) (int, error) {
		body := fmt.Sprintf(`{"source":"till","order_id":"d-%d","total":"12.40","currency":"UAH","customer":{"phone":"+4917%08d"}}`, i, i%o.customers)
		return c.post("/v1/sales", keys[i%len(keys)], []byte(body))
	}, &direct)
	if err != nil {
		return nil, err
	}
	if err := waitRecorded(ctx, count, "till", o.checks, o.timeout, &direct); err != nil {
		return nil, err
	}
	measured(&direct, before)
	phases = append(phases, direct)

	// The Poster webhook path: Poster's checks, then their webhooks.
	checkIDs := make([]int64, o.checks)
	for i := range checkIDs {
		checkIDs[i] = fake.AddTransaction(posterfake.Transaction{Status: 2, ClosedAt: time.Now(), Sum: 1240, PayedSum: 1240,
			ClientID: clients[i%o.customers], Products: []posterfake.Product{{ProductID: 1, Num: "2", Price: 620, PayedSum: 1240}}})
	}
	webhook := func(i int) []byte {
		return posterfake.WebhookBody(posterfake.Webhook{Account: fc.Account, Object: "transaction",
			ObjectID: strconv.FormatInt(checkIDs[i], 10), Action: "closed", Time: time.Now()}, fc.AppSecret)
	}
	path := "/pos/poster/" + businessID
	hooks := salesPhase{name: "Poster webhook → worker fetch (closed loop)", checks: o.checks}
	before = snapshot()
	err = closedLoop(o.checks, o.concurrency, addr, func(c *benchClient, i int) (int, error) {
		return c.post(path, "", webhook(i))
	}, &hooks)
	if err != nil {
		return nil, err
	}
	if err := waitRecorded(ctx, count, "poster", o.checks, o.timeout, &hooks); err != nil {
		return nil, err
	}
	measured(&hooks, before)
	phases = append(phases, hooks)

	if o.openRate > 0 {
		n := min(o.checks, o.openRate*30)
		more := make([]int64, n)
		for i := range more {
			more[i] = fake.AddTransaction(posterfake.Transaction{Status: 2, ClosedAt: time.Now(), Sum: 620, PayedSum: 620,
				ClientID: clients[i%o.customers]})
		}
		open := salesPhase{name: fmt.Sprintf("Poster webhook, open loop at %d/s", o.openRate), checks: n}
		before = snapshot()
		err = openLoop(n, o.openRate, addr, func(c *benchClient, i int) (int, error) {
			return c.post(path, "", posterfake.WebhookBody(posterfake.Webhook{Account: fc.Account, Object: "transaction",
				ObjectID: strconv.FormatInt(more[i], 10), Action: "closed", Time: time.Now()}, fc.AppSecret))
		}, &open)
		if err != nil {
			return nil, err
		}
		if err := waitRecorded(ctx, count, "poster", o.checks+n, o.timeout, &open); err != nil {
			return nil, err
		}
		measured(&open, before)
		phases = append(phases, open)
	}
	// Nothing twice: every check's sale once, and stamps once per sale.
	stamped, err := count(ctx, "SELECT COALESCE(SUM(stamps_added), 0) FROM sales WHERE business_id = "+quoteSQL(businessID))
	if err != nil {
		return nil, err
	}
	total, err := count(ctx, "SELECT COALESCE(SUM(stamps_total), 0) FROM cards WHERE business_id = "+quoteSQL(businessID))
	if err != nil {
		return nil, err
	}
	phases[0].stamped, phases[0].duplicateStampings = total, total-stamped
	return phases, nil
}

func quoteSQL(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// connectPoster walks Poster's OAuth flow against the fake.
func connectPoster(ctx context.Context, client *http.Client, base, key string) error {
	req, _ := http.NewRequestWithContext(ctx, "PUT", base+"/v1/pos/poster", strings.NewReader(`{"currency":"UAH"}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	var v struct {
		ConnectURL string `json:"connect_url"`
	}
	err = decodeBody(res, &v)
	if err != nil || v.ConnectURL == "" {
		return fmt.Errorf("PUT /v1/pos/poster: %v", err)
	}
	next := v.ConnectURL
	for range 3 {
		res, err := client.Get(next)
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			return nil
		}
		if res.StatusCode != http.StatusFound {
			return fmt.Errorf("GET %s: %d", next, res.StatusCode)
		}
		loc, err := url.Parse(res.Header.Get("Location"))
		if err != nil {
			return err
		}
		next = res.Request.URL.ResolveReference(loc).String()
	}
	return errors.New("the OAuth flow did not end")
}

func decodeBody(res *http.Response, out any) error {
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%d %s", res.StatusCode, b)
	}
	return json.Unmarshal(b, out)
}

// closedLoop sends n requests from c clients, each waiting for its answer;
// a refused request is sent again (runLoad's retry).
func closedLoop(n, c int, addr string, send func(*benchClient, int) (int, error), p *salesPhase) error {
	start := time.Now()
	r := runLoad(context.Background(), loadSpec{addr: addr, clients: c, n: n, retry: true}, send)
	p.elapsed = -time.Since(start) // completed by waitRecorded: minus the start
	p.refused = r.retried
	setLatencies(p, r)
	return r.err
}

// openLoop sends n requests at a fixed rate whatever the answers take;
// latency counts from each request's scheduled time.
func openLoop(n, rate int, addr string, send func(*benchClient, int) (int, error), p *salesPhase) error {
	start := time.Now()
	r := runLoad(context.Background(), loadSpec{addr: addr, clients: 1024, n: n, rate: rate, retry: true}, send)
	p.elapsed = -time.Since(start)
	p.refused = r.retried
	setLatencies(p, r)
	return nil
}

// setLatencies takes the phase's latencies of first answers, whatever
// their status (a refused check is sent again until it is recorded).
func setLatencies(p *salesPhase, r *loadRun) {
	p.ackP50, p.ackP99, p.ackMax = r.percentiles(false)
}

// waitRecorded waits until want sales of the source are stored and
// completes the phase's elapsed time (closedLoop left minus its start).
func waitRecorded(ctx context.Context, count func(context.Context, string) (int, error), source string, want int, timeout time.Duration, p *salesPhase) error {
	start := time.Now().Add(p.elapsed)
	q := "SELECT COUNT(*) FROM sales WHERE source = " + quoteSQL(source)
	deadline := time.Now().Add(timeout)
	for {
		n, err := count(ctx, q)
		if err != nil {
			return err
		}
		if n >= want {
			p.elapsed, p.recorded = time.Since(start), p.checks
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %d of %d sales recorded after %s", p.name, n, want, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// saleCounter runs COUNT and SUM queries on the bench's database.
func saleCounter(ctx context.Context, dbURL string) (func(context.Context, string) (int, error), func(), error) {
	if sqlstore.IsPostgresURL(dbURL) {
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			return nil, nil, err
		}
		return func(ctx context.Context, q string) (int, error) {
			var n int64
			err := conn.QueryRow(ctx, q).Scan(&n)
			return int(n), err
		}, func() { _ = conn.Close(context.Background()) }, nil
	}
	db, err := sql.Open("sqlite", "file:"+dbURL+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, nil, err
	}
	return func(ctx context.Context, q string) (int, error) {
		var n int64
		err := db.QueryRowContext(ctx, q).Scan(&n)
		return int(n), err
	}, func() { _ = db.Close() }, nil
}

func writeSalesTable(w io.Writer, phases []salesPhase, o salesOptions) {
	procs := "serve and work processes"
	if o.processes == 1 {
		procs = "one serve --with-workers process (its CPU is in the serve column)"
	}
	fmt.Fprintf(w, "hub bench sales: %d checks per phase, %d customers, %d in flight, %s, %s\n\n", o.checks, o.customers, o.concurrency, o.db, procs)
	fmt.Fprintln(w, "| path | checks | refused (sent again) | sales/s (to stamps recorded) | ack p50 | ack p99 | ack max | vs direct |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, p := range phases {
		fmt.Fprintf(w, "| %s | %d | %d | %.0f | %s | %s | %s | %.2f× |\n", p.name, p.recorded, p.refused, p.rate(),
			ms(p.ackP50), ms(p.ackP99), ms(p.ackMax), p.rate()/phases[0].rate())
	}
	fmt.Fprint(w, "\nCPU per check (ms), by process, until the workers had done all the phase queued (events dispatched):\n\n")
	fmt.Fprintf(w, "| path | %s | %s | %s | %s | total |\n|---|---:|---:|---:|---:|---:|\n", cpuNames[0], cpuNames[1], cpuNames[2], cpuNames[3])
	for _, p := range phases {
		var total time.Duration
		fmt.Fprintf(w, "| %s |", p.name)
		for _, c := range p.cpu {
			total += c
			fmt.Fprintf(w, " %s |", perOp(c, p.recorded))
		}
		fmt.Fprintf(w, " %s |\n", perOp(total, p.recorded))
	}
	fmt.Fprintf(w, "\nstamps on the cards: %d; stamps the sales added: %d; difference (must be 0): %d\n",
		phases[0].stamped, phases[0].stamped-phases[0].duplicateStampings, phases[0].duplicateStampings)
}
