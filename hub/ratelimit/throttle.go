package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Throttle limits slow, guessable actions such as console logins: Burst
// attempts at once, then one per Every, per key, in Redis (GCRA through
// redis_rate) so that every API process shares the budget. Unlike Limiter
// it leases nothing: each attempt is one Redis call. Keys are stored as
// their SHA-256, so no email address lands in Redis. It implements
// console.Throttle.
type Throttle struct {
	limiter *redis_rate.Limiter
	limit   redis_rate.Limit
	prefix  string
}

// NewThrottle returns a throttle of burst attempts, then one per every,
// with keys under prefix ("hub" when empty) and name.
func NewThrottle(rdb redis.UniversalClient, burst int, every time.Duration, prefix, name string) *Throttle {
	if prefix == "" {
		prefix = "hub"
	}
	if burst < 1 {
		burst = 1
	}
	if every <= 0 {
		every = time.Second
	}
	return &Throttle{
		limiter: redis_rate.NewLimiter(rdb),
		limit:   redis_rate.Limit{Rate: 1, Burst: burst, Period: every},
		prefix:  prefix + ":throttle:" + name + ":",
	}
}

func (t *Throttle) key(key string) string {
	sum := sha256.Sum256([]byte(key))
	return t.prefix + hex.EncodeToString(sum[:16])
}

// Allow takes one attempt from key's budget and reports whether it may go
// ahead, and if not, how long to wait.
func (t *Throttle) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	res, err := t.limiter.Allow(ctx, t.key(key), t.limit)
	if err != nil {
		return false, 0, err
	}
	return res.Allowed > 0, res.RetryAfter, nil
}

// Reset gives key its whole budget back.
func (t *Throttle) Reset(ctx context.Context, key string) error {
	return t.limiter.Reset(ctx, t.key(key))
}
