package hub_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
	"github.com/7loc/hub/templates"
)

// wrapStore hands a use case the Tx that wrap makes of each transaction's,
// told whether it is a write's.
type wrapStore struct {
	hub.Store
	wrap func(tx hub.Tx, write bool) hub.Tx
}

func (s wrapStore) Write(ctx context.Context, fn func(hub.Tx) error) error {
	return s.Store.Write(ctx, func(tx hub.Tx) error { return fn(s.wrap(tx, true)) })
}

func (s wrapStore) Read(ctx context.Context, fn func(hub.Tx) error) error {
	return s.Store.Read(ctx, func(tx hub.Tx) error { return fn(s.wrap(tx, false)) })
}

// statsWatch notes where a campaign's stats are counted: inside a write
// transaction (on SQLite, holding every business's writes) or in a read.
// onRead, when set, runs after each count in a read.
type statsWatch struct {
	inWrite, inRead atomic.Int64
	onRead          func()
}

func (w *statsWatch) store(st hub.Store) hub.Store {
	return wrapStore{st, func(tx hub.Tx, write bool) hub.Tx {
		if write {
			return statsWatchTx{tx, &w.inWrite, nil}
		}
		return statsWatchTx{tx, &w.inRead, w.onRead}
	}}
}

type statsWatchTx struct {
	hub.Tx
	counted *atomic.Int64
	after   func()
}

func (t statsWatchTx) CampaignStats(ctx context.Context, businessID, campaignID string) (hub.CampaignStats, error) {
	t.counted.Add(1)
	st, err := t.Tx.CampaignStats(ctx, businessID, campaignID)
	if t.after != nil {
		t.after()
	}
	return st, err
}

// TestCampaignEndsWithStatsCountedOutsideTheWriter: the step that ends a
// campaign counts its final stats in a read, not in the write that ends it
// (a million recipients' stats held SQLite's one writer for seconds); the
// audience is the walk's own count of recipients; and a campaign paused
// between the count and the end is not ended.
func TestCampaignEndsWithStatsCountedOutsideTheWriter(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		m := newMessagingFixture(t, st)
		watch := &statsWatch{}
		svc, err := hub.NewService(hub.Config{Store: watch.store(st), Publisher: m.pub, Now: m.clock, PublicURL: "https://hub.test",
			SecretKey: make([]byte, 32), Renderer: templates.New(templates.Options{})})
		if err != nil {
			t.Fatal(err)
		}
		m.svc = svc
		const n = hub.CampaignBatch + 30
		for i := range n {
			consent := []string{"email"}
			if i%10 == 0 {
				consent = nil // no channel: skipped
			}
			m.customer(i, consent, false)
		}
		c := m.campaign(nil, textAndEmail)
		if _, err := m.svc.SendCampaign(m.ctx, m.biz, c.ID); err != nil {
			t.Fatal(err)
		}
		// Walk and deliver everything, stopping at the step that would end it.
		paused := false
		watch.onRead = func() {
			if paused {
				return
			}
			paused = true
			if _, err := m.svc.PauseCampaign(m.ctx, m.biz, c.ID); err != nil {
				t.Error(err)
			}
		}
		m.run(c.ID, "A", nil, 20)
		got, err := m.svc.CampaignByID(m.ctx, m.biz, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !paused || got.Status != hub.CampaignStatusPaused {
			t.Fatalf("paused between the count and the end: status %s (pause ran: %v), want paused", got.Status, paused)
		}
		watch.onRead = nil
		if _, err := m.svc.ResumeCampaign(m.ctx, m.biz, c.ID); err != nil {
			t.Fatal(err)
		}
		writesBefore := watch.inWrite.Load()
		m.run(c.ID, "A", nil, 5)
		if got, err = m.svc.CampaignByID(m.ctx, m.biz, c.ID); err != nil {
			t.Fatal(err)
		}
		skipped := (n + 9) / 10
		want := hub.CampaignStats{Audience: n, Sent: n - skipped, Skipped: map[string]int{hub.ReasonNoChannel: skipped}}
		if d := cmp.Diff(want, got.Stats); d != "" || got.Status != hub.CampaignStatusSent {
			t.Fatalf("status %s, final stats (-want +got):\n%s", got.Status, d)
		}
		if w := watch.inWrite.Load() - writesBefore; w != 0 {
			t.Errorf("the stats were counted %d times inside a write transaction while the campaign ended, want 0", w)
		}
		evs, _, err := m.svc.Events(m.ctx, hub.EventFilter{BusinessID: m.biz, Type: hub.CampaignSent, Page: hub.Page{Limit: 10}})
		if err != nil || len(evs) != 1 {
			t.Fatalf("%d campaign_sent events (%v), want 1", len(evs), err)
		}
	})
}
