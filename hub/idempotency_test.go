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

// TestIdempotentWritesSurviveKill does for the other card and voucher
// writes what TestIdempotentStampSurvivesKill does for a stamp: the process
// dies after the commit, and every retry replays the first response while
// the effect happened once.
func TestIdempotentWritesSurviveKill(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		card := f.card("kill-writes@example.com")
		title := "Free cake"
		issued, err := f.svc.IssueVoucher(f.ctx, f.pr, hub.IssueVoucherInput{CardID: &card.ID, Title: &title})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			path string
			run  func(ctx context.Context, svc *hub.Service) (any, error)
			// want checks a replayed body.
			want func(body []byte) bool
			// effect is the event the write records, once.
			effect hub.EventType
		}{
			{"issue voucher", "/v1/vouchers", func(ctx context.Context, svc *hub.Service) (any, error) {
				t := "Free tea"
				return svc.IssueVoucher(ctx, f.pr, hub.IssueVoucherInput{CardID: &card.ID, Title: &t})
			}, func(b []byte) bool {
				var v hub.Voucher
				return json.Unmarshal(b, &v) == nil && v.Title == "Free tea" && v.RedeemCode != ""
			}, hub.VoucherIssuedEv},
			{"redeem voucher", "/v1/vouchers/" + issued.ID + "/redeem", func(ctx context.Context, svc *hub.Service) (any, error) {
				return svc.RedeemVoucher(ctx, f.pr, issued.ID, hub.RedeemInput{})
			}, func(b []byte) bool {
				var v hub.Voucher
				return json.Unmarshal(b, &v) == nil && v.ID == issued.ID && v.Status == hub.VoucherRedeemed
			}, hub.VoucherRedeemedEv},
			{"play lottery", "/v1/cards/" + card.ID + "/lottery", func(ctx context.Context, svc *hub.Service) (any, error) {
				return svc.PlayLottery(ctx, f.pr, card.ID, hub.LotteryPlayInput{})
			}, func(b []byte) bool {
				var r hub.LotteryResult
				return json.Unmarshal(b, &r) == nil && r.Result.Won && r.Voucher != nil
			}, hub.LotteryPlayed},
		}
		dying, err := hub.NewService(hub.Config{Store: st, Publisher: dyingPublisher{}, Now: f.clock, PublicURL: "https://hub.test",
			Intn: func(int) int { return 0 }})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				req := hub.IdempotentRequest{BusinessID: f.pr.Business.ID, Key: "kill-" + tc.name, Method: "POST", Path: tc.path, Body: []byte(`{}`)}
				request := func(svc *hub.Service) (replayed bool, body []byte, err error) {
					ctx, rec, err := svc.BeginIdempotent(f.ctx, req)
					if err != nil || rec != nil {
						if rec != nil {
							body = rec.Body
						}
						return rec != nil, body, err
					}
					hub.ReplyWith(ctx, jsonReply)
					res, err := tc.run(ctx, svc)
					if err != nil {
						return false, nil, err
					}
					reply, err := jsonReply(res)
					if err != nil {
						return false, nil, err
					}
					return false, reply.Body, svc.FinishIdempotent(ctx, reply.Status, reply.ContentType, reply.Body)
				}
				before := len(f.events(hub.EventFilter{Type: tc.effect}))
				func() {
					defer func() {
						if p := recover(); p != errKilled {
							t.Fatalf("the first request did not die after its commit: %v", p)
						}
					}()
					_, _, _ = request(dying)
				}()
				for _, wait := range []time.Duration{0, hub.IdempotencyAbandoned + time.Second} {
					f.advance(wait)
					replayed, body, err := request(f.svc)
					if err != nil || !replayed || !tc.want(body) {
						t.Errorf("retry after %v: replayed %v, %s, %v; want the first result replayed", wait, replayed, body, err)
					}
				}
				if n := len(f.events(hub.EventFilter{Type: tc.effect})) - before; n != 1 {
					t.Errorf("%s recorded %d times, want once", tc.effect, n)
				}
			})
		}
	})
}
