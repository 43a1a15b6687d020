// Command hub runs the automation and messaging hub of the loyalty platform.
//
//	hub dev                   everything in one process, zero set-up (SQLite, embedded Redis, demo data)
//	hub serve                 the REST API (add --with-workers for workers in the same process)
//	hub work                  asynq workers and the periodic scheduler
//	hub migrate               apply database migrations and exit
//	hub keys create --business NAME --staff LOGIN [--name NAME]
//	                          create an API key (and the business and login if missing); prints the key
//	hub owners invite --business NAME --email EMAIL
//	                          a one-time invitation link to the business console; prints the link
//	hub queues [archived|retry|delete --queue Q (--id ID | --all)]
//	                          the task queues in Redis; list, retry or delete archived tasks
//	hub bench api             load-test the stamp endpoint through the real HTTP stack
//	hub bench console         every console page on a business with 100,000 customers
//	hub bench campaign        one campaign through serve and work processes (see BENCHMARKS.md)
//	hub bench sales           closed checks through the Poster webhook path next to POST /v1/sales
//
// Every setting is a flag and a HUB_* environment variable; `hub <command> -h` lists them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // time zones on machines without a zoneinfo database

	"golang.org/x/sync/errgroup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "hub:", err)
		os.Exit(1)
	}
}

const usage = `usage: hub <command> [flags]

commands:
  dev       run everything in one process on embedded defaults (SQLite, in-memory Redis, demo data)
  serve     run the REST API (--with-workers to also run workers)
  work      run queue workers and the periodic scheduler
  migrate   apply database migrations and exit
  keys      keys create --business NAME --staff LOGIN [--name NAME]
  owners    owners invite --business NAME --email EMAIL: a one-time console invitation link
  queues    queues [archived|retry|delete] --queue Q: the task queues in Redis, and archived tasks
  bench     bench api|webhooks|channels|campaign|sales|console: benchmarks (see BENCHMARKS.md)

Run 'hub <command> -h' for the flags; each flag is also a HUB_* environment variable.
`

// run is main without the process: arguments, output and environment are given.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	switch args[0] {
	case "dev":
		return runDev(ctx, args[1:], stdout, stderr, lookup)
	case "serve":
		return runServe(ctx, args[1:], stderr, lookup)
	case "work":
		return runWork(ctx, args[1:], stderr, lookup)
	case "migrate":
		return runMigrate(ctx, args[1:], stderr, lookup)
	case "keys":
		return runKeys(ctx, args[1:], stdout, stderr, lookup)
	case "owners":
		return runOwners(ctx, args[1:], stdout, stderr, lookup)
	case "queues":
		return runQueues(ctx, args[1:], stdout, stderr, lookup)
	case "bench":
		if len(args) > 1 && args[1] == "channels" {
			return runBenchChannels(ctx, args[2:], stdout, stderr, lookup)
		}
		if len(args) > 1 && args[1] == "sales" {
			return runBenchSales(ctx, args[2:], stdout, stderr, lookup)
		}
		if len(args) > 1 && args[1] == "console" {
			return runBenchConsole(ctx, args[2:], stdout, stderr, lookup)
		}
		if len(args) > 1 && args[1] == "campaign" {
			return runBenchCampaign(ctx, args[2:], stdout, stderr, lookup)
		}
		return runBench(ctx, args[1:], stdout, stderr, lookup)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// setup parses a command's settings, tunes the runtime and opens the app.
func setup(ctx context.Context, name string, args []string, stderr io.Writer, lookup func(string) (string, bool)) (*config, *app, error) {
	cfg, _, err := parseConfig(name, args, lookup, nil)
	if err != nil {
		return nil, nil, err
	}
	cfg.applyRuntime(lookup)
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return nil, nil, err
	}
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	return cfg, a, nil
}

// startBenchHooks starts what the benchmarks ask of a serve or work
// process: a CPU profile (HUB_CPU_PROFILE, their --profile) and the bench
// binary's WhatsApp sink (HUB_BENCH_SINK, hub bench campaign --sink). stop
// ends both.
func (a *app) startBenchHooks(lookup func(string) (string, bool)) (stop func(), err error) {
	stopProfile, err := startCPUProfile(lookup)
	if err != nil {
		return nil, err
	}
	wrap, stopSink, err := startBenchSink(lookup)
	if err != nil {
		stopProfile()
		return nil, err
	}
	a.wrapFactories = wrap
	return func() { stopSink(); stopProfile() }, nil
}

func runServe(ctx context.Context, args []string, stderr io.Writer, lookup func(string) (string, bool)) error {
	cfg, a, err := setup(ctx, "serve", args, stderr, lookup)
	if err != nil {
		return err
	}
	defer a.Close()
	stopBench, err := a.startBenchHooks(lookup)
	if err != nil {
		return err
	}
	defer stopBench()
	ln, err := listen(cfg.Addr)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.serveHTTP(gctx, ln) })
	if cfg.WithWorkers {
		g.Go(func() error { return a.runWorkers(gctx, cfg.Scheduler) })
	}
	return g.Wait()
}

func runWork(ctx context.Context, args []string, stderr io.Writer, lookup func(string) (string, bool)) error {
	cfg, a, err := setup(ctx, "work", args, stderr, lookup)
	if err != nil {
		return err
	}
	defer a.Close()
	stopBench, err := a.startBenchHooks(lookup)
	if err != nil {
		return err
	}
	defer stopBench()
	if cfg.MetricsAddr == "" {
		return a.runWorkers(ctx, cfg.Scheduler)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.serveMetrics(gctx, cfg.MetricsAddr) })
	g.Go(func() error { return a.runWorkers(gctx, cfg.Scheduler) })
	return g.Wait()
}

func runMigrate(ctx context.Context, args []string, stderr io.Writer, lookup func(string) (string, bool)) error {
	cfg, _, err := parseConfig("migrate", args, lookup, nil)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	log.Info("migrations applied", "database", st.Dialect())
	return nil
}

func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: hub keys create --business NAME --staff LOGIN [--name NAME]")
	}
	var business, staff, name string
	cfg, _, err := parseConfig("keys create", args[1:], lookup, func(fs *flag.FlagSet) {
		fs.StringVar(&business, "business", "", "business name (created if missing)")
		fs.StringVar(&staff, "staff", "", "staff login (created if missing)")
		fs.StringVar(&name, "name", "", "key name (default: the login)")
	})
	if err != nil {
		return err
	}
	if business == "" || staff == "" {
		return errors.New("usage: hub keys create --business NAME --staff LOGIN [--name NAME]")
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	svc, err := newOfflineService(st, cfg, stderr)
	if err != nil {
		return err
	}
	var keyName *string
	if name != "" {
		keyName = &name
	}
	k, err := svc.EnsureKey(ctx, business, staff, keyName)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, k.Key)
	return err
}
