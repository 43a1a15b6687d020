package hub_test

import (
	"context"
	"sync/atomic"

	"github.com/7loc/hub/hub"
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

// txWatch counts the calls a test watches inside write transactions and in
// reads; afterRead, when set, runs after each watched call in a read (to
// change something between a read and the write that follows it).
type txWatch struct {
	inWrite, inRead atomic.Int64
	afterRead       func()
}

// watchMark is what a watched call marks in one transaction.
type watchMark struct {
	counted *atomic.Int64
	after   func()
}

// seen marks one watched call.
func (m watchMark) seen() {
	m.counted.Add(1)
	if m.after != nil {
		m.after()
	}
}

// store returns st with each transaction's Tx wrapped by wrap, which gives
// the watched methods the transaction's mark.
func (w *txWatch) store(st hub.Store, wrap func(hub.Tx, watchMark) hub.Tx) hub.Store {
	return wrapStore{st, func(tx hub.Tx, write bool) hub.Tx {
		if write {
			return wrap(tx, watchMark{&w.inWrite, nil})
		}
		return wrap(tx, watchMark{&w.inRead, w.afterRead})
	}}
}

// statsWatchTx watches where a campaign's stats are counted.
type statsWatchTx struct {
	hub.Tx
	watchMark
}

func (t statsWatchTx) CampaignStats(ctx context.Context, businessID, campaignID string) (hub.CampaignStats, error) {
	defer t.seen()
	return t.Tx.CampaignStats(ctx, businessID, campaignID)
}

// walkWatchTx watches where a campaign's audience is read.
type walkWatchTx struct {
	hub.Tx
	watchMark
}

func (t walkWatchTx) AudienceMembers(ctx context.Context, q hub.AudienceQuery) ([]hub.AudienceMember, error) {
	defer t.seen()
	return t.Tx.AudienceMembers(ctx, q)
}
