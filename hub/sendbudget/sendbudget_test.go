package sendbudget_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/redistest"
	"github.com/7loc/hub/hub/sendbudget"
)

func TestTakeHandsOutSlotsInTurn(t *testing.T) {
	rdb, _ := redistest.Client(t)
	s := sendbudget.New(rdb, redistest.Prefix(t, rdb))
	ctx := context.Background()
	l := hub.RateLimit{Key: "telegram:1", PerSecond: 10, Burst: 1}
	var waits []time.Duration
	for i := 0; i < 5; i++ {
		w, ok, err := s.Take(ctx, []hub.RateLimit{l}, time.Second)
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
	w, ok, err := s.Take(ctx, []hub.RateLimit{l}, 200*time.Millisecond)
	if err != nil || ok || w < 400*time.Millisecond {
		t.Fatalf("beyond maxWait: wait=%s ok=%v err=%v; want refused with wait >= 400ms", w, ok, err)
	}
	if w2, ok, _ := s.Take(ctx, []hub.RateLimit{l}, time.Second); !ok || w2 > w+10*time.Millisecond {
		t.Errorf("the refused call took a slot: next wait %s after %s", w2, w)
	}
	// Another key has its own budget; a burst goes at once.
	b := hub.RateLimit{Key: "telegram:1:42", PerSecond: 1, Burst: 3}
	for i := 0; i < 3; i++ {
		if w, ok, _ := s.Take(ctx, []hub.RateLimit{b}, 0); !ok || w != 0 {
			t.Errorf("burst %d: wait=%s ok=%v", i, w, ok)
		}
	}
	if _, ok, _ := s.Take(ctx, []hub.RateLimit{b}, 0); ok {
		t.Error("a fourth request passed a burst of 3 at once")
	}
}

func TestTakeHoldsTheRateUnderContention(t *testing.T) {
	rdb, _ := redistest.Client(t)
	s := sendbudget.New(rdb, redistest.Prefix(t, rdb))
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
				w, ok, err := s.Take(ctx, []hub.RateLimit{l}, 500*time.Millisecond)
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
	s := sendbudget.New(rdb, redistest.Prefix(t, rdb))
	ctx := context.Background()
	bot := hub.RateLimit{Key: "bot", PerSecond: 1000, Burst: 10}
	if _, ok, err := s.Take(ctx, []hub.RateLimit{bot}, 0); err != nil || !ok {
		t.Fatalf("fresh key: ok=%v %v", ok, err)
	}
	if err := s.Pause(ctx, "bot", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	_ = s.Pause(ctx, "bot", time.Second) // a shorter pause keeps the longer one
	if d, ok, _ := s.Take(ctx, []hub.RateLimit{bot}, time.Minute); ok || d < 1500*time.Millisecond || d > 2*time.Second {
		t.Errorf("paused: ok=%v for %s, want refused for about 2s", ok, d)
	}
	// A pause holds a key without a budget too.
	if err := s.Pause(ctx, "free", time.Second); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Take(ctx, []hub.RateLimit{{Key: "free"}}, time.Minute); ok {
		t.Error("a paused key without a budget was let through")
	}
}

// TestTakeIsAllOrNothing: when one budget of a message refuses (or is
// paused), no other budget spends a slot.
func TestTakeIsAllOrNothing(t *testing.T) {
	rdb, _ := redistest.Client(t)
	s := sendbudget.New(rdb, redistest.Prefix(t, rdb))
	ctx := context.Background()
	chat := hub.RateLimit{Key: "bot:42", PerSecond: 1, Burst: 1}
	bot := hub.RateLimit{Key: "bot", PerSecond: 1, Burst: 2}
	if _, ok, _ := s.Take(ctx, []hub.RateLimit{chat, bot}, 0); !ok {
		t.Fatal("first message refused")
	}
	// The chat's next slot is a second away: refused at maxWait 0, and the
	// bot's second burst slot stays free.
	if w, ok, _ := s.Take(ctx, []hub.RateLimit{chat, bot}, 0); ok || w < 900*time.Millisecond {
		t.Fatalf("second message to the chat: ok=%v wait=%s, want refused for about 1s", ok, w)
	}
	if w, ok, _ := s.Take(ctx, []hub.RateLimit{{Key: "bot:7", PerSecond: 1, Burst: 1}, bot}, 0); !ok || w != 0 {
		t.Errorf("another chat: ok=%v wait=%s; the refused message spent the bot's slot", ok, w)
	}
	// A pause of the bot refuses every chat without spending theirs.
	if err := s.Pause(ctx, "bot", time.Second); err != nil {
		t.Fatal(err)
	}
	fresh := hub.RateLimit{Key: "bot:9", PerSecond: 1, Burst: 1}
	if _, ok, _ := s.Take(ctx, []hub.RateLimit{fresh, bot}, time.Minute); ok {
		t.Fatal("a paused bot sent")
	}
	if w, ok, _ := s.Take(ctx, []hub.RateLimit{fresh}, 0); !ok || w != 0 {
		t.Errorf("the chat's slot was spent during the pause: ok=%v wait=%s", ok, w)
	}
}

// TestTakeEach: many messages' slots in one round trip answer as calls to
// Take one after the other would, and survive Redis forgetting the script.
func TestTakeEach(t *testing.T) {
	rdb, _ := redistest.Client(t)
	// The script is flushed on a Redis of this test's own, not the shared one.
	own := redistest.Embedded(t)
	ctx := context.Background()
	bot := hub.RateLimit{Key: "bot", PerSecond: 10, Burst: 2}
	chat := func(n int) hub.RateLimit { return hub.RateLimit{Key: fmt.Sprintf("bot:%d", n), PerSecond: 1, Burst: 1} }
	tests := []struct {
		name  string
		flush bool // on a Redis of its own, SCRIPT FLUSH first
		msgs  [][]hub.RateLimit
		ok    []bool
		// wait is each answer's wait, to within 50 ms below.
		wait []time.Duration
	}{
		{"burst then turns, none, a refusal", false,
			[][]hub.RateLimit{{chat(1), bot}, {chat(2), bot}, nil, {chat(3), bot}, {chat(1), bot}},
			[]bool{true, true, true, true, false},
			[]time.Duration{0, 0, 0, 100 * time.Millisecond, 1000 * time.Millisecond}},
		{"after Redis forgot the script", true,
			[][]hub.RateLimit{{chat(4), bot}, {chat(5), bot}},
			[]bool{true, true},
			[]time.Duration{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sendbudget.New(rdb, redistest.Prefix(t, rdb))
			if tt.flush {
				if _, _, err := sendbudget.New(own, "x").TakeEach(ctx, tt.msgs[:1], 0); err != nil {
					t.Fatal(err) // the script loaded
				}
				if err := own.ScriptFlush(ctx).Err(); err != nil {
					t.Fatal(err)
				}
				s = sendbudget.New(own, "y")
			}
			waits, oks, err := s.TakeEach(ctx, tt.msgs, 500*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.msgs {
				if oks[i] != tt.ok[i] || waits[i] > tt.wait[i] || waits[i] < tt.wait[i]-50*time.Millisecond {
					t.Errorf("message %d: ok=%v wait=%s, want ok=%v wait about %s", i, oks[i], waits[i], tt.ok[i], tt.wait[i])
				}
			}
		})
	}
}
