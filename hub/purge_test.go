package hub_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

func TestPurgeRunsInBatches(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		ctx, now, pr := f.ctx, f.clock(), f.pr
		// The purge runs on a service whose store counts transactions.
		cs := &txCountingStore{Store: st}
		svc, err := hub.NewService(hub.Config{Store: cs, Now: f.clock})
		if err != nil {
			t.Fatal(err)
		}
		old := 2*hub.PurgeBatch + 1
		if err := st.Write(ctx, func(tx hub.Tx) error {
			for i := 0; i <= old; i++ {
				at := now.Add(-48 * time.Hour).Add(time.Duration(i) * time.Millisecond)
				if i == old {
					at = now.Add(-time.Hour) // the one to keep
				}
				if _, _, err := tx.ClaimIdempotencyKey(ctx, &hub.IdempotencyRecord{BusinessID: pr.Business.ID,
					Key: fmt.Sprintf("k%d", i), Method: "POST", Path: "/v1/cards", BodyHash: "h", CreatedAt: at}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}

		before := cs.writes.Load()
		n, err := svc.PurgeIdempotencyKeys(ctx, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(old) {
			t.Errorf("purged %d, want %d", n, old)
		}
		if w := cs.writes.Load() - before; w != 3 {
			t.Errorf("the purge took %d transactions, want 3 (two full batches and a short one)", w)
		}
		var held bool
		errRollback := errors.New("look, do not touch")
		err = st.Write(ctx, func(tx hub.Tx) error {
			_, ok, err := tx.ClaimIdempotencyKey(ctx, &hub.IdempotencyRecord{BusinessID: pr.Business.ID,
				Key: fmt.Sprintf("k%d", old), Method: "POST", Path: "/v1/cards", BodyHash: "h", CreatedAt: now})
			if err != nil {
				return err
			}
			held = !ok
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		if !held {
			t.Error("the recent key was purged too")
		}
	})
}
