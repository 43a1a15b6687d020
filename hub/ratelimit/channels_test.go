package ratelimit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/ratelimit"
	"github.com/7loc/hub/hub/redistest"
)

func TestReserveHandsOutSlotsInTurn(t *testing.T) {
	rdb, _ := redistest.Client(t)
	s := ratelimit.NewShared(rdb, redistest.Prefix(t, rdb))
	ctx := context.Background()
	l := hub.RateLimit{Key: "telegram:1", PerSecond: 10, Burst: 1}
	var waits []time.Duration
	for i := 0; i < 5; i++ {
		w, ok, err := s.Reserve(ctx, l, time.Second)
		if err != nil || !ok {
			t.Fatalf("reserve %d: ok=%v err=%v", i, ok, err)
		}
		waits = append(waits, w)
	}
	// At 10/s the slots are 100 ms apart: 0, 100, 200, 300, 400 ms (less the
	// few ms between the calls).
	for i, w := range waits {
		want := time.Duration(i) * 100 * time.Millisecond
		if w > want || w < want-50*time.Millisecond {
			t.Errorf("slot %d waits %s, want about %s", i, w, want)
		}
	}
	// A slot beyond maxWait is refused and nothing is taken.
	w, ok, err := s.Reserve(ctx, l, 200*time.Millisecond)
	if err != nil || ok || w < 400*time.Millisecond {
		t.Fatalf("beyond maxWait: wait=%s ok=%v err=%v; want refused with wait >= 400ms", w, ok, err)
	}
	if w2, ok, _ := s.Reserve(ctx, l, time.Second); !ok || w2 > w+10*time.Millisecond {
		t.Errorf("the refused call took a slot: next wait %s after %s", w2, w)
	}
	// Another key has its own budget; a burst goes at once.
	b := hub.RateLimit{Key: "telegram:1:42", PerSecond: 1, Burst: 3}
	for i := 0; i < 3; i++ {
		if w, ok, _ := s.Reserve(ctx, b, 0); !ok || w != 0 {
			t.Errorf("burst %d: wait=%s ok=%v", i, w, ok)
		}
	}
	if _, ok, _ := s.Reserve(ctx, b, 0); ok {
		t.Error("a fourth request passed a burst of 3 at once")
	}
}

func TestReserveHoldsTheRateUnderContention(t *testing.T) {
	rdb, _ := redistest.Client(t)
	s := ratelimit.NewShared(rdb, redistest.Prefix(t, rdb))
	ctx := context.Background()
	l := hub.RateLimit{Key: "bot", PerSecond: 50, Burst: 1}
	var mu sync.Mutex
	var sent []time.Time
	start := time.Now()
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < time.Second {
				w, ok, err := s.Reserve(ctx, l, 500*time.Millisecond)
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					time.Sleep(w)
					continue
				}
				time.Sleep(w)
				mu.Lock()
				sent = append(sent, time.Now())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Count what went out in the first second: 50/s, burst 1.
	n := 0
	for _, at := range sent {
		if at.Sub(start) < time.Second {
			n++
		}
	}
	if n < 45 || n > 52 {
		t.Errorf("%d sends in the first second at 50/s", n)
	}
}

func TestPause(t *testing.T) {
	rdb, _ := redistest.Client(t)
	s := ratelimit.NewShared(rdb, redistest.Prefix(t, rdb))
	ctx := context.Background()
	if d, err := s.Paused(ctx, "bot"); err != nil || d != 0 {
		t.Fatalf("fresh key paused %s %v", d, err)
	}
	if err := s.Pause(ctx, "bot", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	_ = s.Pause(ctx, "bot", time.Second) // a shorter pause keeps the longer one
	if d, _ := s.Paused(ctx, "bot"); d < 1500*time.Millisecond || d > 2*time.Second {
		t.Errorf("paused for %s, want about 2s", d)
	}
}
