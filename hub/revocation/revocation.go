// Package revocation carries API key revocations between hub processes over
// Redis pub/sub, so that a key revoked or regenerated on one API replica stops
// working on every replica at once, although each keeps an authentication cache.
// A subscriber that (re)connects empties its cache: it may have missed messages.
package revocation

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// Channel publishes and receives revoked key hashes on one Redis channel.
type Channel struct {
	rdb  redis.UniversalClient
	name string
}

// New returns the channel "<prefix>:api-keys:revoked" ("hub" when prefix is empty).
func New(rdb redis.UniversalClient, prefix string) *Channel {
	if prefix == "" {
		prefix = "hub"
	}
	return &Channel{rdb: rdb, name: prefix + ":api-keys:revoked"}
}

// PublishRevocation announces a revoked key hash to every listener.
func (c *Channel) PublishRevocation(ctx context.Context, keyHash string) error {
	return c.rdb.Publish(ctx, c.name, keyHash).Err()
}

// Listen calls forget with every revoked hash until ctx ends. It calls
// forgetAll whenever the subscription starts or restarts and after any
// failure, since messages may have been missed meanwhile.
func (c *Channel) Listen(ctx context.Context, forget func(keyHash string), forgetAll func()) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		ps := c.rdb.Subscribe(ctx, c.name)
		for {
			msg, err := ps.Receive(ctx)
			if err != nil {
				break
			}
			switch m := msg.(type) {
			case *redis.Subscription:
				forgetAll()
				backoff = 100 * time.Millisecond
			case *redis.Message:
				forget(m.Payload)
			}
		}
		_ = ps.Close()
		forgetAll()
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
