package sqlstore_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// BenchmarkStamp measures the store's share of a stamp request: one
// transaction that reads a card for update, updates it and inserts two
// events, from 8 goroutines per CPU over 100 cards.
func BenchmarkStamp(b *testing.B) {
	for _, d := range sqltest.Dialects {
		b.Run(d, func(b *testing.B) {
			s := sqltest.Open(b, d)
			ctx := context.Background()
			biz := &hub.Business{ID: hub.NewID("b"), Name: "Bench", Timezone: "UTC", DefaultLanguage: "en", CreatedAt: t0}
			tpl := &hub.CardTemplate{ID: hub.NewID("tpl"), BusinessID: biz.ID, Name: "T", CreatedAt: t0,
				Goals: []hub.Goal{{Stamps: 10, Reward: hub.Reward{Title: "R"}}}}
			cards := make([]*hub.Card, 100)
			err := s.Write(ctx, func(tx hub.Tx) error {
				if err := tx.CreateBusiness(ctx, biz); err != nil {
					return err
				}
				if err := tx.CreateCardTemplate(ctx, tpl); err != nil {
					return err
				}
				for i := range cards {
					c := &hub.Customer{ID: hub.NewID("c"), BusinessID: biz.ID, Language: "en", CreatedAt: t0, UpdatedAt: t0}
					cards[i] = &hub.Card{ID: hub.NewID("card"), BusinessID: biz.ID, TemplateID: tpl.ID, CustomerID: c.ID,
						WalletPassID: hub.NewID("wp"), Cycle: 1, Status: "active", PageToken: hub.NewPageToken(), CreatedAt: t0, UpdatedAt: t0}
					if err := tx.CreateCustomer(ctx, c); err != nil {
						return err
					}
					if err := tx.CreateCard(ctx, cards[i]); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			w := &world{biz: biz}
			b.SetParallelism(8)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					card := cards[rand.IntN(len(cards))]
					err := s.Write(ctx, func(tx hub.Tx) error {
						c, err := tx.Card(ctx, biz.ID, card.ID, true)
						if err != nil {
							return err
						}
						c.Stamps++
						c.StampsTotal++
						c.LastStampAt = &t0
						if err := tx.UpdateCard(ctx, c); err != nil {
							return err
						}
						return tx.InsertEvents(ctx, []hub.EventRecord{
							w.event(hub.StampAdded, t0, &c.CustomerID, &c.ID, nil),
							w.event(hub.GoalReached, t0, &c.CustomerID, &c.ID, nil),
						})
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkReadCard measures a card lookup through Store.Read.
func BenchmarkReadCard(b *testing.B) {
	for _, d := range sqltest.Dialects {
		b.Run(d, func(b *testing.B) {
			s := sqltest.Open(b, d)
			w := newWorld(b, s)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := s.Read(ctx, func(tx hub.Tx) error {
						_, err := tx.Card(ctx, w.biz.ID, w.card.ID, false)
						return err
					}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
