package hub_test

import (
	"testing"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

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
