package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// errKilled stands for the process dying.
var errKilled = errors.New("process killed")

// dyingPublisher panics when the first events are published: the process
// dies right after its transaction committed, before the HTTP layer could
// store or send the response.
type dyingPublisher struct{}

func (dyingPublisher) PublishEvents(context.Context, []hub.EventKey) error { panic(errKilled) }

// jsonReply is the response the HTTP layer sends for a result.
func jsonReply(v any) (hub.IdempotentReply, error) {
	b, err := json.Marshal(v)
	return hub.IdempotentReply{Status: 200, ContentType: "application/json; charset=utf-8", Body: b}, err
}

// TestIdempotentStampSurvivesKill adds a stamp with an Idempotency-Key on a
// process that dies after the commit, before the response is stored (no
// FinishIdempotent ever runs), and retries the request on another process
// after the claim would count as abandoned. The retry must get the first
// result and the card must hold one stamp: with the claim, the effect and
// the response in three transactions, the retry took the key over and
// stamped a second time.
func TestIdempotentStampSurvivesKill(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		card := f.card("kill@example.com")
		one := 1
		body, _ := json.Marshal(hub.AddStampsInput{Count: &one})
		req := hub.IdempotentRequest{BusinessID: f.pr.Business.ID, Key: "till-7-receipt-42", Method: "POST",
			Path: "/v1/cards/" + card.ID + "/stamps", Body: body}

		// request runs the request as the HTTP layer does: begin, the use
		// case, finish; a replay returns the stored response instead.
		request := func(svc *hub.Service) (replayed bool, reply hub.IdempotentReply, err error) {
			ctx, rec, err := svc.BeginIdempotent(f.ctx, req)
			if err != nil {
				return false, reply, err
			}
			if rec != nil {
				return true, hub.IdempotentReply{Status: rec.Status, ContentType: rec.ContentType, Body: rec.Body}, nil
			}
			hub.ReplyWith(ctx, jsonReply)
			res, err := svc.AddStamps(ctx, f.pr, card.ID, hub.AddStampsInput{Count: &one})
			if err != nil {
				return false, reply, err
			}
			reply, err = jsonReply(res)
			if err != nil {
				return false, reply, err
			}
			return false, reply, svc.FinishIdempotent(ctx, reply.Status, reply.ContentType, reply.Body)
		}

		dying, err := hub.NewService(hub.Config{Store: st, Publisher: dyingPublisher{}, Now: f.clock, PublicURL: "https://hub.test"})
		if err != nil {
			t.Fatal(err)
		}
		func() {
			defer func() {
				if p := recover(); p != errKilled {
					t.Fatalf("the first request did not die after its commit: %v", p)
				}
			}()
			_, _, _ = request(dying)
		}()

		for _, wait := range []time.Duration{0, hub.IdempotencyAbandoned + time.Second, time.Hour} {
			f.advance(wait)
			replayed, reply, err := request(f.svc)
			if err != nil {
				t.Errorf("retry after %v: %v", wait, err)
				continue
			}
			if !replayed {
				t.Errorf("retry after %v ran the request again", wait)
			}
			var res hub.StampResult
			if err := json.Unmarshal(reply.Body, &res); err != nil || reply.Status != 200 {
				t.Errorf("retry after %v: %d %s (%v)", wait, reply.Status, reply.Body, err)
				continue
			}
			if res.Card == nil || res.Card.Stamps != 1 || len(res.Events) != 1 {
				t.Errorf("retry after %v: replayed result %s, want the first stamp's", wait, reply.Body)
			}
		}
		got, err := f.svc.Card(f.ctx, f.pr.Business.ID, card.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Stamps != 1 {
			t.Errorf("card has %d stamps, want 1", got.Stamps)
		}
		if d := cmp.Diff([]hub.EventType{hub.CardIssued, hub.StampAdded}, f.events(hub.EventFilter{CardID: card.ID})); d != "" {
			t.Errorf("events (-want +got):\n%s", d)
		}
	})
}
