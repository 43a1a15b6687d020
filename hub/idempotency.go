package hub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Idempotency rules: a key's first response is kept for IdempotencyTTL; a
// claim left in progress longer than IdempotencyAbandoned (its process died)
// may be taken over, unless an effect of its request committed.
//
// The key is claimed in a transaction of its own (BeginIdempotent), so that a
// concurrent duplicate is refused before it does anything. The effect then
// marks the claim committed in its own transaction (write does, for every
// write of the request), and a use case that computes its response there
// (reply) stores the response in that same transaction: a process killed
// after the commit leaves a key that replays the first response, never one
// that lets a retry run the effect again. A use case that does not compute
// its response in the transaction leaves it to FinishIdempotent after the
// commit; if the process dies in between, the key stays committed without a
// response and a retry is answered conflict (the effect is not repeated).
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

// IdempotentReply is a response as the caller will send it: what a replay
// of the key sends again.
type IdempotentReply struct {
	Status      int
	ContentType string
	Body        []byte
}

// ReplyFunc turns a use case's result into the response the caller sends
// for it. It must give the same bytes the caller sends.
type ReplyFunc func(result any) (IdempotentReply, error)

// idemTicket is the state of an idempotent request, carried in its context
// from BeginIdempotent to FinishIdempotent. A request runs in one goroutine.
type idemTicket struct {
	req   IdempotentRequest
	claim string
	reply ReplyFunc
	// pending is the response computed by the running write function.
	pending *IdempotentReply
	// committed: a write of the request committed (the key is marked);
	// sealed: and its response was stored with it.
	committed, sealed bool
	sealedReply       IdempotentReply
}

type idemKey struct{}

func ticketOf(ctx context.Context) *idemTicket {
	tk, _ := ctx.Value(idemKey{}).(*idemTicket)
	return tk
}

// ReplyWith tells the idempotent request of ctx (if any) how its response
// is made from a use case's result, so that use cases that can store their
// response in the transaction of their effect do (see reply).
func ReplyWith(ctx context.Context, f ReplyFunc) {
	if tk := ticketOf(ctx); tk != nil {
		tk.reply = f
	}
}

// reply computes the response for result inside a write function, to be
// stored by write in the same transaction. Without an idempotent request in
// ctx, or without a ReplyFunc, it does nothing.
func (s *Service) reply(ctx context.Context, result any) error {
	tk := ticketOf(ctx)
	if tk == nil || tk.reply == nil || tk.sealed {
		return nil
	}
	r, err := tk.reply(result)
	if err != nil {
		return err
	}
	tk.pending = &r
	return nil
}

// beginAttempt readies the ticket for one run of a write function.
func (tk *idemTicket) beginAttempt() {
	if tk != nil {
		tk.pending = nil
	}
}

// commitTx marks the key committed in tx, with the pending response if the
// write function computed one. A key taken over by another request (its
// claim was abandoned) is a conflict and rolls the effect back.
func (s *Service) commitIdempotent(ctx context.Context, tx Tx, tk *idemTicket) error {
	if tk == nil || tk.sealed || (tk.committed && tk.pending == nil) {
		return nil
	}
	rec := tk.req.record(s.clock())
	rec.Claim, rec.Committed = tk.claim, true
	if p := tk.pending; p != nil {
		rec.Done, rec.Status, rec.ContentType, rec.Body = true, p.Status, p.ContentType, p.Body
	}
	err := tx.CommitIdempotencyKey(ctx, rec)
	if ErrorCode(err) == ENotFound {
		return Errorf(EConflict, "a request with this Idempotency-Key is still in progress")
	}
	return err
}

// committedTx records that a write of the request committed.
func (tk *idemTicket) committedTx() {
	if tk == nil {
		return
	}
	tk.committed = true
	if tk.pending != nil && !tk.sealed {
		tk.sealed, tk.sealedReply = true, *tk.pending
	}
	tk.pending = nil
}

// BeginIdempotent claims the key for the request. It returns the stored
// response when the key was used before for the same request, nil when the
// request should run, idempotency_mismatch when the key was used for another
// path or body, and conflict while the first request is still running (or
// when it took effect but died before its response was stored). The request
// must then run with the returned context, and end with FinishIdempotent.
func (s *Service) BeginIdempotent(ctx context.Context, r IdempotentRequest) (context.Context, *IdempotencyRecord, error) {
	if len(r.Key) < 1 || len(r.Key) > MaxIdempotencyKey {
		return ctx, nil, Problems{"Idempotency-Key": "must be 1 to 255 characters"}.Err()
	}
	now := s.clock()
	want := r.record(now)
	want.Claim = NewPageToken()
	var replay *IdempotencyRecord
	err := s.store.Write(ctx, func(tx Tx) error {
		replay = nil
		got, claimed, err := tx.ClaimIdempotencyKey(ctx, want)
		if err != nil || claimed {
			return err
		}
		age := now.Sub(got.CreatedAt)
		if age >= IdempotencyTTL || (!got.Done && !got.Committed && age >= IdempotencyAbandoned) {
			if err := tx.ReleaseIdempotencyKey(ctx, got.BusinessID, got.Key, got.Claim, now.Add(-IdempotencyTTL)); err != nil {
				return err
			}
			if _, claimed, err = tx.ClaimIdempotencyKey(ctx, want); err != nil || claimed {
				return err
			}
			return Errorf(EConflict, "a request with this Idempotency-Key is still in progress")
		}
		if got.Method != want.Method || got.Path != want.Path || got.BodyHash != want.BodyHash {
			return Errorf(EIdempotencyMismatch, "this Idempotency-Key was used with another request")
		}
		if !got.Done {
			if got.Committed && age >= IdempotencyAbandoned {
				return Errorf(EConflict, "the request with this Idempotency-Key took effect but its response was lost; read the result instead of retrying")
			}
			return Errorf(EConflict, "a request with this Idempotency-Key is still in progress")
		}
		replay = got
		return nil
	})
	if err != nil || replay != nil {
		return ctx, replay, err
	}
	return context.WithValue(ctx, idemKey{}, &idemTicket{req: r, claim: want.Claim}), nil, nil
}

// FinishIdempotent stores the response of the request begun with
// BeginIdempotent (ctx is the context it returned), unless its effect stored
// it already. A server error (5xx) releases the key instead, so that the
// client may try again, unless an effect of the request committed: the key
// then stays, so that a retry cannot repeat the effect.
func (s *Service) FinishIdempotent(ctx context.Context, status int, contentType string, body []byte) error {
	tk := ticketOf(ctx)
	if tk == nil {
		return nil
	}
	if tk.sealed {
		if r := tk.sealedReply; r.Status != status || r.ContentType != contentType || !bytes.Equal(r.Body, body) {
			s.log.WarnContext(ctx, "the response stored for an Idempotency-Key differs from the one sent",
				"path", tk.req.Path, "stored_status", r.Status, "sent_status", status)
		}
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	return s.store.Write(ctx, func(tx Tx) error {
		if status >= 500 {
			if tk.committed {
				return nil
			}
			return tx.ReleaseIdempotencyKey(ctx, tk.req.BusinessID, tk.req.Key, tk.claim, s.clock().Add(-IdempotencyTTL))
		}
		rec := tk.req.record(s.clock())
		rec.Claim = tk.claim
		rec.Done, rec.Status, rec.ContentType, rec.Body = true, status, contentType, body
		return tx.CompleteIdempotencyKey(ctx, rec)
	})
}
