package ratelimit

import (
	"context"
	"math"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/7loc/hub/hub"
)

// Shared is the limiter channel senders share across every worker process:
// GCRA budgets per provider key (bot, number, chat) and pauses a provider
// asked for (Telegram's retry_after, WhatsApp's throughput errors).
type Shared struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewShared returns a Shared limiter keeping its state under prefix.
func NewShared(rdb redis.UniversalClient, prefix string) *Shared {
	if prefix == "" {
		prefix = "hub"
	}
	return &Shared{rdb: rdb, prefix: prefix + ":channels:"}
}

// reserveScript is GCRA with reservations (the way golang.org/x/time/rate's
// Reserve works, kept in Redis so every process shares it): a caller that
// can go within maxWait takes the next free slot and learns how long to
// wait for it; one that cannot takes nothing. Taking slots in turn is what
// keeps a request that needs two budgets (a chat's and its bot's) from
// starving behind requests that need one; redis_rate only answers "now or
// not", so this is the one piece of limiter code of our own. Redis's clock
// (TIME) is the clock of every process.
var reserveScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now - (burst - 1) * interval
if wait < 0 then wait = 0 end
if wait > tonumber(ARGV[3]) then return {0, wait} end
local nt = tat + interval
redis.call('SET', KEYS[1], nt, 'PX', math.floor((nt - now) / 1000) + 1000)
return {1, wait}
`)

// Reserve takes the next slot of the limit's budget if it comes within
// maxWait: ok with how long to wait for it. Otherwise nothing is taken, and
// wait says when a slot would come.
func (s *Shared) Reserve(ctx context.Context, l hub.RateLimit, maxWait time.Duration) (wait time.Duration, ok bool, err error) {
	if l.PerSecond <= 0 {
		return 0, true, nil
	}
	interval := int64(math.Max(1, 1e6/l.PerSecond)) // microseconds
	res, err := reserveScript.Run(ctx, s.rdb, []string{s.prefix + "gcra:" + l.Key},
		interval, max(l.Burst, 1), maxWait.Microseconds()).Int64Slice()
	if err != nil || len(res) != 2 {
		return 0, false, hub.Unavailable("redis", err)
	}
	return time.Duration(res[1]) * time.Microsecond, res[0] == 1, nil
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
