//go:build bench

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hibiken/asynq"

	"github.com/7loc/hub/channels/whatsapp/whatsappfake"
	"github.com/7loc/hub/hub"
)

// campaignOptions configures `hub bench campaign`.
type campaignOptions struct {
	recipients int
	db         string
	redis      string
	workers    int
	oneoffRate int
	profile    string
	// hub is the binary run as `hub serve` and `hub work` (default: this one).
	hub     string
	timeout time.Duration
	// others is how many other businesses get customers (and a WhatsApp
	// configuration with the default limits) besides the two of the run.
	others int
	// sink sends WhatsApp to the in-process sink of each hub process
	// (HUB_BENCH_SINK) instead of the fake over HTTP.
	sink bool
}

// procUse is what a finished subprocess used.
type procUse struct {
	name    string
	peakRSS int64 // bytes
	cpu     time.Duration
}

// campaignResult is one measured campaign run.
type campaignResult struct {
	recipients int
	db         string
	// finish is from the send request to the campaign seen as sent.
	finish time.Duration
	// delivered is how many recipients the fake got at least one message
	// for; duplicates counts the messages beyond the first per recipient.
	delivered, duplicates int
	// final is the campaign's recipients in a final state (sent, failed,
	// skipped) by its stats; status is the campaign's status at the end.
	final  int
	status string
	stats  hub.CampaignStats
	// raw is raw asynq no-op tasks per second on the same Redis (rawN tasks).
	raw  float64
	rawN int
	// procs are the serve and work processes.
	procs []procUse
	// oneoffs sent, arrived, and their POST-to-arrival latencies.
	oneoffs, oneoffArrived int
	oneP50, oneP99, oneMax time.Duration
	// postP50 and postP99 are the one-off POSTs' own latencies, to their
	// 202: the API's share of the one-offs' latency.
	postP50, postP99 time.Duration
	oneoffErrors     int
	// cpu is the PostgreSQL backends' and Redis's CPU during the campaign.
	cpu              cpuUse
	loadBefore, load string
	benchRSS         string
	// rawCPU is the CPU raw asynq took, the bench process's and Redis's.
	rawCPU cpuUse
	// sink says the messages went to the hub processes' in-process sinks;
	// fakeCalls is how many calls the WhatsApp fake over HTTP answered.
	sink      bool
	fakeCalls int
}

func (r *campaignResult) rate() float64 { return float64(r.delivered) / r.finish.Seconds() }

// runBenchCampaign sends one campaign to many customers through separate
// `hub serve` and `hub work` processes to the WhatsApp fake with no
// provider limit, while another business sends one-off messages, and
// compares it with raw asynq on the same Redis. It prints a Markdown table.
func runBenchCampaign(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	var o campaignOptions
	cfg, _, err := parseConfig("bench campaign", args, lookup, func(fs *flag.FlagSet) {
		fs.IntVar(&o.recipients, "recipients", 100_000, "customers of the campaign's business (all reachable on WhatsApp)")
		fs.StringVar(&o.db, "db", "sqlite", "sqlite (a temporary file) or postgres (HUB_DATABASE_URL, a fresh database)")
		fs.StringVar(&o.redis, "redis", "", "Redis URL (default HUB_REDIS_URL; without either, the embedded in-memory Redis)")
		fs.IntVar(&o.workers, "workers", -1, "`hub work` processes; 0 runs the workers in the serve process (serve --with-workers: how the hub runs on SQLite, one process per SQLite file); default 0 on SQLite, 1 on PostgreSQL")
		fs.IntVar(&o.oneoffRate, "oneoff-rate", 5, "one-off POST /v1/messages per second from a second business during the campaign (open loop; 0: none)")
		fs.StringVar(&o.profile, "profile", "", "write a CPU profile of the (first) `hub work` process to this file")
		fs.StringVar(&o.hub, "hub", "", "hub binary to run as serve and work (default: this executable)")
		fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "give up on a campaign not sent by then")
		fs.IntVar(&o.others, "other-businesses", 3, "other businesses with customers in the same database")
		fs.BoolVar(&o.sink, "sink", false, "send WhatsApp to an in-process sink in each hub process (same rate-limit budgets, no HTTP exchange) instead of the WhatsApp fake over HTTP: the campaign engine without the provider's wire")
	})
	if err != nil {
		return err
	}
	if err := benchTargets(cfg, "bench campaign", o.db, o.redis, &o.hub); err != nil {
		return err
	}
	if o.workers < 0 {
		o.workers = 1
		if o.db == "sqlite" {
			o.workers = 0
		}
	}
	if o.recipients < 1 {
		return errors.New("--recipients must be at least 1")
	}
	cfg.applyRuntime(lookup)
	r, err := benchCampaign(ctx, cfg, o, stderr)
	if err != nil {
		return err
	}
	writeCampaignTable(stdout, r, o, cfg.Concurrency)
	return nil
}

// benchCampaign runs the campaign and measures it.
func benchCampaign(ctx context.Context, cfg *config, o campaignOptions, stderr io.Writer) (*campaignResult, error) {
	res := &campaignResult{recipients: o.recipients, db: o.db, loadBefore: loadAvg()}
	fake := whatsappfake.New(whatsappfake.Config{})
	defer fake.Close()
	cfg.WhatsAppURL = fake.URL
	if cfg.SecretKey == "" {
		key := make([]byte, hub.SecretKeySize)
		for i := range key {
			key[i] = byte(i*13 + 1)
		}
		cfg.SecretKey = base64.StdEncoding.EncodeToString(key)
	}
	cfg.LogLevel, cfg.LogFormat, cfg.Migrate = "warn", "text", true
	a, cleanup, err := benchApp(ctx, cfg, stderr)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	defer func() {
		q := a.queues
		_ = a.rdb.SRem(context.Background(), "asynq:queues", q.Messages, q.Campaigns).Err()
	}()

	// The businesses: the campaign's, the one sending one-offs, and others
	// with data; every one with WhatsApp on the fake. Only the campaign's
	// has no provider limit to speak of; the others keep the defaults.
	type business struct {
		id, key string
		phones  string // fmt pattern of their customers' numbers
		n       int
	}
	mk := func(name, pattern string, n int, rate string) (business, error) {
		k, err := a.svc.EnsureKey(ctx, name+" "+cfg.QueuePrefix, "bench", nil)
		if err != nil {
			return business{}, err
		}
		pr, err := a.svc.Authenticate(ctx, k.Key)
		if err != nil {
			return business{}, err
		}
		fc := fake.Config()
		settings := map[string]any{"phone_number_id": fc.PhoneNumberID, "access_token": fc.AccessToken,
			"app_secret": fc.AppSecret, "verify_token": fc.VerifyToken, "template_name": "bench_offer"}
		if rate != "" {
			settings["rate_per_second"] = rate
		}
		if _, err := a.svc.PutChannelConfig(ctx, pr.Business.ID, hub.ChannelWhatsApp, settings); err != nil {
			return business{}, err
		}
		return business{id: pr.Business.ID, key: k.Key, phones: pattern, n: n}, nil
	}
	camp, err := mk("Campaign", "+1415%07d", o.recipients, "1000000")
	if err != nil {
		return nil, err
	}
	oneoffs := max(1000, o.oneoffRate*int(o.timeout.Seconds()))
	other, err := mk("One-off", "+1212%07d", min(oneoffs, 9_999_999), "")
	if err != nil {
		return nil, err
	}
	tenants := []business{camp, other}
	for i := range o.others {
		b, err := mk(fmt.Sprintf("Other %d", i), "+1646%07d", max(100, o.recipients/10), "")
		if err != nil {
			return nil, err
		}
		tenants = append(tenants, b)
	}
	seedStart := time.Now()
	oneoffIDs := map[string][]string{}
	for _, b := range tenants {
		ids, err := seedCustomers(ctx, cfg.DatabaseURL, b.id, b.phones, b.n)
		if err != nil {
			return nil, fmt.Errorf("seed customers: %w", err)
		}
		oneoffIDs[b.id] = ids
	}
	fmt.Fprintf(stderr, "bench: seeded %d customers in %d businesses in %s\n", func() int {
		n := 0
		for _, b := range tenants {
			n += b.n
		}
		return n
	}(), len(tenants), time.Since(seedStart).Round(time.Millisecond))
	probe := newCPUProbe(ctx, cfg.DatabaseURL)
	probe.redis = func(ctx context.Context) (string, error) { return a.rdb.Info(ctx, "cpu").Result() }
	defer probe.close()
	probe.analyze(ctx)

	// The reference: raw asynq with the workers' total concurrency.
	res.rawN = max(8, min(o.recipients, 100_000)/8*8)
	probe.start(ctx)
	if res.raw, err = rawAsynq(ctx, a, cfg.QueuePrefix+":raw", cfg.Concurrency*max(o.workers, 1), res.rawN); err != nil {
		return nil, fmt.Errorf("raw asynq: %w", err)
	}
	res.rawCPU = probe.stop(ctx)

	// The processes.
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), "HUB_DATABASE_URL="+cfg.DatabaseURL, "HUB_REDIS_URL="+cfg.RedisURL,
		"HUB_QUEUE_PREFIX="+cfg.QueuePrefix, "HUB_SECRET_KEY="+cfg.SecretKey, "HUB_WHATSAPP_API_URL="+fake.URL,
		"HUB_MIGRATE=false", "HUB_LOG_LEVEL=warn", "HUB_LOG_FORMAT=text",
		"HUB_WORKER_CONCURRENCY="+strconv.Itoa(cfg.Concurrency), "HUB_CPU_PROFILE=")
	var procs []*exec.Cmd
	var names, sinks []string
	sinkDir, err := os.MkdirTemp("", "hub-bench-sink-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(sinkDir)
	startProc := func(name string, extra ...string) error {
		cmd := exec.Command(o.hub, strings.Fields(name)[0])
		cmd.Env, cmd.Stdout, cmd.Stderr = append(slices.Clone(env), extra...), stderr, stderr
		if o.sink {
			path := filepath.Join(sinkDir, strings.ReplaceAll(name, " ", "-")+".log")
			cmd.Env, sinks = append(cmd.Env, "HUB_BENCH_SINK="+path), append(sinks, path)
		}
		if err := cmd.Start(); err != nil {
			return err
		}
		procs, names = append(procs, cmd), append(names, name)
		return nil
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		// Peak RSS is each process's VmHWM, read before it is told to stop.
		// wait4's ru_maxrss would not do: Linux counts in it the high-water
		// mark of the memory the child had before exec, which after Go's
		// vfork-style spawn is the bench's own (at 1,000,000 recipients,
		// 514 MiB "for" both serve and work, which never held 125).
		hwm := make([]int64, len(procs))
		for i, p := range procs {
			hwm[i] = max(vmHWM(strconv.Itoa(p.Process.Pid)), 0) << 10
		}
		for _, p := range procs {
			_ = p.Process.Signal(syscall.SIGTERM)
		}
		for i, p := range procs {
			done := make(chan struct{})
			go func() { _ = p.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				_ = p.Process.Kill()
				<-done
			}
			if st := p.ProcessState; st != nil {
				u := procUse{name: names[i], cpu: st.UserTime() + st.SystemTime(), peakRSS: hwm[i]}
				res.procs = append(res.procs, u)
			}
		}
	}
	defer stop()
	if o.workers == 0 {
		extra := []string{"HUB_ADDR=" + addr, "HUB_WITH_WORKERS=true"}
		if o.profile != "" {
			extra = append(extra, "HUB_CPU_PROFILE="+o.profile)
		}
		if err := startProc("serve", extra...); err != nil {
			return nil, err
		}
	} else if err := startProc("serve", "HUB_ADDR="+addr, "HUB_WITH_WORKERS=false"); err != nil {
		return nil, err
	}
	for i := range o.workers {
		var extra []string
		if o.profile != "" {
			p := o.profile
			if i > 0 {
				p += "." + strconv.Itoa(i+1)
			}
			extra = append(extra, "HUB_CPU_PROFILE="+p)
		}
		if err := startProc("work "+strconv.Itoa(i+1), extra...); err != nil {
			return nil, err
		}
	}
	// arrivals are the messages the provider got so far: the fake's, or
	// the sinks' (as far as flushed).
	arrivals := func() []arrival {
		if !o.sink {
			var out []arrival
			for _, m := range fake.Messages() {
				out = append(out, arrival{to: m.To, at: m.At})
			}
			return out
		}
		var out []arrival
		for _, path := range sinks {
			a, err := readSink(path)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(stderr, "bench: read sink: %v\n", err)
			}
			out = append(out, a...)
		}
		return out
	}
	base := "http://" + addr
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
	if err := waitServing(ctx, client, base, a, procs, max(o.workers, 1)); err != nil {
		return nil, err
	}

	// The campaign.
	call := func(method, path, key string, body any, out any) (int, error) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequestWithContext(ctx, method, base+path, rd)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		if out != nil {
			_ = json.NewDecoder(resp.Body).Decode(out)
		} else {
			_, _ = io.Copy(io.Discard, resp.Body)
		}
		return resp.StatusCode, nil
	}
	var cmp hub.Campaign
	if st, err := call("POST", "/v1/campaigns", camp.key, map[string]any{"name": "Bench", "audience": map[string]any{"all": []any{}},
		"channels": []string{hub.ChannelWhatsApp}, "message": map[string]any{"variants": []map[string]any{
			{"language": "en", "kind": hub.KindText, "text": "Double stamps all week at {{ business.name }}!"}}}}, &cmp); err != nil || st != 201 {
		return nil, fmt.Errorf("create campaign: %d %v", st, err)
	}
	probe.start(ctx)
	start := time.Now()
	if st, err := call("POST", "/v1/campaigns/"+cmp.ID+"/send", camp.key, nil, &cmp); err != nil || st != 202 {
		return nil, fmt.Errorf("send campaign: %d %v", st, err)
	}

	// One-offs from the other business, open loop, until the campaign ends.
	type sent struct {
		to       string
		at       time.Time
		answered time.Duration // the POST's own latency, to its 202
	}
	var mu sync.Mutex
	var posted []sent
	oneCtx, stopOneoffs := context.WithCancel(ctx)
	var oneWG sync.WaitGroup
	if o.oneoffRate > 0 {
		oneWG.Add(1)
		go func() {
			defer oneWG.Done()
			interval := time.Second / time.Duration(o.oneoffRate)
			next := time.Now()
			ids := oneoffIDs[other.id]
			for i := 0; i < len(ids); i++ {
				next = next.Add(interval)
				select {
				case <-oneCtx.Done():
					return
				case <-time.After(time.Until(next)):
				}
				oneWG.Add(1)
				go func() {
					defer oneWG.Done()
					t0 := time.Now()
					st, err := call("POST", "/v1/messages", other.key, map[string]any{"customer_id": ids[i],
						"text": "Your table is ready", "transactional": true}, nil)
					mu.Lock()
					defer mu.Unlock()
					if err != nil || st != 202 {
						res.oneoffErrors++
						return
					}
					posted = append(posted, sent{to: strings.TrimPrefix(fmt.Sprintf(other.phones, i), "+"), at: t0, answered: time.Since(t0)})
				}()
			}
		}()
	}

	// Wait for the campaign to be sent.
	deadline := start.Add(o.timeout)
	lastReport := start
	for {
		if st, err := call("GET", "/v1/campaigns/"+cmp.ID, camp.key, nil, &cmp); err != nil || st != 200 {
			fmt.Fprintf(stderr, "bench: GET campaign: %d %v\n", st, err)
		}
		if cmp.Status == hub.CampaignStatusSent || cmp.Status == hub.CampaignStatusCancelled {
			break
		}
		for i, p := range procs {
			if p.ProcessState != nil || processGone(p) {
				stopOneoffs()
				return nil, fmt.Errorf("%s exited during the campaign", names[i])
			}
		}
		if time.Now().After(deadline) {
			stopOneoffs()
			return nil, fmt.Errorf("campaign still %s after %s (the provider got %d messages)", cmp.Status, o.timeout, len(arrivals()))
		}
		if time.Since(lastReport) >= 10*time.Second {
			lastReport = time.Now()
			fmt.Fprintf(stderr, "bench: %s: the provider got %d messages; load %s\n", time.Since(start).Round(time.Second), len(arrivals()), loadAvg())
		}
		select {
		case <-ctx.Done():
			stopOneoffs()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	res.finish = time.Since(start)
	res.cpu = probe.stop(ctx)
	res.load = loadAvg()
	res.status, res.stats = cmp.Status, cmp.Stats
	res.final = cmp.Stats.Sent + cmp.Stats.Failed + cmp.Stats.SkippedTotal()
	stopOneoffs()
	oneWG.Wait()

	// One-offs still on their way get 10 s.
	want := map[string]time.Time{}
	var answers []time.Duration
	for _, s := range posted {
		want[s.to] = s.at
		answers = append(answers, s.answered)
	}
	if len(answers) > 0 {
		slices.Sort(answers)
		res.postP50, res.postP99 = answers[len(answers)/2], answers[min(len(answers)-1, len(answers)*99/100)]
	}
	var lats []time.Duration
	for wait := time.Now().Add(10 * time.Second); ; {
		lats = lats[:0]
		for _, m := range arrivals() {
			if t0, ok := want[m.to]; ok {
				lats = append(lats, m.at.Sub(t0))
			}
		}
		if len(lats) >= len(want) || time.Now().After(wait) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	stop()
	res.oneoffs, res.oneoffArrived = len(want), len(lats)
	if len(lats) > 0 {
		slices.Sort(lats)
		res.oneP50, res.oneP99, res.oneMax = lats[len(lats)/2], lats[min(len(lats)-1, len(lats)*99/100)], lats[len(lats)-1]
	}
	// Duplicates: messages to a campaign recipient beyond the first.
	perTo := make(map[string]int, o.recipients)
	prefix := strings.TrimPrefix(strings.SplitN(camp.phones, "%", 2)[0], "+")
	for _, m := range arrivals() {
		if strings.HasPrefix(m.to, prefix) && len(m.to) == len(prefix)+7 {
			perTo[m.to]++
		}
	}
	for _, n := range perTo {
		res.delivered++
		res.duplicates += n - 1
	}
	res.benchRSS = peakRSS()
	res.sink, res.fakeCalls = o.sink, fake.Calls()
	return res, nil
}

// waitServing waits until the API answers /readyz and every worker process
// has registered with asynq.
func waitServing(ctx context.Context, client *http.Client, base string, a *app, procs []*exec.Cmd, workers int) error {
	insp := asynq.NewInspectorFromRedisClient(a.rdb)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ready := false
		if resp, err := client.Get(base + "/readyz"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			ready = resp.StatusCode == 200
		}
		registered := 0
		workerProcs := procs[1:]
		if len(procs) == 1 {
			workerProcs = procs // serve --with-workers
		}
		if servers, err := insp.Servers(); err == nil {
			for _, s := range servers {
				for _, p := range workerProcs {
					if s.PID == p.Process.Pid {
						registered++
					}
				}
			}
		}
		if ready && registered >= workers {
			return nil
		}
		for _, p := range procs {
			if processGone(p) {
				return errors.New("a hub process exited while starting (see its log above)")
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes not ready after 60 s (API ready %v, %d of %d workers registered)", ready, registered, workers)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// processGone reports whether a started process has exited (a zombie
// waiting for Wait counts as exited).
func processGone(p *exec.Cmd) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.Process.Pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && len(s) > i+2 && s[i+2] == 'Z'
}

// freeAddr returns a loopback address with a free port.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// mib formats bytes in MiB.
func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// writeCampaignTable prints the run as a Markdown table and notes.
func writeCampaignTable(w io.Writer, r *campaignResult, o campaignOptions, concurrency int) {
	fmt.Fprintf(w, "database=%s workers=%d (concurrency %d each) one-offs=%d/s load before %s, after %s\n\n",
		r.db, o.workers, concurrency, o.oneoffRate, r.loadBefore, r.load)
	var rss []string
	var workCPU time.Duration
	for _, p := range r.procs {
		rss = append(rss, p.name+" "+mib(p.peakRSS))
		if strings.HasPrefix(p.name, "work") || o.workers == 0 {
			workCPU += p.cpu // with the workers in serve, its whole CPU
		}
	}
	fmt.Fprintln(w, "| recipients | db | time to finish | messages/s | raw asynq no-op tasks/s | ratio | peak RSS | duplicates | final | one-off p50 | one-off p99 | one-off max |")
	fmt.Fprintln(w, "|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|")
	fmt.Fprintf(w, "| %d | %s | %.1f s | %.0f | %.0f | %.2f | %s | %d | %d | %s | %s | %s |\n",
		r.recipients, r.db, r.finish.Seconds(), r.rate(), r.raw, r.rate()/r.raw, strings.Join(rss, ", "),
		r.duplicates, r.final, ms(r.oneP50), ms(r.oneP99), ms(r.oneMax))
	fmt.Fprintf(w, "\ncampaign %s: audience %d, sent %d, failed %d, skipped %d; the provider (fake or sink) got %d recipients at least once\n",
		r.status, r.stats.Audience, r.stats.Sent, r.stats.Failed, r.stats.SkippedTotal(), r.delivered)
	provider := "the WhatsApp fake over HTTP"
	if r.sink {
		provider = "an in-process sink in each hub process (--sink; WhatsApp's rate-limit budgets, no HTTP exchange)"
	}
	fmt.Fprintf(w, "provider: %s; the WhatsApp fake answered %d calls\n", provider, r.fakeCalls)
	fmt.Fprintf(w, "raw asynq reference: %d no-op tasks, enqueued by 8 goroutines and processed with concurrency %d in the bench process\n",
		r.rawN, concurrency*max(o.workers, 1))
	fmt.Fprintf(w, "one-offs: %d posted, %d arrived, %d failed to post; the POST's own latency (to its 202) p50 %s, p99 %s\n",
		r.oneoffs, r.oneoffArrived, r.oneoffErrors, ms(r.postP50), ms(r.postP99))
	workers := "hub work"
	if o.workers == 0 {
		workers = "hub serve --with-workers (API and workers)"
	}
	fmt.Fprintf(w, "CPU per campaign message: %s %s, PostgreSQL backends %s, Redis %s\n", workers,
		perOp(workCPU, r.delivered), perOp(r.cpu.pg, r.delivered), perOp(r.cpu.redis, r.delivered))
	fmt.Fprintf(w, "CPU per campaign message of the bench process (the fake provider, one-offs, status polls): %s\n",
		perOp(r.cpu.hub, r.delivered))
	fmt.Fprintf(w, "CPU per raw asynq task: the bench process %s, Redis %s\n",
		perOp(r.rawCPU.hub, r.rawN), perOp(r.rawCPU.redis, r.rawN))
	fmt.Fprintf(w, "peak RSS of the bench process (fake, load generator, raw asynq): %s\n", r.benchRSS)
}
