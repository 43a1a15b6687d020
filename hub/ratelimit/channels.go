package ratelimit

import (
	"context"
	"math"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/7loc/hub/hub"
)

// Shared is the limiter channel senders share across every worker process:
// GCRA budgets per provider key (bot, number, chat) and pauses a provider
// asked for (Telegram's retry_after, WhatsApp's throughput errors).
type Shared struct {
	rdb     redis.UniversalClient
	limiter *redis_rate.Limiter
	prefix  string
}

// NewShared returns a Shared limiter keeping its state under prefix.
func NewShared(rdb redis.UniversalClient, prefix string) *Shared {
	if prefix == "" {
		prefix = "hub"
	}
	return &Shared{rdb: rdb, limiter: redis_rate.NewLimiter(rdb), prefix: prefix + ":channels:"}
}

// gcraLimit turns a per-second rate into redis_rate's integer form: whole
// requests per second, or one request per period for slower rates.
func gcraLimit(l hub.RateLimit) redis_rate.Limit {
	burst := max(l.Burst, 1)
	switch {
	case l.PerSecond <= 0:
		return redis_rate.Limit{Rate: 1 << 30, Burst: 1 << 30, Period: time.Second}
	case l.PerSecond >= 1:
		return redis_rate.Limit{Rate: int(math.Round(l.PerSecond)), Burst: burst, Period: time.Second}
	default:
		return redis_rate.Limit{Rate: 1, Burst: burst, Period: time.Duration(float64(time.Second) / l.PerSecond)}
	}
}

// Take takes one request from the limit's budget. It returns zero when the
// request may go now, else how long to wait before asking again (nothing
// is taken then).
func (s *Shared) Take(ctx context.Context, l hub.RateLimit) (time.Duration, error) {
	res, err := s.limiter.Allow(ctx, s.prefix+"rate:"+l.Key, gcraLimit(l))
	if err != nil {
		return 0, hub.Unavailable("redis", err)
	}
	if res.Allowed > 0 {
		return 0, nil
	}
	return max(res.RetryAfter, time.Millisecond), nil
}

// Pause stops every worker from sending on key for d (a longer pause
// already set stays).
func (s *Shared) Pause(ctx context.Context, key string, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	k := s.prefix + "pause:" + key
	left, err := s.rdb.PTTL(ctx, k).Result()
	if err != nil {
		return hub.Unavailable("redis", err)
	}
	if left >= d {
		return nil
	}
	if err := s.rdb.Set(ctx, k, "1", d).Err(); err != nil {
		return hub.Unavailable("redis", err)
	}
	return nil
}

// Paused returns how long key stays paused (zero when it is not).
func (s *Shared) Paused(ctx context.Context, key string) (time.Duration, error) {
	left, err := s.rdb.PTTL(ctx, s.prefix+"pause:"+key).Result()
	if err != nil {
		return 0, hub.Unavailable("redis", err)
	}
	return max(left, 0), nil
}
