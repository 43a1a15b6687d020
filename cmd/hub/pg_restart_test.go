package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/7loc/hub/hub/redistest"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// TestPostgresRestart: a PostgreSQL of the test's own restarted (pg_ctl
// restart -m fast) under four stamping tills: every answer is 200 or 503
// unavailable (never a 500 or a dropped connection), the hub stamps again
// within a few seconds without being restarted, and every card holds exactly
// the stamps its stamp_added events say, acknowledged ones included: nothing
// half written (issue 11, item 7).
func TestPostgresRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hub binary and a PostgreSQL server")
	}
	pg := sqltest.StartServer(t)
	rds := redistest.StartServer(t, "")
	bin := buildHub(t)
	addr := freePort(t)
	env := []string{
		"HUB_DATABASE_URL=" + pg.URL, "HUB_REDIS_URL=redis://" + rds.Addr + "/0",
		"HUB_ADDR=" + addr, "HUB_ADMIN_TOKEN=restart-test", "HUB_LOG_LEVEL=warn",
		"HUB_WITH_WORKERS=true", "HUB_RATE_LIMIT=1000", "HUB_RATE_BURST=1000",
	}
	serve := start(t, bin, env, "serve")
	base := "http://" + addr
	waitReady(t, base)
	biz := postJSON(t, base+"/admin/v1/businesses", "restart-test", `{"name":"Restart Café"}`)["id"].(string)
	postJSON(t, base+"/admin/v1/businesses/"+biz+"/staff", "restart-test", `{"login":"till","name":"Till"}`)
	key := postJSON(t, base+"/admin/v1/businesses/"+biz+"/api-keys", "restart-test", `{"login":"till","name":"Till"}`)["key"].(string)
	tpl := postJSON(t, base+"/admin/v1/businesses/"+biz+"/card-templates", "restart-test",
		`{"name":"C","goals":[{"stamps":7,"reward":{"title":"R"}}]}`)["id"].(string)
	var cards []string
	for i := 0; i < 8; i++ {
		c := postJSON(t, base+"/v1/cards", key, fmt.Sprintf(`{"template_id":%q,"customer":{"email":"r%d@example.com"}}`, tpl, i))
		cards = append(cards, c["id"].(string))
	}

	// Four tills stamp as fast as the hub answers, each on cards of its own
	// and one shared card (so that transactions also wait for row locks).
	type answer struct {
		at     time.Time
		status int
		body   string
	}
	var (
		mu      sync.Mutex
		answers []answer
		acked   = map[string][]string{} // card -> stamp_added event ids answered 200
	)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for till := 0; till < 4; till++ {
		wg.Add(1)
		go func(till int) {
			defer wg.Done()
			client := &http.Client{Timeout: 20 * time.Second}
			// 40 stamps a second per till, under the rate limit.
			tick := time.NewTicker(25 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				card := cards[till*2+i%2]
				if i%3 == 0 {
					card = cards[0]
				}
				req, _ := http.NewRequest("POST", base+"/v1/cards/"+card+"/stamps", strings.NewReader(`{}`))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "application/json")
				res, err := client.Do(req)
				a := answer{at: time.Now()}
				if err != nil {
					a.body = err.Error()
				} else {
					b, _ := io.ReadAll(res.Body)
					res.Body.Close()
					a.status, a.body = res.StatusCode, string(b)
				}
				mu.Lock()
				answers = append(answers, a)
				if a.status == http.StatusOK {
					var r struct {
						Events []struct{ ID, Type string } `json:"events"`
					}
					if err := json.Unmarshal([]byte(a.body), &r); err != nil {
						t.Errorf("stamp answer: %v: %s", err, a.body)
					}
					for _, e := range r.Events {
						if e.Type == "stamp_added" {
							acked[card] = append(acked[card], e.ID)
						}
					}
				}
				mu.Unlock()
			}
		}(till)
	}
	time.Sleep(time.Second)
	restartAt := time.Now()
	pg.Restart()
	backAt := time.Now()
	t.Logf("PostgreSQL restarted in %v", backAt.Sub(restartAt).Round(time.Millisecond))
	// Stamp on until 3 s after the first success that follows the restart.
	deadline := backAt.Add(15 * time.Second)
	var recovered time.Time
	for recovered.IsZero() || time.Since(recovered) < 3*time.Second {
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		for _, a := range answers {
			if recovered.IsZero() && a.at.After(backAt) && a.status == http.StatusOK {
				recovered = a.at
			}
		}
		mu.Unlock()
	}
	stop()
	wg.Wait()

	var ok, unavailable, okAfter, failedLate, failedAfterBack int
	for _, a := range answers {
		if a.status != http.StatusOK && a.at.After(backAt) {
			failedAfterBack++
		}
		switch {
		case a.status == http.StatusOK:
			ok++
		case a.status == http.StatusServiceUnavailable && strings.Contains(a.body, `"unavailable"`):
			unavailable++
		default:
			t.Errorf("answer %d %s, want 200 or 503 unavailable", a.status, a.body)
		}
		if !recovered.IsZero() && a.at.After(recovered) {
			if a.status == http.StatusOK {
				okAfter++
			} else if a.at.After(recovered.Add(time.Second)) {
				failedLate++
				t.Logf("late failure %v after the recovery: %d %s", a.at.Sub(recovered), a.status, a.body)
			}
		}
	}
	t.Logf("%d stamps answered 200, %d answered 503 (%d of them after PostgreSQL was back); first success %v after PostgreSQL was back",
		ok, unavailable, failedAfterBack, recovered.Sub(backAt).Round(time.Millisecond))
	if recovered.IsZero() || recovered.Sub(backAt) > 5*time.Second {
		t.Fatalf("no stamp succeeded within 5 s after PostgreSQL was back\n%s", serve.output.String())
	}
	if failedLate > 0 || okAfter < 100 {
		t.Errorf("after the recovery %d stamps succeeded and %d (later than 1 s) failed", okAfter, failedLate)
	}

	// Nothing half written: every card holds exactly the stamps of its
	// stamp_added events, and every acknowledged stamp is one of them.
	total := 0
	for _, card := range cards {
		c := getMap(t, base+"/v1/cards/"+card, key)
		stamps := int(c["stamps_total"].(float64))
		events := map[string]bool{}
		cursor := ""
		for {
			u := base + "/v1/events?type=stamp_added&limit=100&card_id=" + card
			if cursor != "" {
				u += "&cursor=" + url.QueryEscape(cursor)
			}
			page := getMap(t, u, key)
			for _, e := range page["data"].([]any) {
				events[e.(map[string]any)["id"].(string)] = true
			}
			next, _ := page["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = next
		}
		if len(events) != stamps {
			t.Errorf("card %s: %d stamps, %d stamp_added events", card, stamps, len(events))
		}
		for _, id := range acked[card] {
			if !events[id] {
				t.Errorf("card %s: acknowledged stamp event %s is missing", card, id)
			}
		}
		if len(acked[card]) > stamps {
			t.Errorf("card %s: %d stamps acknowledged, %d on the card", card, len(acked[card]), stamps)
		}
		total += stamps
	}
	if total < ok {
		t.Errorf("%d stamps on the cards, %d acknowledged", total, ok)
	}
}
