package webhook

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
)

// schedule[n-1] is the delay after the n-th failed attempt, before jitter.
var schedule = [...]time.Duration{
	0,
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
}

// MaxAttempts is the number of attempts one delivery gets: the first one and
// up to eight retries, the last about 28 hours after the first.
const MaxAttempts = 1 + len(schedule)

// retryAfterFloor is the shortest delay after a 429 Too Many Requests.
const retryAfterFloor = time.Minute

// Decide applies the retry policy to the result of attempt number attempt
// (1 for the first attempt; smaller values count as 1): its status code, its
// Retry-After header and its transport error (timeout, refused connection,
// forbidden address...), as in an Attempt.
//
//   - 2xx: Delivered. 410: Gone (delete the hook).
//   - A transport error, 429, 5xx and every other status (other 4xx, 3xx, as
//     redirects are not followed): Retry, or GiveUp after MaxAttempts.
//
// The delay after the n-th attempt is 0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
// 10 h for n = 1..8, each scaled by a random factor in [0.8, 1.2) drawn from
// rnd (math/rand/v2 Float64 when nil; tests pass a fixed one). A Retry-After
// header (delay in seconds or an HTTP date, relative to now) is honoured but
// clamped to between that delay and twice it; after a 429 the delay is at
// least one minute, with or without Retry-After.
func Decide(attempt int, status int, retryAfter string, err error, now time.Time, rnd func() float64) (hub.AttemptOutcome, time.Duration) {
	if err == nil {
		switch {
		case status >= 200 && status <= 299:
			return hub.AttemptDelivered, 0
		case status == http.StatusGone:
			return hub.AttemptGone, 0
		}
	}
	attempt = max(attempt, 1)
	if attempt >= MaxAttempts {
		return hub.AttemptGiveUp, 0
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	d := jitter(schedule[attempt-1], rnd())
	if err != nil {
		return hub.AttemptRetry, d
	}
	if ra, ok := parseRetryAfter(retryAfter, now); ok {
		d = min(max(ra, d), 2*d)
	}
	if status == http.StatusTooManyRequests {
		d = max(d, retryAfterFloor)
	}
	return hub.AttemptRetry, d
}

// jitter scales d by a factor in [0.8, 1.2) chosen by r in [0, 1).
func jitter(d time.Duration, r float64) time.Duration {
	r = min(max(r, 0), 1)
	return time.Duration(float64(d) * (0.8 + 0.4*r))
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	const maxSecs = 1 << 31 // beyond any clamp, far from overflowing Duration
	secs, err := strconv.ParseUint(v, 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		secs, err = maxSecs, nil
	}
	if err == nil {
		return time.Duration(min(secs, maxSecs)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now), true
	}
	return 0, false
}
