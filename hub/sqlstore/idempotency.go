package sqlstore

import (
	"context"
	"time"

	"github.com/7loc/hub/hub"
)

const idempotencyKind = "idempotency key"

// ClaimIdempotencyKey implements hub.Tx: it records r as in progress (Done
// and Committed false, under r.Claim) and returns a copy of it with true, or
// returns the record the business already has under the key with false.
func (t *tx) ClaimIdempotencyKey(ctx context.Context, r *hub.IdempotencyRecord) (*hub.IdempotencyRecord, bool, error) {
	res, err := t.exec(ctx,
		"INSERT INTO idempotency_keys (business_id, key, method, path, body_hash, done, status, content_type, body, created_at, claim, committed)"+
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (business_id, key) DO NOTHING",
		r.BusinessID, r.Key, r.Method, r.Path, r.BodyHash, false, r.Status, r.ContentType, r.Body, t.tm(r.CreatedAt), r.Claim, false)
	if err != nil {
		return nil, false, mapErr(err, idempotencyKind)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, false, mapErr(err, idempotencyKind)
	}
	if n > 0 {
		claimed := *r
		claimed.Done, claimed.Committed = false, false
		return &claimed, true, nil
	}
	existing, err := one(ctx, t, idempotencyKind,
		"SELECT business_id, key, method, path, body_hash, done, status, content_type, body, created_at, claim, committed"+
			" FROM idempotency_keys WHERE business_id = ? AND key = ?",
		[]any{r.BusinessID, r.Key}, func(s scanner) (*hub.IdempotencyRecord, error) {
			var e hub.IdempotencyRecord
			err := s.Scan(&e.BusinessID, &e.Key, &e.Method, &e.Path, &e.BodyHash, &e.Done, &e.Status,
				&e.ContentType, &e.Body, timeDest{&e.CreatedAt}, &e.Claim, &e.Committed)
			return &e, err
		})
	if err != nil {
		return nil, false, err
	}
	return existing, false, nil
}

// CommitIdempotencyKey implements hub.Tx: in the transaction of the
// request's effect it marks the key claimed under r.Claim as committed and,
// when r.Done, stores the response with it. A key no longer held under
// r.Claim is not_found. On PostgreSQL the UPDATE locks the row until the
// transaction ends, so a concurrent release waits and then finds it
// committed.
func (t *tx) CommitIdempotencyKey(ctx context.Context, r *hub.IdempotencyRecord) error {
	return t.execOne(ctx, idempotencyKind,
		"UPDATE idempotency_keys SET committed = ?, done = ?, status = ?, content_type = ?, body = ?"+
			" WHERE business_id = ? AND key = ? AND claim = ?",
		true, r.Done, r.Status, r.ContentType, r.Body, r.BusinessID, r.Key, r.Claim)
}

// CompleteIdempotencyKey implements hub.Tx: it stores the response (Status,
// ContentType, Body) of the key claimed under r.Claim and marks it done; a
// key no longer held under r.Claim is not_found.
func (t *tx) CompleteIdempotencyKey(ctx context.Context, r *hub.IdempotencyRecord) error {
	return t.execOne(ctx, idempotencyKind,
		"UPDATE idempotency_keys SET done = ?, status = ?, content_type = ?, body = ? WHERE business_id = ? AND key = ? AND claim = ?",
		true, r.Status, r.ContentType, r.Body, r.BusinessID, r.Key, r.Claim)
}

// ReleaseIdempotencyKey implements hub.Tx: it forgets the key held under
// claim so that the request may run again, unless an effect committed under
// it after expired (then it stays; an unknown key or claim is no error).
func (t *tx) ReleaseIdempotencyKey(ctx context.Context, businessID, key, claim string, expired time.Time) error {
	_, err := t.exec(ctx, "DELETE FROM idempotency_keys WHERE business_id = ? AND key = ? AND claim = ?"+
		" AND (NOT committed OR created_at <= ?)", businessID, key, claim, t.tm(expired))
	return mapErr(err, idempotencyKind)
}

// PurgeIdempotencyKeys implements hub.Tx: it deletes at most limit records
// of every business created before at, oldest first, and returns how many
// went.
func (t *tx) PurgeIdempotencyKeys(ctx context.Context, at time.Time, limit int) (int64, error) {
	return t.execCount(ctx, idempotencyKind, `DELETE FROM idempotency_keys WHERE (business_id, key) IN
		(SELECT business_id, key FROM idempotency_keys WHERE created_at < ? ORDER BY created_at LIMIT ?)`, t.tm(at), limit)
}
