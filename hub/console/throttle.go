package console

import (
	"context"
	"sync"
	"time"
)

// Throttle limits login attempts per key (an account or a client address).
// hub/ratelimit implements it in Redis, shared by every API process;
// MemoryThrottle is the in-process fallback.
type Throttle interface {
	// Allow takes one attempt from the key's budget and reports whether it
	// may go ahead, and if not, how long to wait.
	Allow(ctx context.Context, key string) (allowed bool, retryAfter time.Duration, err error)
	// Reset gives the key its whole budget back (after a successful login).
	Reset(ctx context.Context, key string) error
}

// Limit is a throttle's budget: Burst attempts at once, then one per Every.
type Limit struct {
	Burst int
	Every time.Duration
}

// MemoryThrottle is a Throttle in this process's memory (GCRA, as the Redis
// one): for tests and for a single process.
type MemoryThrottle struct {
	limit Limit
	now   func() time.Time

	mu   sync.Mutex
	tats map[string]time.Time // key -> theoretical arrival time
}

// NewMemoryThrottle returns an in-memory throttle; now is the clock (nil
// means time.Now).
func NewMemoryThrottle(l Limit, now func() time.Time) *MemoryThrottle {
	if l.Burst < 1 {
		l.Burst = 1
	}
	if l.Every <= 0 {
		l.Every = time.Second
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryThrottle{limit: l, now: now, tats: map[string]time.Time{}}
}

// Allow implements Throttle.
func (m *MemoryThrottle) Allow(_ context.Context, key string) (bool, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if len(m.tats) > 100_000 {
		m.sweep(now)
	}
	tat := m.tats[key]
	if tat.Before(now) {
		tat = now
	}
	// A request is allowed while the theoretical arrival time stays within
	// the burst's tolerance of now.
	tolerance := time.Duration(m.limit.Burst-1) * m.limit.Every
	if tat.Sub(now) > tolerance {
		return false, tat.Sub(now) - tolerance, nil
	}
	m.tats[key] = tat.Add(m.limit.Every)
	return true, 0, nil
}

// Reset implements Throttle.
func (m *MemoryThrottle) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	delete(m.tats, key)
	m.mu.Unlock()
	return nil
}

// sweep drops keys whose budget is whole again.
func (m *MemoryThrottle) sweep(now time.Time) {
	for k, tat := range m.tats {
		if !tat.After(now) {
			delete(m.tats, k)
		}
	}
}
