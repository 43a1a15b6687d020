package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/redistest"
	"github.com/7loc/hub/triggers/webhook"
)

// receiver records deliveries and answers with the status its handler picks.
type receiver struct {
	mu       sync.Mutex
	got      []delivery
	answer   func(n int) (int, http.Header)
	srv      *httptest.Server
	received chan struct{}
}

type delivery struct {
	header http.Header
	body   []byte
	at     time.Time
}

func newReceiver(t *testing.T, answer func(n int) (int, http.Header)) *receiver {
	r := &receiver{answer: answer, received: make(chan struct{}, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, delivery{header: req.Header.Clone(), body: b, at: time.Now()})
		n := len(r.got)
		r.mu.Unlock()
		status, h := r.answer(n)
		for k, v := range h {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		r.received <- struct{}{}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

func (r *receiver) wait(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for len(r.deliveries()) < n {
		select {
		case <-r.received:
		case <-deadline:
			t.Fatalf("got %d deliveries, want %d", len(r.deliveries()), n)
		}
	}
}

// webhookApp is the hub with workers on SQLite and the test Redis; webhooks may reach 127.0.0.0/8.
func webhookApp(t *testing.T) (*app, *hub.Principal, string) {
	t.Helper()
	rdb, _ := redistest.Client(t)
	prefix := redistest.Prefix(t, rdb)
	opt := rdb.Options()
	cfg := &config{
		DataDir: t.TempDir(), RedisURL: fmt.Sprintf("redis://%s/%d", opt.Addr, opt.DB), QueuePrefix: prefix,
		Migrate: true, Concurrency: 4, RelayMinAge: time.Second, WebhookAllow: "127.0.0.0/8",
		DatabaseMaxConns: 4, KeyCacheTTL: time.Second,
	}
	cfg.DatabaseURL = filepath.Join(cfg.DataDir, "hub.db")
	a, err := openApp(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = a.runWorkers(ctx, false); close(done) }()
	t.Cleanup(func() { cancel(); <-done; a.Close() })
	k, err := a.svc.EnsureKey(context.Background(), "Hook Café", "anna", nil)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := a.svc.Authenticate(context.Background(), k.Key)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := a.svc.CreateCardTemplate(context.Background(), pr.Business.ID, hub.CardTemplateInput{Name: "C", Goals: []hub.GoalInput{{Stamps: 2, Reward: hub.RewardInput{Title: "R"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return a, pr, tpl.ID
}

func issue(t *testing.T, a *app, pr *hub.Principal, tpl, email string) *hub.Card {
	t.Helper()
	c, _, err := a.svc.IssueCard(context.Background(), pr, hub.IssueCardInput{TemplateID: tpl, Customer: hub.CustomerInput{Email: &email}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func subscribe(t *testing.T, a *app, pr *hub.Principal, event, url string) *hub.Hook {
	t.Helper()
	h, _, err := a.svc.CreateHook(context.Background(), pr.Business.ID, hub.HookInput{Event: event, TargetURL: &url})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestWebhookDeliveryIsSignedAndOnce(t *testing.T) {
	a, pr, tpl := webhookApp(t)
	// The receiver is down for its first two calls, then answers 200.
	r := newReceiver(t, func(n int) (int, http.Header) {
		if n <= 2 {
			return 503, nil
		}
		return 200, nil
	})
	h := subscribe(t, a, pr, "card_issued", r.srv.URL+"/hook")
	if again, created, err := a.svc.CreateHook(context.Background(), pr.Business.ID, hub.HookInput{Event: "card_issued", URL: ptr(r.srv.URL + "/hook")}); err != nil || created || again.ID != h.ID {
		t.Fatalf("subscribing again = %v created=%v err=%v, want the same hook", again, created, err)
	}
	c := issue(t, a, pr, tpl, "ann@example.com")
	// Attempt 1 fails, attempt 2 (immediately) fails, attempt 3 after ~5 s succeeds.
	r.wait(t, 3, 30*time.Second)
	waitSettled(t, a) // nothing more should come
	got := r.deliveries()
	if len(got) != 3 {
		t.Fatalf("deliveries = %d, want 3 (two failures, one success)", len(got))
	}
	last := got[2]
	if err := webhook.Verify(h.Secret, last.header, last.body, 5*time.Minute, time.Now()); err != nil {
		t.Errorf("the delivery does not verify with the hook's secret: %v", err)
	}
	evs, _, _ := a.svc.Events(context.Background(), hub.EventFilter{BusinessID: pr.Business.ID, CardID: c.ID})
	if last.header.Get("webhook-id") != evs[0].ID || string(last.body) != string(evs[0].Payload) {
		t.Errorf("webhook-id %q body %.80s; want the event %s and its stored payload", last.header.Get("webhook-id"), last.body, evs[0].ID)
	}
	if ua := last.header.Get("User-Agent"); ua == "" || ua[:9] != "7loc-hub/" {
		t.Errorf("User-Agent = %q", ua)
	}
	attempts, _, err := a.svc.HookDeliveries(context.Background(), pr.Business.ID, h.ID, hub.Page{})
	if err != nil || len(attempts) != 3 || attempts[0].Attempt != 3 || attempts[2].StatusCode == nil || *attempts[2].StatusCode != 503 {
		t.Errorf("delivery log = %+v, %v", attempts, err)
	}
	// The same event dispatched again (a replayed task) is not delivered twice.
	if err := a.svc.DispatchEventKeys(context.Background(), []hub.EventKey{{BusinessID: pr.Business.ID, ID: evs[0].ID}}); err != nil {
		t.Fatal(err)
	}
	if err := a.publisher.EnqueueDeliveries(context.Background(), []hub.DeliveryJob{{BusinessID: pr.Business.ID, HookID: h.ID, EventID: evs[0].ID, Attempt: 7}}); err != nil {
		t.Fatal(err)
	}
	waitSettled(t, a)
	if n := len(r.deliveries()); n != 3 {
		t.Errorf("deliveries after a replayed job = %d, want still 3", n)
	}
	// Redelivery on request does deliver again.
	if err := a.svc.Redeliver(context.Background(), pr.Business.ID, evs[0].ID, &h.ID); err != nil {
		t.Fatal(err)
	}
	r.wait(t, 4, 10*time.Second)
}

func TestWebhookGoneRemovesTheHook(t *testing.T) {
	a, pr, tpl := webhookApp(t)
	r := newReceiver(t, func(int) (int, http.Header) { return 410, nil })
	h := subscribe(t, a, pr, "*", r.srv.URL)
	issue(t, a, pr, tpl, "ann@example.com")
	r.wait(t, 1, 15*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := a.svc.Hook(context.Background(), pr.Business.ID, h.ID)
		if hub.ErrorCode(err) == hub.ENotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hook still there after a 410: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	issue(t, a, pr, tpl, "bob@example.com")
	waitSettled(t, a)
	if n := len(r.deliveries()); n != 1 {
		t.Errorf("deliveries = %d, want 1 (none after the hook was removed)", n)
	}
}

func TestWebhookTooManyRequestsWaits(t *testing.T) {
	a, pr, tpl := webhookApp(t)
	r := newReceiver(t, func(int) (int, http.Header) { return 429, http.Header{"Retry-After": {"2"}} })
	h := subscribe(t, a, pr, "card_issued", r.srv.URL)
	issue(t, a, pr, tpl, "ann@example.com")
	r.wait(t, 1, 15*time.Second)
	first := r.deliveries()[0].at
	// The retry is scheduled, not run: no sooner than Retry-After (and, by
	// the policy, at least 60 s after a 429).
	insp := asynq.NewInspectorFromRedisClient(a.rdb)
	deadline := time.Now().Add(5 * time.Second)
	for {
		tasks, err := insp.ListScheduledTasks(a.queues.WebhookRetries)
		if err == nil && len(tasks) == 1 {
			if wait := tasks[0].NextProcessAt.Sub(first); wait < 60*time.Second {
				t.Errorf("retry after a 429 scheduled %s after the first attempt, want at least 60 s", wait)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no scheduled retry: %v %v", tasks, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitSettled(t, a) // the retry stays scheduled for later
	if n := len(r.deliveries()); n != 1 {
		t.Errorf("deliveries within Retry-After = %d, want 1", n)
	}
	attempts, _, _ := a.svc.HookDeliveries(context.Background(), pr.Business.ID, h.ID, hub.Page{})
	if len(attempts) != 1 || *attempts[0].StatusCode != 429 {
		t.Errorf("delivery log = %+v", attempts)
	}
}

func TestWebhookPrivateAddressesRefused(t *testing.T) {
	a, pr, _ := webhookApp(t)
	for _, u := range []string{"http://169.254.169.254/latest/meta-data", "http://10.0.0.1/x", "ftp://example.com/x", "http://[::1]/x"} {
		_, _, err := a.svc.CreateHook(context.Background(), pr.Business.ID, hub.HookInput{Event: "*", TargetURL: &u})
		if hub.ErrorCode(err) != hub.EValidation {
			t.Errorf("subscribing %s = %v, want validation_failed", u, err)
		}
	}
}

// TestSlowEndpointDoesNotHoldUpHealthyOnes: with four workers, a hook whose
// endpoint takes 3 s per request gets at most two of them, so a healthy hook
// gets its deliveries at once; without the bound the slow hook would hold all
// four workers for 12 s.
func TestSlowEndpointDoesNotHoldUpHealthyOnes(t *testing.T) {
	a, pr, tpl := webhookApp(t)
	slow := newReceiver(t, func(int) (int, http.Header) { time.Sleep(3 * time.Second); return 200, nil })
	fast := newReceiver(t, func(int) (int, http.Header) { return 200, nil })
	subscribe(t, a, pr, "card_issued", slow.srv.URL)
	subscribe(t, a, pr, "card_issued", fast.srv.URL)
	const n = 16
	for i := 0; i < n; i++ {
		issue(t, a, pr, tpl, fmt.Sprintf("c%d@example.com", i))
	}
	start := time.Now()
	fast.wait(t, n, 15*time.Second)
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("the healthy hook got its %d deliveries after %s, want within 4 s", n, took.Round(time.Millisecond))
	}
	if got := len(slow.deliveries()); got > 6 {
		t.Errorf("the slow hook got %d deliveries already; the bound should keep it to two at a time", got)
	}
}

// waitSettled waits until the hub has nothing left to do now: every event
// dispatched, and no task of its queues pending, running or waiting to be
// retried (tasks scheduled for later may remain), three checks in a row.
// Tests that show that nothing more arrives wait on it, not on a sleep.
func waitSettled(t *testing.T, a *app) {
	t.Helper()
	insp := asynq.NewInspectorFromRedisClient(a.rdb)
	q := a.queues
	queues := []string{q.Events, q.Webhooks, q.WebhookRetries, q.Maintenance, q.Messages, q.Campaigns, q.Tills}
	busy := func() string {
		if lag, err := a.svc.OutboxLag(context.Background()); err != nil || lag > 0 {
			return fmt.Sprintf("outbox lag %v %v", lag, err)
		}
		known, err := insp.Queues()
		if err != nil {
			return err.Error()
		}
		for _, name := range queues {
			if !slices.Contains(known, name) {
				continue // no task ever reached it
			}
			info, err := insp.GetQueueInfo(name)
			if err != nil {
				return err.Error()
			}
			if n := info.Pending + info.Active + info.Retry; n > 0 {
				return fmt.Sprintf("%s: %d pending, %d active, %d retry", name, info.Pending, info.Active, info.Retry)
			}
		}
		return ""
	}
	deadline := time.Now().Add(30 * time.Second)
	for calm := 0; calm < 3; {
		if why := busy(); why != "" {
			calm = 0
			if time.Now().After(deadline) {
				t.Fatalf("the hub did not settle in 30 s: %s", why)
			}
		} else {
			calm++
		}
		time.Sleep(20 * time.Millisecond)
	}
}
