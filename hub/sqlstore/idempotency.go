package sqlstore

import (
	"context"
	"time"

	"github.com/7loc/hub/hub"
)

const idempotencyKind = "idempotency key"

// ClaimIdempotencyKey implements hub.Tx: it records r as in progress (Done
// false) and returns a copy of it with true, or returns the record the business
// already has under the key with false.
func (t *tx) ClaimIdempotencyKey(ctx context.Context, r *hub.IdempotencyRecord) (*hub.IdempotencyRecord, bool, error) {
	res, err := t.exec(ctx,
		"INSERT INTO idempotency_keys (business_id, key, method, path, body_hash, done, status, content_type, body, created_at)"+
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (business_id, key) DO NOTHING",
		r.BusinessID, r.Key, r.Method, r.Path, r.BodyHash, false, r.Status, r.ContentType, r.Body, t.tm(r.CreatedAt))
	if err != nil {
		return nil, false, mapErr(err, idempotencyKind)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, false, mapErr(err, idempotencyKind)
	}
	if n > 0 {
		claimed := *r
		claimed.Done = false
		return &claimed, true, nil
	}
	existing, err := one(ctx, t, idempotencyKind,
		"SELECT business_id, key, method, path, body_hash, done, status, content_type, body, created_at"+
			" FROM idempotency_keys WHERE business_id = ? AND key = ?",
		[]any{r.BusinessID, r.Key}, func(s scanner) (*hub.IdempotencyRecord, error) {
			var e hub.IdempotencyRecord
			err := s.Scan(&e.BusinessID, &e.Key, &e.Method, &e.Path, &e.BodyHash, &e.Done, &e.Status,
				&e.ContentType, &e.Body, timeDest{&e.CreatedAt})
			return &e, err
		})
	if err != nil {
		return nil, false, err
	}
	return existing, false, nil
}

// CompleteIdempotencyKey implements hub.Tx: it stores the response (Status,
// ContentType, Body) of a claimed key and marks it done.
func (t *tx) CompleteIdempotencyKey(ctx context.Context, r *hub.IdempotencyRecord) error {
	return t.execOne(ctx, idempotencyKind,
		"UPDATE idempotency_keys SET done = ?, status = ?, content_type = ?, body = ? WHERE business_id = ? AND key = ?",
		true, r.Status, r.ContentType, r.Body, r.BusinessID, r.Key)
}

// ReleaseIdempotencyKey implements hub.Tx: it forgets the key so that the
// request may run again; an unknown key is no error.
func (t *tx) ReleaseIdempotencyKey(ctx context.Context, businessID, key string) error {
	_, err := t.exec(ctx, "DELETE FROM idempotency_keys WHERE business_id = ? AND key = ?", businessID, key)
	return mapErr(err, idempotencyKind)
}

// PurgeIdempotencyKeys implements hub.Tx: it deletes at most limit records
// of every business created before at, oldest first, and returns how many
// went.
func (t *tx) PurgeIdempotencyKeys(ctx context.Context, at time.Time, limit int) (int64, error) {
	return t.execCount(ctx, idempotencyKind, `DELETE FROM idempotency_keys WHERE (business_id, key) IN
		(SELECT business_id, key FROM idempotency_keys WHERE created_at < ? ORDER BY created_at LIMIT ?)`, t.tm(at), limit)
}
