package hub_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// TestCampaignEndsWithStatsCountedOutsideTheWriter: the step that ends a
// campaign counts its final stats in a read, not in the write that ends it
// (a million recipients' stats held SQLite's one writer for seconds); the
// audience is the walk's own count of recipients; and a campaign paused
// between the count and the end is not ended.
func TestCampaignEndsWithStatsCountedOutsideTheWriter(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		m := newMessagingFixture(t, st)
		watch := &txWatch{}
		m.useStore(watch.store(st, func(tx hub.Tx, mark watchMark) hub.Tx { return statsWatchTx{tx, mark} }))
		const n = hub.CampaignBatch + 30
		c := m.sendingCampaign(n)
		// Walk and deliver everything, stopping at the step that would end it.
		paused := false
		watch.afterRead = func() {
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
		watch.afterRead = nil
		if _, err := m.svc.ResumeCampaign(m.ctx, m.biz, c.ID); err != nil {
			t.Fatal(err)
		}
		writesBefore := watch.inWrite.Load()
		m.run(c.ID, "A", nil, 5)
		m.wantSent(c.ID, n)
		if w := watch.inWrite.Load() - writesBefore; w != 0 {
			t.Errorf("the stats were counted %d times inside a write transaction while the campaign ended, want 0", w)
		}
		evs, _, err := m.svc.Events(m.ctx, hub.EventFilter{BusinessID: m.biz, Type: hub.CampaignSent, Page: hub.Page{Limit: 10}})
		if err != nil || len(evs) != 1 {
			t.Fatalf("%d campaign_sent events (%v), want 1", len(evs), err)
		}
	})
}

// TestCampaignWalksOutsideTheWriter: a campaign's walk reads and renders
// each batch of its audience in a read transaction, and its write only
// stores the batch (on SQLite the one writer serves every business); a
// batch read before another step moved the checkpoint is not stored, the
// write walks from the new checkpoint instead, and every customer is
// reached once.
func TestCampaignWalksOutsideTheWriter(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		m := newMessagingFixture(t, st)
		watch := &txWatch{}
		m.useStore(watch.store(st, func(tx hub.Tx, mark watchMark) hub.Tx { return walkWatchTx{tx, mark} }))
		const n = 2*hub.CampaignBatch + 30
		c := m.sendingCampaign(n)
		// The first step's batch is read; then, before its write, another
		// step (nested here) walks that batch and moves the checkpoint.
		nested := false
		var nestedStep hub.Step
		watch.afterRead = func() {
			if nested {
				return
			}
			nested = true
			var err error
			if nestedStep, err = m.svc.CampaignStep(m.ctx, m.biz, c.ID, "A"); err != nil {
				t.Error(err)
			}
		}
		step, err := m.svc.CampaignStep(m.ctx, m.biz, c.ID, "A")
		if err != nil {
			t.Fatal(err)
		}
		watch.afterRead = nil
		if got := watch.inWrite.Load(); got != 1 {
			t.Errorf("the step whose batch was walked meanwhile read the audience %d times in its write, want 1 (from the new checkpoint)", got)
		}
		for _, s := range []hub.Step{nestedStep, step} {
			for _, k := range s.Deliveries {
				m.deliver(k, nil)
			}
		}
		writesBefore := watch.inWrite.Load()
		m.run(c.ID, "A", nil, 20)
		if w := watch.inWrite.Load() - writesBefore; w != 0 {
			t.Errorf("the audience was read %d times inside write transactions, want 0", w)
		}
		if r := watch.inRead.Load(); r < 3 {
			t.Errorf("the audience was read %d times in reads, want at least one per batch (3)", r)
		}
		m.wantSent(c.ID, n)
		skipped := (n + 9) / 10
		perCustomer := map[string]int{}
		for _, d := range m.campaignDeliveries(c.ID) {
			perCustomer[d.CustomerID]++
			if d.Status != hub.DeliverySent {
				t.Errorf("delivery %s is %s, want sent", d.ID, d.Status)
			}
		}
		if len(perCustomer) != n-skipped {
			t.Errorf("%d customers have a delivery, want %d", len(perCustomer), n-skipped)
		}
		for id, k := range perCustomer {
			if k != 1 {
				t.Errorf("customer %s has %d deliveries, want 1", id, k)
			}
		}
	})
}

// sendingCampaign creates n customers, every tenth without consent (so
// skipped with no channel), and a campaign to them all, sent.
func (m *messagingFixture) sendingCampaign(n int) *hub.Campaign {
	m.t.Helper()
	for i := range n {
		consent := []string{"email"}
		if i%10 == 0 {
			consent = nil
		}
		m.customer(i, consent, false)
	}
	c := m.campaign(nil, textAndEmail)
	if _, err := m.svc.SendCampaign(m.ctx, m.biz, c.ID); err != nil {
		m.t.Fatal(err)
	}
	return c
}

// wantSent checks that sendingCampaign's campaign of n customers ended
// sent with every reachable one sent and the rest skipped.
func (m *messagingFixture) wantSent(id string, n int) {
	m.t.Helper()
	got, err := m.svc.CampaignByID(m.ctx, m.biz, id)
	if err != nil {
		m.t.Fatal(err)
	}
	skipped := (n + 9) / 10
	want := hub.CampaignStats{Audience: n, Sent: n - skipped, Skipped: map[string]int{hub.ReasonNoChannel: skipped}}
	if d := cmp.Diff(want, got.Stats); d != "" || got.Status != hub.CampaignStatusSent {
		m.t.Fatalf("status %s, final stats (-want +got):\n%s", got.Status, d)
	}
}
