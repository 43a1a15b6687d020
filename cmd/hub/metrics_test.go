package main

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/7loc/hub/channels"
	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/redistest"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
	"github.com/7loc/hub/hub/tasks"
)

// TestQueueCollector: /metrics shows a waiting task in its queue's pending
// count and latency, and an event committed but not dispatched as outbox lag.
func TestQueueCollector(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		rdb, _ := redistest.Client(t)
		q := tasks.NewQueues(redistest.Prefix(t, rdb))
		t.Cleanup(func() { _ = rdb.SRem(context.Background(), "asynq:queues", q.Tills).Err() })
		now := time.Now()
		clock := func() time.Time { return now }
		svc, err := hub.NewService(hub.Config{Store: st, Now: clock}) // no publisher: events wait for the relay
		if err != nil {
			t.Fatal(err)
		}
		reg := prometheus.NewRegistry()
		c := newQueueCollector(asynq.NewInspectorFromRedisClient(rdb), q, svc)
		reg.MustRegister(c)
		gauge := func(name string, labels ...string) float64 {
			t.Helper()
			v := metricValue(t, reg, name, labels...)
			if v == -1 {
				t.Fatalf("no %s %v", name, labels)
			}
			return v
		}
		if n := testutil.CollectAndCount(c); n != 7*8+2 {
			t.Errorf("%d metrics, want 8 per queue and 2", n)
		}
		if got := gauge("hub_queue_tasks", "queue", q.Tills, "state", "pending"); got != 0 {
			t.Errorf("pending before = %v", got)
		}
		if got := gauge("hub_outbox_lag_seconds"); got != 0 {
			t.Errorf("outbox lag with no events = %v", got)
		}
		client := asynq.NewClientFromRedisClient(rdb)
		if _, err := client.Enqueue(asynq.NewTask("till:sale", []byte(`{}`)), asynq.Queue(q.Tills)); err != nil {
			t.Fatal(err)
		}
		if got := gauge("hub_queue_tasks", "queue", q.Tills, "state", "pending"); got != 1 {
			t.Errorf("pending after one enqueue = %v", got)
		}
		if got := gauge("hub_queue_scrape_ok"); got != 1 {
			t.Errorf("scrape_ok = %v", got)
		}
		// An event committed 90 s ago and never dispatched.
		k, err := svc.EnsureKey(ctx, "Lag", "till", nil)
		if err != nil {
			t.Fatal(err)
		}
		pr, err := svc.Authenticate(ctx, k.Key)
		if err != nil {
			t.Fatal(err)
		}
		tpl, err := svc.CreateCardTemplate(ctx, pr.Business.ID, hub.CardTemplateInput{Name: "T",
			Goals: []hub.GoalInput{{Stamps: 2, Reward: hub.RewardInput{Title: "R"}}}})
		if err != nil {
			t.Fatal(err)
		}
		email := "lag@example.com"
		if _, _, err := svc.IssueCard(ctx, pr, hub.IssueCardInput{TemplateID: tpl.ID, Customer: hub.CustomerInput{Email: &email}}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(90 * time.Second)
		if got := gauge("hub_outbox_lag_seconds"); got < 89 || got > 91 {
			t.Errorf("outbox lag = %v, want about 90 s", got)
		}
	})
}

// metricValue returns the value of the counter or gauge with the labels, or
// -1 when the registry has none.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					found = found || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
				}
				if !found {
					continue next
				}
			}
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	return -1
}

// TestWorkerMetrics: a webhook that fails once and then succeeds shows as
// one retry and one delivery, its task runs are counted, and a periodic
// task's run sets its last-success time.
func TestWorkerMetrics(t *testing.T) {
	a, pr, tpl := webhookApp(t)
	r := newReceiver(t, func(n int) (int, http.Header) {
		if n == 1 {
			return 503, nil
		}
		return 200, nil
	})
	subscribe(t, a, pr, "card_issued", r.srv.URL+"/hook")
	if got := metricValue(t, a.registry, "hub_webhook_attempts_total", "outcome", "delivered"); got > 0 {
		t.Fatalf("delivered before any event = %v", got)
	}
	issue(t, a, pr, tpl, "metrics@example.com")
	r.wait(t, 2, 30*time.Second)
	waitFor(t, 5*time.Second, func() bool {
		return metricValue(t, a.registry, "hub_webhook_attempts_total", "outcome", "delivered") == 1
	})
	if got := metricValue(t, a.registry, "hub_webhook_attempts_total", "outcome", "retry"); got != 1 {
		t.Errorf("retries = %v, want 1", got)
	}
	if got := metricValue(t, a.registry, "hub_task_runs_total", "type", tasks.TypeDeliverWebhook, "result", "ok"); got < 2 {
		t.Errorf("webhook task runs = %v, want at least 2", got)
	}
	if got := metricValue(t, a.registry, "hub_periodic_last_success_timestamp_seconds", "task", tasks.TypeRelayOutbox); got != -1 {
		t.Errorf("relay last success before it ran = %v", got)
	}
	before := time.Now()
	if _, err := a.queue.Enqueue(asynq.NewTask(tasks.TypeRelayOutbox, nil), asynq.Queue(a.queues.Maintenance)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool {
		return metricValue(t, a.registry, "hub_periodic_last_success_timestamp_seconds", "task", tasks.TypeRelayOutbox) >= float64(before.Unix())
	})
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stubLedger answers every send with its outcome.
type stubLedger struct {
	channels.Ledger
	out hub.SendOutcome
}

func (l stubLedger) FinishSend(context.Context, *hub.Outgoing, hub.Receipt, error, bool) (hub.SendOutcome, error) {
	return l.out, nil
}

func (l stubLedger) FinishSends(_ context.Context, sent []hub.Sent, _ bool) ([]hub.SendOutcome, error) {
	outs := make([]hub.SendOutcome, len(sent))
	for i := range outs {
		outs[i] = l.out
	}
	return outs, nil
}

func (l stubLedger) FinishAndClaim(ctx context.Context, sent []hub.Sent, final bool, next []hub.DeliveryKey) ([]hub.SendOutcome, []hub.Claim, error) {
	outs, _ := l.FinishSends(ctx, sent, final)
	return outs, make([]hub.Claim, len(next)), nil
}

// TestCountingLedger: each provider answer is counted by channel and outcome.
func TestCountingLedger(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		out     hub.SendOutcome
		outcome string
	}{
		{"sent", nil, hub.SendOutcome{}, "sent"},
		{"rate limited", errors.New("429"), hub.SendOutcome{Retry: true, RateLimited: true}, "rate_limited"},
		{"transient", errors.New("502"), hub.SendOutcome{Retry: true}, "retry"},
		{"permanent", errors.New("400"), hub.SendOutcome{}, "failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m, err := newWorkerMetrics(reg, nil)
			if err != nil {
				t.Fatal(err)
			}
			l := countingLedger{Ledger: stubLedger{out: tc.out}, sends: m.sends}
			o := &hub.Outgoing{Delivery: &hub.Delivery{Channel: "telegram"}}
			if _, err := l.FinishSend(context.Background(), o, hub.Receipt{}, tc.err, false); err != nil {
				t.Fatal(err)
			}
			if _, err := l.FinishSends(context.Background(), []hub.Sent{{Out: o, Err: tc.err}, {Out: o, Err: tc.err}}, false); err != nil {
				t.Fatal(err)
			}
			if _, _, err := l.FinishAndClaim(context.Background(), []hub.Sent{{Out: o, Err: tc.err}}, false, nil); err != nil {
				t.Fatal(err)
			}
			if got := metricValue(t, reg, "hub_message_sends_total", "channel", "telegram", "outcome", tc.outcome); got != 4 {
				t.Errorf("%s sends = %v, want 4", tc.outcome, got)
			}
		})
	}
}
