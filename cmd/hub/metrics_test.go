package main

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

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
							if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
								found = true
							}
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
			t.Fatalf("no %s %v", name, labels)
			return 0
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
