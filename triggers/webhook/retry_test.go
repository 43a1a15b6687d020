package webhook

import (
	"context"
	"errors"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/7loc/hub/hub"
)

// noJitter makes the jitter factor exactly 1 (0.8 + 0.4*0.5).
func noJitter() float64 { return 0.5 }

var fixedNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestDecideStatus(t *testing.T) {
	timeout := context.DeadlineExceeded
	refused := &safeError{msg: "connection refused", err: syscall.ECONNREFUSED}
	tests := []struct {
		status int
		err    error
		want   hub.AttemptOutcome
	}{
		{200, nil, hub.AttemptDelivered},
		{201, nil, hub.AttemptDelivered},
		{202, nil, hub.AttemptDelivered},
		{204, nil, hub.AttemptDelivered},
		{299, nil, hub.AttemptDelivered},
		{410, nil, hub.AttemptGone},
		{429, nil, hub.AttemptRetry},
		{500, nil, hub.AttemptRetry},
		{502, nil, hub.AttemptRetry},
		{503, nil, hub.AttemptRetry},
		{504, nil, hub.AttemptRetry},
		{599, nil, hub.AttemptRetry},
		{400, nil, hub.AttemptRetry},
		{401, nil, hub.AttemptRetry},
		{403, nil, hub.AttemptRetry},
		{404, nil, hub.AttemptRetry},
		{405, nil, hub.AttemptRetry},
		{409, nil, hub.AttemptRetry},
		{413, nil, hub.AttemptRetry},
		{422, nil, hub.AttemptRetry},
		{301, nil, hub.AttemptRetry}, // redirects are not followed
		{302, nil, hub.AttemptRetry},
		{308, nil, hub.AttemptRetry},
		{100, nil, hub.AttemptRetry},
		{0, timeout, hub.AttemptRetry},
		{0, refused, hub.AttemptRetry},
		{0, ErrForbiddenAddress, hub.AttemptRetry},
		{200, timeout, hub.AttemptRetry}, // an error wins over any status
	}
	for _, tt := range tests {
		for _, attempt := range []int{1, 5} {
			got, d := Decide(attempt, tt.status, "", tt.err, fixedNow, noJitter)
			if got != tt.want {
				t.Errorf("Decide(%d, %d, err %v) = %v, want %v", attempt, tt.status, tt.err, got, tt.want)
			}
			if got != hub.AttemptRetry && d != 0 {
				t.Errorf("Decide(%d, %d, err %v) delay = %v, want 0 for %v", attempt, tt.status, tt.err, d, got)
			}
		}
	}
}

func TestDecideSchedule(t *testing.T) {
	want := []time.Duration{
		0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
		2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
	}
	for i, w := range want {
		attempt := i + 1
		for _, status := range []int{500, 404} {
			got, d := Decide(attempt, status, "", nil, fixedNow, noJitter)
			if got != hub.AttemptRetry || d != w {
				t.Errorf("Decide(attempt %d, %d) = %v, %v; want retry, %v", attempt, status, got, d, w)
			}
		}
		got, d := Decide(attempt, 0, "", errors.New("timeout"), fixedNow, noJitter)
		if got != hub.AttemptRetry || d != w {
			t.Errorf("Decide(attempt %d, error) = %v, %v; want retry, %v", attempt, got, d, w)
		}
	}
	if MaxAttempts != 9 {
		t.Errorf("MaxAttempts = %d, want 9 (first attempt + 8 retries)", MaxAttempts)
	}
	for _, attempt := range []int{9, 10, 100} {
		if got, d := Decide(attempt, 503, "", nil, fixedNow, noJitter); got != hub.AttemptGiveUp || d != 0 {
			t.Errorf("Decide(attempt %d, 503) = %v, %v; want give_up, 0", attempt, got, d)
		}
		if got, _ := Decide(attempt, 0, "", errors.New("refused"), fixedNow, noJitter); got != hub.AttemptGiveUp {
			t.Errorf("Decide(attempt %d, error) = %v; want give_up", attempt, got)
		}
		// Success and 410 are still recognised on the last attempt.
		if got, _ := Decide(attempt, 200, "", nil, fixedNow, noJitter); got != hub.AttemptDelivered {
			t.Errorf("Decide(attempt %d, 200) = %v; want delivered", attempt, got)
		}
		if got, _ := Decide(attempt, 410, "", nil, fixedNow, noJitter); got != hub.AttemptGone {
			t.Errorf("Decide(attempt %d, 410) = %v; want gone", attempt, got)
		}
	}
	if got, d := Decide(0, 500, "", nil, fixedNow, noJitter); got != hub.AttemptRetry || d != 0 {
		t.Errorf("Decide(attempt 0, 500) = %v, %v; want the first attempt's retry, 0", got, d)
	}
}

func TestDecideJitter(t *testing.T) {
	base := 2 * time.Hour // after attempt 5
	lo, hi := base*8/10, base*12/10
	if _, d := Decide(5, 500, "", nil, fixedNow, func() float64 { return 0 }); d != lo {
		t.Errorf("jitter at rnd=0: %v, want %v", d, lo)
	}
	if _, d := Decide(5, 500, "", nil, fixedNow, func() float64 { return 0.999999 }); d < hi-time.Second || d >= hi {
		t.Errorf("jitter at rnd→1: %v, want just under %v", d, hi)
	}
	seen := map[time.Duration]bool{}
	for range 1000 {
		_, d := Decide(5, 500, "", nil, fixedNow, nil)
		if d < lo || d >= hi {
			t.Fatalf("jittered delay %v outside [%v, %v)", d, lo, hi)
		}
		seen[d] = true
	}
	if len(seen) < 900 {
		t.Errorf("only %d distinct delays in 1000 draws: jitter is not random", len(seen))
	}
	if _, d := Decide(1, 500, "", nil, fixedNow, nil); d != 0 {
		t.Errorf("first retry delay = %v, want 0 (immediately, jitter of zero)", d)
	}
}

func TestDecideRetryAfter(t *testing.T) {
	httpDate := func(d time.Duration) string { return fixedNow.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		name       string
		attempt    int
		status     int
		retryAfter string
		err        error
		want       time.Duration
	}{
		// Attempt 3: the scheduled delay is 5 min, so hub.AttemptRetry-After is clamped to [5 min, 10 min].
		{"seconds within bounds", 3, 503, "420", nil, 7 * time.Minute},
		{"seconds below: scheduled delay", 3, 503, "10", nil, 5 * time.Minute},
		{"seconds above: twice the delay", 3, 503, "86400", nil, 10 * time.Minute},
		{"zero seconds", 3, 503, "0", nil, 5 * time.Minute},
		{"huge seconds", 3, 503, "99999999999999999999", nil, 10 * time.Minute},
		{"HTTP date within bounds", 3, 503, httpDate(8 * time.Minute), nil, 8 * time.Minute},
		{"HTTP date above", 3, 503, httpDate(3 * time.Hour), nil, 10 * time.Minute},
		{"HTTP date in the past", 3, 503, httpDate(-time.Hour), nil, 5 * time.Minute},
		{"RFC 850 date", 3, 503, fixedNow.Add(6 * time.Minute).Format("Monday, 02-Jan-06 15:04:05 GMT"), nil, 6 * time.Minute},
		{"garbage ignored", 3, 503, "soon", nil, 5 * time.Minute},
		{"negative ignored", 3, 503, "-60", nil, 5 * time.Minute},
		{"padded", 3, 503, " 360 ", nil, 6 * time.Minute},
		{"on 4xx too", 3, 404, "480", nil, 8 * time.Minute},
		{"ignored with a transport error", 3, 0, "600", errors.New("reset"), 5 * time.Minute},
		// Attempt 1: the scheduled delay is 0, so hub.AttemptRetry-After cannot delay a 5xx retry.
		{"first retry: clamped to 0", 1, 503, "120", nil, 0},
		// 429: at least one minute.
		{"429 without hub.AttemptRetry-After", 1, 429, "", nil, time.Minute},
		{"429 first retry, hub.AttemptRetry-After 120 s", 1, 429, "120", nil, time.Minute},
		{"429 after attempt 2, hub.AttemptRetry-After 1 s", 2, 429, "1", nil, time.Minute},
		{"429 after attempt 2, hub.AttemptRetry-After 8 s", 2, 429, "8", nil, time.Minute},
		{"429 HTTP date", 2, 429, httpDate(30 * time.Second), nil, time.Minute},
		{"429 later attempt keeps the clamp", 3, 429, "900", nil, 10 * time.Minute},
		{"429 later attempt within bounds", 5, 429, "10800", nil, 3 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, d := Decide(tt.attempt, tt.status, tt.retryAfter, tt.err, fixedNow, noJitter)
			if got != hub.AttemptRetry || d != tt.want {
				t.Errorf("Decide(%d, %d, %q) = %v, %v; want retry, %v", tt.attempt, tt.status, tt.retryAfter, got, d, tt.want)
			}
		})
	}
}

func TestDecideRetryAfterWithJitter(t *testing.T) {
	// The clamp follows the jittered delay: 5 min * 0.8 = 4 min, so [4, 8] min.
	low := func() float64 { return 0 }
	if _, d := Decide(3, 503, "60", nil, fixedNow, low); d != 4*time.Minute {
		t.Errorf("Retry-After below jittered delay: %v, want 4m", d)
	}
	if _, d := Decide(3, 503, "3600", nil, fixedNow, low); d != 8*time.Minute {
		t.Errorf("Retry-After above twice the jittered delay: %v, want 8m", d)
	}
}

// TestRetriesEndBeforeAHookIsDisabled: one event's retries end long before
// the hub disables a failing hook (hub.HookDisableAfter), so a hook is
// disabled only after failing many events over the whole period.
func TestRetriesEndBeforeAHookIsDisabled(t *testing.T) {
	var total time.Duration
	for _, d := range schedule {
		total += d
	}
	if max := total * 12 / 10; max >= hub.HookDisableAfter/2 {
		t.Errorf("retries of one delivery last up to %v, not shorter than half of hub.HookDisableAfter %v", max, hub.HookDisableAfter)
	}
}
