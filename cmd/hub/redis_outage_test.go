package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/7loc/hub/hub/redistest"
)

// TestRedisOutageKeepsStamping: with the default rate limits and workers in
// the API process, Redis stopped for three seconds refuses no stamp, and
// every event written meanwhile reaches its webhook once Redis is back
// (issue 11, item 6).
func TestRedisOutageKeepsStamping(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hub binary")
	}
	redisAddr := freePort(t)
	rds := redistest.StartServer(t, redisAddr)
	bin := buildHub(t)
	addr := freePort(t)
	env := []string{
		"HUB_DATABASE_URL=" + filepath.Join(t.TempDir(), "hub.db"),
		"HUB_REDIS_URL=redis://" + redisAddr + "/0", "HUB_ADDR=" + addr, "HUB_ADMIN_TOKEN=outage-test",
		"HUB_LOG_LEVEL=error", "HUB_RELAY_MIN_AGE=1s", "HUB_WITH_WORKERS=true",
		"HUB_WEBHOOK_ALLOW_CIDRS=127.0.0.0/8",
	}
	recv := newHookReceiver(t)
	key := createKey(t, bin, env, "Outage Café")
	serve := start(t, bin, env, "serve")
	base := "http://" + addr
	waitReady(t, base)
	biz := getMap(t, base+"/v1/me", key)["business"].(map[string]any)["id"].(string)
	tpl := postJSON(t, base+"/admin/v1/businesses/"+biz+"/card-templates", "outage-test",
		`{"name":"C","goals":[{"stamps":5,"reward":{"title":"R"}}]}`)["id"].(string)
	postJSON(t, base+"/v1/hooks", key, `{"event":"*","target_url":"`+recv.srv.URL+`/hook"}`)
	var cards []string
	for i := 0; i < 10; i++ {
		c := postJSON(t, base+"/v1/cards", key, fmt.Sprintf(`{"template_id":%q,"customer":{"email":"o%d@example.com"}}`, tpl, i))
		cards = append(cards, c["id"].(string))
	}

	// Two tills stamp 10 times a second each (under the default 50/s).
	var mu sync.Mutex
	acked := map[string]bool{}
	var refused []string
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for c := 0; c < 2; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				req, _ := http.NewRequest("POST", base+"/v1/cards/"+cards[(c*5+i)%len(cards)]+"/stamps", strings.NewReader(`{}`))
				req.Header.Set("Authorization", "Bearer "+key)
				res, err := client.Do(req)
				if err != nil {
					mu.Lock()
					refused = append(refused, err.Error())
					mu.Unlock()
					continue
				}
				var r struct {
					Events []struct{ ID string } `json:"events"`
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				_ = json.Unmarshal(b, &r)
				mu.Lock()
				if res.StatusCode == 200 {
					for _, e := range r.Events {
						acked[e.ID] = true
					}
				} else {
					refused = append(refused, fmt.Sprintf("%d %s", res.StatusCode, b))
				}
				mu.Unlock()
			}
		}(c)
	}
	time.Sleep(time.Second)
	rds.Stop()
	time.Sleep(3 * time.Second)
	redistest.StartServer(t, redisAddr)
	time.Sleep(time.Second)
	stop()
	wg.Wait()
	mu.Lock()
	if len(refused) > 0 {
		t.Errorf("%d stamps refused across the outage, first: %s", len(refused), refused[0])
	}
	want := len(acked)
	mu.Unlock()
	if want < 60 {
		t.Fatalf("only %d events acknowledged in 5 s", want)
	}
	// Every acknowledged event reaches the webhook: the relay dispatches
	// what could not be queued while Redis was away.
	deadline := time.Now().Add(60 * time.Second)
	for {
		missing := 0
		for id := range acked {
			if recv.count(id) == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged events never reached the webhook\n%s", missing, want, serve.output.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
