package ratelimit_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/7loc/hub/hub/ratelimit"
	"github.com/7loc/hub/hub/redistest"
)

func TestThrottle(t *testing.T) {
	rdb, _ := redistest.Client(t)
	prefix := redistest.Prefix(t, rdb)
	th := ratelimit.NewThrottle(rdb, 3, time.Minute, prefix, "login")
	ctx := context.Background()
	for i := range 3 {
		if ok, _, err := th.Allow(ctx, "account:ann@example.com"); err != nil || !ok {
			t.Fatalf("attempt %d: %v, %v", i+1, ok, err)
		}
	}
	ok, wait, err := th.Allow(ctx, "account:ann@example.com")
	if err != nil || ok || wait <= 50*time.Second || wait > time.Minute {
		t.Fatalf("past the burst: allowed=%v wait=%v err=%v; want refused for about a minute", ok, wait, err)
	}
	if ok, _, err := th.Allow(ctx, "account:bob@example.com"); err != nil || !ok {
		t.Errorf("another key shares the budget: %v, %v", ok, err)
	}
	// A second process (another Throttle on the same Redis) shares it.
	other := ratelimit.NewThrottle(rdb, 3, time.Minute, prefix, "login")
	if ok, _, _ := other.Allow(ctx, "account:ann@example.com"); ok {
		t.Error("another process does not see the spent budget")
	}
	if err := th.Reset(ctx, "account:ann@example.com"); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := other.Allow(ctx, "account:ann@example.com"); err != nil || !ok {
		t.Errorf("after Reset: %v, %v", ok, err)
	}
	keys, err := rdb.Keys(ctx, "*"+prefix+"*").Result() // redis_rate adds "rate:"; its keys expire
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		t.Error("no keys under the prefix")
	}
	for _, k := range keys {
		if strings.Contains(k, "ann@") || strings.Contains(k, "bob@") {
			t.Errorf("an email is in a Redis key: %s", k)
		}
	}
}

func TestThrottleRedisDownIsAnError(t *testing.T) {
	rdb := redistest.Embedded(t)
	th := ratelimit.NewThrottle(rdb, 3, time.Minute, "t", "login")
	_ = rdb.Close()
	if ok, _, err := th.Allow(context.Background(), "k"); err == nil || ok {
		t.Errorf("Redis closed: allowed=%v err=%v; want an error and no", ok, err)
	}
}
