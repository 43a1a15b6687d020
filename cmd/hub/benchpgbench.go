package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgbenchResult is one run of the pgbench reference.
type pgbenchResult struct {
	script       string
	clients      int
	duration     time.Duration
	tps          float64
	transactions int
	// clientCPU is pgbench's own CPU time; pgCPU its backends'.
	clientCPU, pgCPU time.Duration
}

// runPgbench runs docs/pgbench-stamp.sql (the stamp transaction as five
// round trips, the reference of BENCHMARKS.md) with pgbench against a
// fresh schema of the bench's database, made with docs/pgbench-setup.sql
// and dropped afterwards, with the closed loop's clients and duration. The
// probe measures the CPU of its PostgreSQL backends.
func runPgbench(ctx context.Context, dbURL string, o benchOptions, probe *cpuProbe) (*pgbenchResult, error) {
	bin, err := exec.LookPath("pgbench")
	if err != nil {
		return nil, err
	}
	setup, err := os.ReadFile(filepath.Join(o.pgbenchDir, "pgbench-setup.sql"))
	if err != nil {
		return nil, fmt.Errorf("%w (run from the repository's root, or give --pgbench-dir)", err)
	}
	script := filepath.Join(o.pgbenchDir, "pgbench-stamp.sql")
	if _, err := os.Stat(script); err != nil {
		return nil, err
	}
	schema := "pgbench_ref_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return nil, err
	}
	defer func() { _, _ = conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") }()
	if err := conn.PgConn().Exec(ctx, "SET search_path = "+schema+"; "+string(setup)+"; ANALYZE").Close(); err != nil {
		return nil, fmt.Errorf("pgbench setup: %w", err)
	}
	cmd := exec.CommandContext(ctx, bin, "-n", "-M", "prepared", "-c", strconv.Itoa(o.clients), "-j", "2",
		"-T", strconv.Itoa(max(int(o.duration.Seconds()), 1)), "-f", script, dbURL)
	cmd.Env = append(os.Environ(), "PGOPTIONS=-c search_path="+schema)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// pgbench's backends start after it does and end before it exits: the
	// probe samples them while it runs (every 100 ms; the CPU of a last
	// stretch shorter than that is missed).
	probe.start(ctx)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case err = <-done:
			break wait
		case <-tick.C:
			probe.sample(ctx)
		}
	}
	use := probe.stop(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgbench: %w: %s", err, out.String())
	}
	tps, n, err := parsePgbench(out.String())
	if err != nil {
		return nil, err
	}
	st := cmd.ProcessState
	return &pgbenchResult{script: filepath.Base(script), clients: o.clients, duration: o.duration, tps: tps, transactions: n,
		clientCPU: st.UserTime() + st.SystemTime(), pgCPU: use.pg}, nil
}

var (
	pgbenchTPS = regexp.MustCompile(`(?m)^tps = ([0-9.]+) \(without initial connection time\)`)
	pgbenchTx  = regexp.MustCompile(`(?m)^number of transactions actually processed: ([0-9]+)`)
)

// parsePgbench reads the tps (without initial connection time) and the
// transactions processed from pgbench's report.
func parsePgbench(out string) (tps float64, n int, err error) {
	m, t := pgbenchTPS.FindStringSubmatch(out), pgbenchTx.FindStringSubmatch(out)
	if m == nil || t == nil {
		return 0, 0, errors.New("pgbench: no tps in its report: " + strings.TrimSpace(out))
	}
	tps, err = strconv.ParseFloat(m[1], 64)
	if err == nil {
		n, err = strconv.Atoi(t[1])
	}
	return tps, n, err
}
