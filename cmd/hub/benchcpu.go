package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/7loc/hub/hub/sqlstore"
)

// cpuProbe measures the CPU time the hub process and the PostgreSQL
// backends serving it use during a run: a number that stays meaningful on a
// busy machine, where throughput does not. The backends are found through
// pg_stat_activity and read from /proc, so they count only when PostgreSQL
// runs on this machine.
type cpuProbe struct {
	dbURL string
	pg    *pgx.Conn
	// redis, when set, reports the Redis server's CPU time (INFO cpu).
	redis func(ctx context.Context) (string, error)
	// at the start of the run
	self    time.Duration
	backend map[int]time.Duration
	rds     time.Duration
	// seen is the last CPU time sampled of each backend during the run
	// (sample): a backend that ends before stop still counts.
	seen map[int]time.Duration
}

// clockTick is the unit of /proc/PID/stat times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// newCPUProbe returns a probe; on a PostgreSQL database it connects to it
// to find the backends. Without /proc or a database connection it measures
// only the hub.
func newCPUProbe(ctx context.Context, dbURL string) *cpuProbe {
	p := &cpuProbe{dbURL: dbURL}
	if sqlstore.IsPostgresURL(dbURL) {
		if c, err := pgx.Connect(ctx, dbURL); err == nil {
			p.pg = c
		}
	}
	return p
}

// analyze refreshes PostgreSQL's planner statistics. A fresh database has
// none: the statements the pool prepared while its tables were empty keep
// plans made for empty tables (a scan of every voucher of the business to
// find one code) until autovacuum analyzes them, a minute or more into the
// run. ANALYZE also makes PostgreSQL plan the prepared statements again.
func (p *cpuProbe) analyze(ctx context.Context) {
	if p.pg != nil {
		_, _ = p.pg.Exec(ctx, "ANALYZE")
	}
}

// close ends the probe's database connection.
func (p *cpuProbe) close() {
	if p.pg != nil {
		_ = p.pg.Close(context.Background())
	}
}

// start records the CPU times at the beginning of the run.
func (p *cpuProbe) start(ctx context.Context) {
	p.self = selfCPU()
	p.backend = p.backends(ctx)
	p.rds = p.redisCPU(ctx)
	p.seen = map[int]time.Duration{}
}

// sample records the CPU time of the backends connected now, so that those
// that end before stop still count.
func (p *cpuProbe) sample(ctx context.Context) {
	for pid, t := range p.backends(ctx) {
		p.seen[pid] = t
	}
}

// cpuUse is the CPU time used during a run by the hub process, the
// PostgreSQL backends and the Redis server (zero when unknown).
type cpuUse struct{ hub, pg, redis time.Duration }

// stop returns the CPU time used since start.
func (p *cpuProbe) stop(ctx context.Context) cpuUse {
	u := cpuUse{hub: selfCPU() - p.self}
	p.sample(ctx)
	for pid, t := range p.seen {
		u.pg += t - p.backend[pid] // a backend started during the run counts from zero
	}
	if r := p.redisCPU(ctx); r > 0 && p.rds > 0 {
		u.redis = r - p.rds
	}
	return u
}

// redisCPU reads the Redis server's user and system CPU time so far.
func (p *cpuProbe) redisCPU(ctx context.Context) time.Duration {
	if p.redis == nil {
		return 0
	}
	info, err := p.redis(ctx)
	if err != nil {
		return 0
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || (k != "used_cpu_sys" && k != "used_cpu_user") {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0
		}
		total += f
	}
	return time.Duration(total * float64(time.Second))
}

// backends returns the CPU time so far of each backend connected to the
// database, but the probe's own.
func (p *cpuProbe) backends(ctx context.Context) map[int]time.Duration {
	out := map[int]time.Duration{}
	if p.pg == nil {
		return out
	}
	rows, err := p.pg.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
	if err != nil {
		return out
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return out
	}
	for _, pid := range pids {
		if t, ok := procCPU(int(pid)); ok {
			out[int(pid)] = t
		}
	}
	return out
}

// selfCPU is the user and system CPU time of this process so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU reads a process's user and system CPU time from /proc.
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	// After the name: state is field 3; utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * clockTick, true
}

// perOp formats CPU time per operation in milliseconds.
func perOp(d time.Duration, n int) string {
	if n == 0 || d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f ms", float64(d.Microseconds())/1000/float64(n))
}

// startCPUProfile writes a CPU profile to the file HUB_CPU_PROFILE names,
// if any, until the returned function is called. `hub bench campaign
// --profile` sets it for `hub work`.
func startCPUProfile(lookup func(string) (string, bool)) (func(), error) {
	path, _ := lookup("HUB_CPU_PROFILE")
	return cpuProfile(path)
}

// cpuProfile writes a CPU profile of this process to path until the
// returned function is called; an empty path profiles nothing.
func cpuProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
