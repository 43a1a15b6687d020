package ratelimit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/7loc/hub/hub/ratelimit"
	"github.com/7loc/hub/hub/redistest"
)

func TestBurstThenRefuseWithRetryAfter(t *testing.T) {
	rdb, _ := redistest.Client(t)
	l := ratelimit.New(rdb, 2, 3, redistest.Prefix(t, rdb))
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		ok, limit, remaining, _, err := l.Allow(ctx, "key_a")
		if err != nil || !ok || limit != 3 || remaining != 2-i {
			t.Fatalf("request %d: allowed=%v limit=%d remaining=%d err=%v", i, ok, limit, remaining, err)
		}
	}
	ok, _, _, retry, err := l.Allow(ctx, "key_a")
	if err != nil || ok || retry <= 0 || retry > time.Second {
		t.Fatalf("past the burst: allowed=%v retry=%v err=%v; want refused with 0 < retry <= 1s at 2/s", ok, retry, err)
	}
	if ok, _, _, _, err := l.Allow(ctx, "key_b"); err != nil || !ok {
		t.Errorf("another key shares the budget: allowed=%v err=%v", ok, err)
	}
	time.Sleep(retry + 50*time.Millisecond)
	if ok, _, _, _, err := l.Allow(ctx, "key_a"); err != nil || !ok {
		t.Errorf("after Retry-After: allowed=%v err=%v", ok, err)
	}
}

// TestRedisAwayFallsBackToThisProcess: while Redis is away, a key keeps its
// rate and burst in this process (a till keeps stamping); when Redis is
// back, the budget is Redis's again.
func TestRedisAwayFallsBackToThisProcess(t *testing.T) {
	srv := redistest.StartServer(t, "")
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	l := ratelimit.New(rdb, 5, 4, "away")
	ctx := context.Background()
	if ok, _, _, _, err := l.Allow(ctx, "key_a"); err != nil || !ok || l.Fallbacks() != 0 {
		t.Fatalf("with Redis: allowed=%v err=%v fallbacks=%d", ok, err, l.Fallbacks())
	}
	srv.Stop()
	allowed := 0
	var retry time.Duration
	for i := 0; i < 6; i++ {
		ok, _, _, r, err := l.Allow(ctx, "key_a")
		if err != nil {
			t.Fatalf("request %d with Redis away: %v", i, err)
		}
		if ok {
			allowed++
		} else {
			retry = r
		}
	}
	// The burst of 4, and at most one more refilled (5/s) while the first
	// call found Redis gone; then refused with a Retry-After.
	if allowed < 4 || allowed > 5 || retry <= 0 || retry > time.Second || l.Fallbacks() != 6 {
		t.Errorf("with Redis away: %d of 6 allowed (want the burst of 4, or 5), retry %v, fallbacks %d", allowed, retry, l.Fallbacks())
	}
	redistest.StartServer(t, srv.Addr)
	time.Sleep(ratelimit.RedisRetryAfter + 50*time.Millisecond)
	before := l.Fallbacks()
	for i := 0; i < 4; i++ {
		if ok, _, _, _, err := l.Allow(ctx, "key_c"); err != nil || !ok {
			t.Fatalf("after Redis came back: allowed=%v err=%v", ok, err)
		}
	}
	if l.Fallbacks() != before {
		t.Errorf("after Redis came back the limiter still decided alone (%d fallbacks more)", l.Fallbacks()-before)
	}
	if n, err := rdb.Keys(ctx, "*away:ratelimit:key_c*").Result(); err != nil || len(n) == 0 {
		t.Errorf("no budget in Redis after it came back: %v, %v", n, err)
	}
}

// countCommands counts the commands the client sends to Redis.
type countCommands struct{ n atomic.Int64 }

func (c *countCommands) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *countCommands) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}
func (c *countCommands) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func TestBusyKeyTakesTokensInBatches(t *testing.T) {
	rdb, _ := redistest.Client(t)
	var calls countCommands
	rdb.AddHook(&calls)
	l := ratelimit.New(rdb, 1_000_000, 1_000_000, redistest.Prefix(t, rdb))
	ctx := context.Background()
	const requests = 2000
	for i := 0; i < requests; i++ {
		if ok, _, _, _, err := l.Allow(ctx, "busy"); err != nil || !ok {
			t.Fatalf("request %d: allowed=%v err=%v", i, ok, err)
		}
	}
	// A key used back to back takes up to 64 tokens per call; one Redis
	// call per request would be 2000.
	if n := calls.n.Load(); n > requests/10 {
		t.Errorf("%d requests made %d Redis calls; want at most %d", requests, n, requests/10)
	}
}

func TestLeasingKeepsTheBurstExact(t *testing.T) {
	rdb, _ := redistest.Client(t)
	l := ratelimit.New(rdb, 1, 100, redistest.Prefix(t, rdb))
	ctx := context.Background()
	for i := 0; i < 100; i++ {
		ok, limit, remaining, _, err := l.Allow(ctx, "k")
		if err != nil || !ok || limit != 100 {
			t.Fatalf("request %d: allowed=%v limit=%d err=%v", i, ok, limit, err)
		}
		// Remaining counts the tokens this process holds: it goes down by one
		// per request, give or take the refill (1/s) during the loop.
		if want := 99 - i; remaining > want+1 || remaining < want {
			t.Fatalf("request %d: remaining %d, want %d", i, remaining, want)
		}
	}
	ok, _, _, retry, err := l.Allow(ctx, "k")
	if err != nil || ok || retry <= 0 || retry > time.Second {
		t.Fatalf("request 101: allowed=%v retry=%v err=%v; want refused within 1s", ok, retry, err)
	}
}

func TestProcessesShareOneBudget(t *testing.T) {
	rdb, _ := redistest.Client(t)
	prefix := redistest.Prefix(t, rdb)
	const rate, burst = 100, 100
	limiters := []*ratelimit.Limiter{ratelimit.New(rdb, rate, burst, prefix), ratelimit.New(rdb, rate, burst, prefix)}
	ctx := context.Background()
	var allowed atomic.Int64
	start := time.Now()
	const run = 300 * time.Millisecond
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(l *ratelimit.Limiter) {
			defer wg.Done()
			for time.Since(start) < run {
				ok, _, _, _, err := l.Allow(ctx, "shared")
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					allowed.Add(1)
				}
			}
		}(limiters[g%2])
	}
	wg.Wait()
	elapsed := time.Since(start)
	// Redis grants at most burst + rate*elapsed; each process may hand out
	// tokens up to 50 ms after it took them, which the grant already counts.
	most := burst + int64(rate*elapsed.Seconds()) + 1
	if n := allowed.Load(); n > most || n < burst {
		t.Errorf("two processes let %d requests through in %s; want between %d and %d", n, elapsed, burst, most)
	}
}
