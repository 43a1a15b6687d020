package sendbudget

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

// New returns a Shared limiter keeping its state under prefix.
func New(rdb redis.UniversalClient, prefix string) *Shared {
	if prefix == "" {
		prefix = "hub"
	}
	return &Shared{rdb: rdb, prefix: prefix + ":channels:"}
}

// takeScript is GCRA with reservations (the way golang.org/x/time/rate's
// Reserve works, kept in Redis so every process shares it) over every
// budget of one message at once, with their pauses. KEYS are pairs
// (budget, pause); ARGV is maxWait, then pairs (interval, burst) in
// microseconds, an interval of 0 being a pause to respect without a budget.
// A paused budget answers {2, microseconds left}; a slot beyond maxWait
// {0, wait}, taking nothing anywhere; otherwise a slot of each budget is
// taken and the answer is {1, the longest wait}. Taking slots in turn keeps
// a message that needs two budgets (a chat's and its bot's) from starving
// behind messages that need one; redis_rate only answers "now or not", so
// this is the one piece of limiter code of our own. One round trip per
// message, and no slot is spent on one budget when another refuses.
// Redis's clock (TIME) is the clock of every process.
var takeScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = #KEYS / 2
local maxWait = tonumber(ARGV[1])
for i = 1, n do
  local left = redis.call('PTTL', KEYS[2 * i])
  if left > 0 then return {2, left * 1000} end
end
local wait = 0
local tats = {}
for i = 1, n do
  local interval = tonumber(ARGV[2 * i])
  if interval > 0 then
    local burst = tonumber(ARGV[2 * i + 1])
    local tat = tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0')
    if tat < now then tat = now end
    local w = tat - now - (burst - 1) * interval
    if w < 0 then w = 0 end
    if w > maxWait then return {0, w} end
    if w > wait then wait = w end
    tats[i] = tat
  end
end
for i = 1, n do
  if tats[i] then
    local nt = tats[i] + tonumber(ARGV[2 * i])
    redis.call('SET', KEYS[2 * i - 1], nt, 'PX', math.floor((nt - now) / 1000) + 1000)
  end
end
return {1, wait}
`)

// Take takes a slot of every budget of limits at once, or none: ok with
// the longest wait among them when every slot comes within maxWait and no
// budget is paused; otherwise not ok, and wait says when to come back (the
// pause's end, or the first slot beyond maxWait).
func (s *Shared) Take(ctx context.Context, limits []hub.RateLimit, maxWait time.Duration) (wait time.Duration, ok bool, err error) {
	keys, args := s.takeArgs(limits, maxWait)
	if len(keys) == 0 {
		return 0, true, nil
	}
	return takeAnswer(takeScript.Run(ctx, s.rdb, keys, args...))
}

// TakeEach is Take for each of many messages (limits[i] are the budgets of
// message i) in one round trip to Redis: waits[i] and oks[i] answer for
// message i as Take would. Each message's slots are taken atomically on
// their own, in order, exactly as by calls to Take one after the other.
func (s *Shared) TakeEach(ctx context.Context, limits [][]hub.RateLimit, maxWait time.Duration) (waits []time.Duration, oks []bool, err error) {
	waits, oks = make([]time.Duration, len(limits)), make([]bool, len(limits))
	cmds := make([]*redis.Cmd, len(limits))
	pipe := s.rdb.Pipeline()
	for i, ls := range limits {
		keys, args := s.takeArgs(ls, maxWait)
		if len(keys) == 0 {
			oks[i] = true
			continue
		}
		cmds[i] = takeScript.EvalSha(ctx, pipe, keys, args...)
	}
	if pipe.Len() == 0 {
		return waits, oks, nil
	}
	// A NOSCRIPT error (Redis restarted or flushed its scripts) leaves that
	// call undone; it is sent again on its own, with the script's text.
	if _, err := pipe.Exec(ctx); err != nil && !hasNoScript(cmds) {
		return nil, nil, hub.Unavailable("redis", err)
	}
	for i, cmd := range cmds {
		if cmd == nil {
			continue
		}
		if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			keys, args := s.takeArgs(limits[i], maxWait)
			cmd = takeScript.Run(ctx, s.rdb, keys, args...)
		}
		if waits[i], oks[i], err = takeAnswer(cmd); err != nil {
			return nil, nil, err
		}
	}
	return waits, oks, nil
}

// hasNoScript reports whether every failed call failed with NOSCRIPT.
func hasNoScript(cmds []*redis.Cmd) bool {
	some := false
	for _, c := range cmds {
		if c == nil || c.Err() == nil {
			continue
		}
		if !redis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			return false
		}
		some = true
	}
	return some
}

// takeArgs builds takeScript's keys and arguments for one message.
func (s *Shared) takeArgs(limits []hub.RateLimit, maxWait time.Duration) ([]string, []any) {
	keys := make([]string, 0, 2*len(limits))
	args := make([]any, 1, 1+2*len(limits))
	args[0] = maxWait.Microseconds()
	for _, l := range limits {
		interval := int64(0) // no budget, only a pause to respect
		if l.PerSecond > 0 {
			interval = int64(math.Max(1, 1e6/l.PerSecond))
		}
		keys = append(keys, s.prefix+"gcra:"+l.Key, s.prefix+"pause:"+l.Key)
		args = append(args, interval, max(l.Burst, 1))
	}
	return keys, args
}

// takeAnswer reads takeScript's answer.
func takeAnswer(cmd *redis.Cmd) (time.Duration, bool, error) {
	res, err := cmd.Int64Slice()
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
