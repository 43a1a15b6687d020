package ratelimit

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// RedisRetryAfter is how long the limiter keeps to local budgets after a
// Redis call failed, before it asks Redis again.
const RedisRetryAfter = time.Second

// leaseWindow is how much of a busy key's traffic one Redis call takes
// tokens for, and how long tokens taken but not used yet stay valid.
const leaseWindow = 50 * time.Millisecond

// maxLease bounds the tokens one call takes, whatever the burst.
const maxLease = 64

// Limiter allows Rate requests per second per key with bursts of Burst.
//
// Redis holds each key's budget (GCRA through redis_rate), shared by every
// API process. A key that is busy in this process does not cost a Redis
// round trip per request: the process takes tokens for about leaseWindow of
// the key's recent traffic in one call (at most a tenth of the burst, and
// never more than Redis grants), hands them out locally, and drops what is
// left after leaseWindow. A quiet key takes one token per request, exactly as
// without leasing. So a key can be let through at most min(burst/10,
// rate*leaseWindow) requests early, and a key running at its limit across
// several processes can be refused a little early (tokens a process took but
// did not use in time).
type Limiter struct {
	limiter *redis_rate.Limiter
	limit   redis_rate.Limit
	prefix  string
	lease   int // the most tokens one Redis call takes
	// fallbacks counts the requests decided by the local budget while
	// Redis could not answer.
	fallbacks atomic.Int64
	// redisDownUntil (unix nanoseconds) skips Redis for a while after it
	// failed, so that an outage does not cost every request a dial.
	redisDownUntil atomic.Int64

	mu   sync.Mutex
	keys map[string]*keyLease
	ops  int // Allow calls since the last sweep of idle keys
}

// keyLease is what this process holds of one key's budget.
type keyLease struct {
	// local is the key's budget in this process alone, used while Redis
	// cannot answer (made on first need).
	local     *rate.Limiter
	mu        sync.Mutex // held across the Redis call: one lease at a time per key
	tokens    int        // taken from Redis, not handed out yet
	remaining int        // what Redis said remained after the last lease
	expires   time.Time  // tokens are dropped after this
	since     time.Time  // when the last lease was taken
	used      int        // tokens handed out since then
	lastUse   time.Time
}

// New returns a limiter of rate requests per second with the burst; keys are
// stored in Redis under prefix ("hub" when empty).
func New(rdb redis.UniversalClient, rate, burst int, prefix string) *Limiter {
	if prefix == "" {
		prefix = "hub"
	}
	if burst < 1 {
		burst = 1
	}
	return &Limiter{
		limiter: redis_rate.NewLimiter(rdb),
		limit:   redis_rate.Limit{Rate: rate, Burst: burst, Period: time.Second},
		prefix:  prefix + ":ratelimit:",
		lease:   min(maxLease, max(1, burst/10)),
		keys:    map[string]*keyLease{},
	}
}

// Allow takes one request from key's budget. It returns whether the request
// may go ahead, the burst capacity, what remains of it, and how long to wait
// when refused.
//
// While Redis cannot answer, the key's budget is kept in this process alone,
// at the same rate and burst: a till at checkout keeps stamping through a
// Redis outage (each API process then allows the full rate on its own). The
// error is returned only when ctx itself ended.
func (l *Limiter) Allow(ctx context.Context, key string) (allowed bool, limit, remaining int, retryAfter time.Duration, err error) {
	k := l.keyLease(key)
	k.mu.Lock()
	defer k.mu.Unlock()
	now := time.Now()
	k.lastUse = now
	if k.tokens > 0 && now.Before(k.expires) {
		k.tokens--
		k.used++
		return true, l.limit.Burst, k.remaining + k.tokens, 0, nil
	}
	if now.UnixNano() < l.redisDownUntil.Load() {
		return l.allowLocally(k, now)
	}
	n := l.leaseSize(k, now)
	res, err := l.limiter.AllowAtMost(ctx, l.prefix+key, l.limit, n)
	if err != nil {
		if ctx.Err() != nil {
			return false, 0, 0, 0, err
		}
		l.redisDownUntil.Store(time.Now().Add(RedisRetryAfter).UnixNano())
		return l.allowLocally(k, now)
	}
	k.since, k.used = now, 0
	if res.Allowed == 0 {
		k.tokens = 0
		return false, l.limit.Burst, res.Remaining, res.RetryAfter, nil
	}
	k.tokens, k.remaining, k.expires, k.used = res.Allowed-1, res.Remaining, now.Add(leaseWindow), 1
	return true, l.limit.Burst, k.remaining + k.tokens, 0, nil
}

// allowLocally decides a request from the key's budget in this process.
func (l *Limiter) allowLocally(k *keyLease, now time.Time) (bool, int, int, time.Duration, error) {
	l.fallbacks.Add(1)
	if k.local == nil {
		k.local = rate.NewLimiter(rate.Limit(float64(l.limit.Rate)/l.limit.Period.Seconds()), l.limit.Burst)
	}
	k.tokens = 0
	r := k.local.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, l.limit.Burst, 0, d, nil
	}
	return true, l.limit.Burst, int(k.local.TokensAt(now)), 0, nil
}

// Fallbacks is how many requests were decided in this process alone because
// Redis could not answer.
func (l *Limiter) Fallbacks() int64 { return l.fallbacks.Load() }

// leaseSize is how many tokens to take: what the key used in the last lease
// scaled to leaseWindow, between 1 and l.lease. A key seen for the first
// time, or not for a while, takes one.
func (l *Limiter) leaseSize(k *keyLease, now time.Time) int {
	if l.lease == 1 || k.since.IsZero() {
		return 1
	}
	elapsed := now.Sub(k.since)
	if elapsed <= 0 {
		elapsed = time.Microsecond
	}
	n := int(math.Ceil(float64(k.used) * float64(leaseWindow) / float64(elapsed)))
	return min(l.lease, max(1, n))
}

// keyLease returns the key's lease, making one on first use; now and then it
// forgets keys not used for a minute.
func (l *Limiter) keyLease(key string) *keyLease {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ops++; l.ops >= 4096 {
		l.ops = 0
		cutoff := time.Now().Add(-time.Minute)
		for name, k := range l.keys {
			if k.mu.TryLock() {
				if k.lastUse.Before(cutoff) {
					delete(l.keys, name)
				}
				k.mu.Unlock()
			}
		}
	}
	k, ok := l.keys[key]
	if !ok {
		k = &keyLease{}
		l.keys[key] = k
	}
	return k
}
