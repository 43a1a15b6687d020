package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

func TestCampaignActivity(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		w := newWorld(t, s)
		start := t0.Truncate(time.Second)
		c := &hub.Campaign{ID: hub.NewID(hub.PrefixCampaign), BusinessID: w.biz.ID, Name: "Spring",
			Status: hub.CampaignStatusSending, Audience: &hub.Audience{}, CreatedAt: start, UpdatedAt: start, StartedAt: &start}
		other := &hub.Campaign{ID: hub.NewID(hub.PrefixCampaign), BusinessID: w.biz.ID, Name: "Other",
			Status: hub.CampaignStatusSending, Audience: &hub.Audience{}, CreatedAt: start, UpdatedAt: start, StartedAt: &start}
		write(t, s, func(tx hub.Tx) error {
			if err := tx.CreateCampaign(ctx, c); err != nil {
				return err
			}
			return tx.CreateCampaign(ctx, other)
		})
		// Each recipient: its campaign, status, delivery status and the
		// delivery's sent_at and updated_at (seconds after start).
		rows := []struct {
			campaign   *hub.Campaign
			skipped    bool
			status     string
			sent, upd  int
			noDelivery bool
		}{
			{c, false, hub.DeliverySent, 1, 50, false},  // bucket 0 by sent_at
			{c, false, hub.DeliverySent, 9, 9, false},   // bucket 0
			{c, false, hub.DeliverySent, 10, 10, false}, // bucket 1
			{c, false, hub.DeliveryFailed, -1, 12, false},
			{c, false, hub.DeliveryUnknown, -1, 35, false}, // bucket 3, counted failed
			{c, false, hub.DeliveryPending, -1, 5, false},  // not ended
			{c, false, hub.DeliverySending, -1, 5, false},  // not ended
			{c, true, "", -1, 5, true},                     // skipped
			{other, false, hub.DeliverySent, 1, 1, false},  // another campaign
		}
		write(t, s, func(tx hub.Tx) error {
			for i, r := range rows {
				cu := addCustomerTx(ctx, tx, w.biz.ID, fmt.Sprintf("act%d@example.com", i))
				if cu == nil {
					return fmt.Errorf("customer %d", i)
				}
				rc := &hub.Recipient{CampaignID: r.campaign.ID, BusinessID: w.biz.ID, CustomerID: cu.ID,
					Channel: hub.ChannelEmail, Status: hub.RecipientQueued, CreatedAt: start}
				if r.skipped {
					rc.Status, rc.Reason, rc.Channel = hub.RecipientSkipped, hub.ReasonNoChannel, ""
				} else {
					d := &hub.Delivery{ID: hub.NewID(hub.PrefixDelivery), BusinessID: w.biz.ID,
						Source: hub.CampaignSource(r.campaign.ID), CustomerID: cu.ID, Channel: hub.ChannelEmail,
						Status: r.status, CreatedAt: start, UpdatedAt: start.Add(time.Duration(r.upd) * time.Second)}
					if r.sent >= 0 {
						d.SentAt = ptr(start.Add(time.Duration(r.sent)*time.Second + 300*time.Millisecond))
					}
					if err := tx.CreateDeliveries(ctx, []*hub.Delivery{d}); err != nil {
						return err
					}
					rc.DeliveryID = &d.ID
				}
				if err := tx.CreateRecipients(ctx, []*hub.Recipient{rc}); err != nil {
					return err
				}
			}
			return nil
		})
		tests := []struct {
			name     string
			campaign string
			business string
			step     time.Duration
			want     []hub.ActivityCount
		}{
			{"ten seconds", c.ID, w.biz.ID, 10 * time.Second,
				[]hub.ActivityCount{{Bucket: 0, Sent: 2}, {Bucket: 1, Sent: 1, Failed: 1}, {Bucket: 3, Failed: 1}}},
			{"a minute", c.ID, w.biz.ID, time.Minute, []hub.ActivityCount{{Bucket: 0, Sent: 3, Failed: 2}}},
			{"another business", c.ID, hub.NewID(hub.PrefixBusiness), time.Minute, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				read(t, s, func(tx hub.Tx) error {
					got, err := tx.CampaignActivity(ctx, tt.business, tt.campaign, start, tt.step)
					diff(t, "activity", tt.want, got)
					return err
				})
			})
		}
	})
}

// addCustomerTx creates a customer of the business inside a transaction.
func addCustomerTx(ctx context.Context, tx hub.Tx, businessID, email string) *hub.Customer {
	c := &hub.Customer{ID: hub.NewID(hub.PrefixCustomer), BusinessID: businessID, Email: ptr(email), Language: "en", CreatedAt: t0, UpdatedAt: t0}
	if err := tx.CreateCustomer(ctx, c); err != nil {
		return nil
	}
	return c
}
