package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Idempotency rules: a key's first response is kept for IdempotencyTTL; a
// claim left in progress longer than IdempotencyAbandoned (its process died)
// may be taken over.
const (
	IdempotencyTTL       = 24 * time.Hour
	IdempotencyAbandoned = 2 * time.Minute
	MaxIdempotencyKey    = 255
)

// IdempotentRequest is a request that carries an Idempotency-Key.
type IdempotentRequest struct {
	BusinessID string
	Key        string
	Method     string
	Path       string
	Body       []byte
}

func (r IdempotentRequest) record(now time.Time) *IdempotencyRecord {
	sum := sha256.Sum256(r.Body)
	return &IdempotencyRecord{
		BusinessID: r.BusinessID, Key: r.Key, Method: r.Method, Path: r.Path,
		BodyHash: hex.EncodeToString(sum[:]), CreatedAt: now,
	}
}

// BeginIdempotent claims the key for the request. It returns the stored
// response when the key was used before for the same request, nil when the
// request should run, idempotency_mismatch when the key was used for another
// path or body, and conflict while the first request is still running.
func (s *Service) BeginIdempotent(ctx context.Context, r IdempotentRequest) (*IdempotencyRecord, error) {
	if len(r.Key) < 1 || len(r.Key) > MaxIdempotencyKey {
		return nil, Problems{"Idempotency-Key": "must be 1 to 255 characters"}.Err()
	}
	now := s.clock()
	want := r.record(now)
	var replay *IdempotencyRecord
	err := s.store.Write(ctx, func(tx Tx) error {
		replay = nil
		got, claimed, err := tx.ClaimIdempotencyKey(ctx, want)
		if err != nil || claimed {
			return err
		}
		stale := now.Sub(got.CreatedAt) >= IdempotencyTTL ||
			(!got.Done && now.Sub(got.CreatedAt) >= IdempotencyAbandoned)
		if stale {
			if err := tx.ReleaseIdempotencyKey(ctx, r.BusinessID, r.Key); err != nil {
				return err
			}
			_, _, err = tx.ClaimIdempotencyKey(ctx, want)
			return err
		}
		if got.Method != want.Method || got.Path != want.Path || got.BodyHash != want.BodyHash {
			return Errorf(EIdempotencyMismatch, "this Idempotency-Key was used with another request")
		}
		if !got.Done {
			return Errorf(EConflict, "a request with this Idempotency-Key is still in progress")
		}
		replay = got
		return nil
	})
	return replay, err
}

// FinishIdempotent stores the response of a claimed request. Server errors
// (5xx) release the key instead, so that the client may try again.
func (s *Service) FinishIdempotent(ctx context.Context, r IdempotentRequest, status int, contentType string, body []byte) error {
	ctx = context.WithoutCancel(ctx)
	return s.store.Write(ctx, func(tx Tx) error {
		if status >= 500 {
			return tx.ReleaseIdempotencyKey(ctx, r.BusinessID, r.Key)
		}
		rec := r.record(s.clock())
		rec.Done, rec.Status, rec.ContentType, rec.Body = true, status, contentType, body
		return tx.CompleteIdempotencyKey(ctx, rec)
	})
}
