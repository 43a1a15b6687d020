package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/7loc/hub/hub/ratelimit"
	"github.com/7loc/hub/hub/redistest"
)

func TestBurstThenRefuseWithRetryAfter(t *testing.T) {
	rdb, _ := redistest.Client(t)
	l := ratelimit.New(rdb, 2, 3, redistest.Prefix(t, rdb))
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		ok, limit, remaining, _, err := l.Allow(ctx, "key_a")
		if err != nil || !ok || limit != 3 || remaining != 2-i {
			t.Fatalf("request %d: allowed=%v limit=%d remaining=%d err=%v", i, ok, limit, remaining, err)
		}
	}
	ok, _, _, retry, err := l.Allow(ctx, "key_a")
	if err != nil || ok || retry <= 0 || retry > time.Second {
		t.Fatalf("past the burst: allowed=%v retry=%v err=%v; want refused with 0 < retry <= 1s at 2/s", ok, retry, err)
	}
	if ok, _, _, _, err := l.Allow(ctx, "key_b"); err != nil || !ok {
		t.Errorf("another key shares the budget: allowed=%v err=%v", ok, err)
	}
	time.Sleep(retry + 50*time.Millisecond)
	if ok, _, _, _, err := l.Allow(ctx, "key_a"); err != nil || !ok {
		t.Errorf("after Retry-After: allowed=%v err=%v", ok, err)
	}
}

func TestRedisDownIsAnError(t *testing.T) {
	rdb := redistest.Embedded(t)
	l := ratelimit.New(rdb, 2, 3, "x")
	_ = rdb.Close()
	if _, _, _, _, err := l.Allow(context.Background(), "key_a"); err == nil {
		t.Error("Allow with Redis closed succeeded")
	}
}
