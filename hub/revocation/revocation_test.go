package revocation_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/redistest"
	"github.com/7loc/hub/hub/revocation"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// TestRevokedKeyStopsOnEveryReplica: two services (API replicas) share the
// database and Redis and cache keys for a minute; a key regenerated on one
// stops working on the other at once.
func TestRevokedKeyStopsOnEveryReplica(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		rdb, _ := redistest.Client(t)
		ch := revocation.New(rdb, redistest.Prefix(t, rdb))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		replica := func() *hub.Service {
			svc, err := hub.NewService(hub.Config{Store: st, KeyCacheTTL: time.Minute, Revocations: ch})
			if err != nil {
				t.Fatal(err)
			}
			var ready sync.Once
			subscribed := make(chan struct{})
			go ch.Listen(ctx, svc.ForgetKey, func() { svc.ForgetAllKeys(); ready.Do(func() { close(subscribed) }) })
			<-subscribed
			return svc
		}
		a, b := replica(), replica()
		k, err := a.EnsureKey(ctx, "Café", "anna", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, svc := range []*hub.Service{a, b} {
			if _, err := svc.Authenticate(ctx, k.Key); err != nil {
				t.Fatalf("fresh key: %v", err)
			}
		}
		if _, err := a.RegenerateAPIKey(ctx, mustBiz(t, a, k.Key), k.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Authenticate(ctx, k.Key); hub.ErrorCode(err) != hub.EUnauthorized {
			t.Errorf("old key on the replica that regenerated it: %v", err)
		}
		deadline := time.Now().Add(2 * time.Second)
		for {
			_, err := b.Authenticate(ctx, k.Key)
			if hub.ErrorCode(err) == hub.EUnauthorized {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the other replica still accepts the old key after 2 s: %v", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// TestCacheExpires: without revocation messages, the TTL bounds how long a
// revoked key works elsewhere.
func TestCacheExpires(t *testing.T) {
	st := sqltest.Open(t, sqlstore.DialectSQLite)
	ctx := context.Background()
	a, _ := hub.NewService(hub.Config{Store: st, KeyCacheTTL: 200 * time.Millisecond})
	b, _ := hub.NewService(hub.Config{Store: st, KeyCacheTTL: 200 * time.Millisecond})
	k, err := a.EnsureKey(ctx, "Café", "anna", nil)
	if err != nil {
		t.Fatal(err)
	}
	biz := mustBiz(t, b, k.Key) // b now holds the key in its cache
	if err := a.RevokeAPIKey(ctx, biz, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authenticate(ctx, k.Key); err != nil {
		t.Fatalf("within the TTL the cached key still works (that is what the TTL bounds): %v", err)
	}
	time.Sleep(250 * time.Millisecond)
	if _, err := b.Authenticate(ctx, k.Key); hub.ErrorCode(err) != hub.EUnauthorized {
		t.Errorf("after the TTL: %v, want unauthorized", err)
	}
}

// mustBiz authenticates key on svc and returns its business id.
func mustBiz(t *testing.T, svc *hub.Service, key string) string {
	t.Helper()
	pr, err := svc.Authenticate(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pr.Business.ID
}

// pausingStore holds the next read in the middle until released, as a slow
// database would.
type pausingStore struct {
	hub.Store
	armed   atomic.Bool
	reading chan struct{}
	release chan struct{}
}

func (p *pausingStore) Read(ctx context.Context, fn func(hub.Tx) error) error {
	return p.Store.Read(ctx, func(tx hub.Tx) error {
		err := fn(tx)
		if p.armed.CompareAndSwap(true, false) {
			close(p.reading)
			<-p.release
		}
		return err
	})
}

// TestRevokedDuringAuthenticationIsNotCached: a request reads a key from
// the database, the key is revoked before the request caches it; the
// cache must not keep the revoked key alive until its TTL.
func TestRevokedDuringAuthenticationIsNotCached(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		ps := &pausingStore{Store: st, reading: make(chan struct{}), release: make(chan struct{})}
		svc, err := hub.NewService(hub.Config{Store: ps, KeyCacheTTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		k, err := svc.EnsureKey(ctx, "Café", "anna", nil)
		if err != nil {
			t.Fatal(err)
		}
		biz := mustBiz(t, svc, k.Key)
		svc.ForgetAllKeys()
		ps.armed.Store(true)
		done := make(chan error, 1)
		go func() { _, err := svc.Authenticate(ctx, k.Key); done <- err }()
		<-ps.reading // the request has read the key, still valid
		if err := svc.RevokeAPIKey(ctx, biz, k.ID); err != nil {
			t.Fatal(err)
		}
		close(ps.release)
		if err := <-done; err != nil {
			t.Fatalf("the request that read the key before the revocation: %v", err)
		}
		if _, err := svc.Authenticate(ctx, k.Key); hub.ErrorCode(err) != hub.EUnauthorized {
			t.Errorf("after the revocation: %v, want unauthorized at once", err)
		}
	})
}
