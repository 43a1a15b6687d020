package ratelimit

import (
	"context"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Limiter allows Rate requests per second per key with bursts of Burst.
type Limiter struct {
	limiter *redis_rate.Limiter
	limit   redis_rate.Limit
	prefix  string
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
	}
}

// Allow takes one request from key's budget. It returns whether the request
// may go ahead, the burst capacity, what remains of it, and how long to wait
// when refused.
func (l *Limiter) Allow(ctx context.Context, key string) (allowed bool, limit, remaining int, retryAfter time.Duration, err error) {
	res, err := l.limiter.Allow(ctx, l.prefix+key, l.limit)
	if err != nil {
		return false, 0, 0, 0, err
	}
	return res.Allowed > 0, l.limit.Burst, res.Remaining, res.RetryAfter, nil
}
