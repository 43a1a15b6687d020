package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// previewByMembers is the reference of PreviewAudience: the loop it ran
// before it counted in SQL, member by member over AudienceMembers in pages,
// picking the first channel of the order that is configured and reaches
// the member.
func previewByMembers(t *testing.T, st *sqlstore.Store, businessID string, filter *hub.Audience, now time.Time,
	order []string, configured map[string]bool) *hub.AudiencePreview {
	t.Helper()
	return previewByMembersWhere(t, st, businessID, filter, now, order, configured, nil)
}

// previewByMembersWhere is previewByMembers over the members whose id keep
// accepts (nil: every member).
func previewByMembersWhere(t *testing.T, st *sqlstore.Store, businessID string, filter *hub.Audience, now time.Time,
	order []string, configured map[string]bool, keep func(customerID string) bool) *hub.AudiencePreview {
	t.Helper()
	out := &hub.AudiencePreview{ByChannel: map[string]int{}}
	channels := hub.ExpandOrder(order)
	after := ""
	for {
		var members []hub.AudienceMember
		err := st.Read(context.Background(), func(tx hub.Tx) error {
			var err error
			members, err = tx.AudienceMembers(context.Background(), hub.AudienceQuery{BusinessID: businessID, Filter: filter,
				Now: now, AfterID: after, Limit: 5})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			if keep != nil && !keep(m.Customer.ID) {
				continue
			}
			out.Total++
			picked := ""
			for _, ch := range channels {
				if configured[ch] && slices.Contains(m.Reach, ch) {
					picked = ch
					break
				}
			}
			if picked != "" {
				out.ByChannel[picked]++
			} else {
				out.Unreachable++
			}
		}
		if len(members) < 5 {
			return out
		}
		after = members[len(members)-1].Customer.ID
	}
}

// TestPreviewAudienceMatchesMemberByMember compares PreviewAudience with the
// member-by-member reference over customers with every mix of consent
// (granted, withdrawn, none), contacts (reachable, unreachable, none),
// email, phone and wallet devices, for filters of each kind and channel
// orders with fallbacks and unconfigured channels (email and telegram are
// configured, push, whatsapp and viber are not; then whatsapp through a
// gateway too).
func TestPreviewAudienceMatchesMemberByMember(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		m := newMessagingFixture(t, st)
		ctx := m.ctx
		rng := rand.New(rand.NewPCG(13, 13))
		err := st.Write(ctx, func(tx hub.Tx) error {
			for i := range 60 {
				now := m.clock()
				c := &hub.Customer{ID: hub.NewID(hub.PrefixCustomer), BusinessID: m.biz, Language: []string{"en", "uk"}[rng.IntN(2)],
					Consent: map[string]hub.Consent{}, CreatedAt: now, UpdatedAt: now}
				if rng.IntN(3) > 0 {
					c.Email = ptr(fmt.Sprintf("p%02d@example.com", i))
				}
				if rng.IntN(2) == 0 {
					c.Phone = ptr(fmt.Sprintf("+38050200%04d", i))
				}
				for _, ch := range hub.Channels {
					switch rng.IntN(3) {
					case 0:
						c.Consent[ch] = hub.Consent{Granted: true, Source: "api", At: now}
					case 1:
						c.Consent[ch] = hub.Consent{Granted: false, Source: "unsubscribe", At: now}
					}
				}
				if err := tx.CreateCustomer(ctx, c); err != nil {
					return err
				}
				for _, ch := range hub.Channels {
					if k := rng.IntN(3); k < 2 {
						err := tx.PutContact(ctx, &hub.Contact{BusinessID: m.biz, CustomerID: c.ID, Channel: ch,
							Address: ch + "-" + c.ID, LinkedAt: now, Reachable: k == 0})
						if err != nil {
							return err
						}
					}
				}
				if rng.IntN(3) == 0 {
					continue
				}
				card := &hub.Card{ID: hub.NewID(hub.PrefixCard), BusinessID: m.biz, TemplateID: m.tpl.ID, CustomerID: c.ID,
					WalletPassID: "wp_" + c.ID, Stamps: rng.IntN(5), Status: hub.CardActive, PageToken: hub.NewPageToken(),
					CreatedAt: now, UpdatedAt: now}
				if err := tx.CreateCard(ctx, card); err != nil {
					return err
				}
				if rng.IntN(2) == 0 {
					if _, err := tx.RegisterPassDevice(ctx, &hub.PassRegistration{BusinessID: m.biz, CardID: card.ID,
						PassTypeID: "pass.test", DeviceID: "dev-" + c.ID, PushToken: "tok", CreatedAt: now}); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		filters := []string{
			`{"all": []}`,
			`{"field": "language", "op": "eq", "value": "en"}`,
			`{"field": "stamps", "op": "gte", "value": 2}`,
			`{"field": "card_template_id", "op": "ne", "value": "` + m.tpl.ID + `"}`,
			`{"field": "consent", "op": "eq", "value": "telegram"}`,
			`{"not": {"field": "has_channel", "op": "in", "value": ["email", "push"]}}`,
			`{"field": "days_since_joined", "op": "lte", "value": 1}`,
			`{"field": "open_vouchers", "op": "eq", "value": 0}`,
			`{"any": [{"field": "birthday_month", "op": "eq", "value": 4}, {"field": "days_since_last_stamp", "op": "gte", "value": 0}]}`,
		}
		orders := [][]string{
			nil, // the business's order
			{"email"},
			{"telegram", "email"},
			{"messengers", "email"},
			{"push", "whatsapp", "email", "telegram"},
			{"viber", "push"},
			{"whatsapp"},
		}
		check := func(t *testing.T, configured map[string]bool) {
			t.Helper()
			st, err := m.svc.Settings(ctx, m.biz)
			if err != nil {
				t.Fatal(err)
			}
			for _, filter := range filters {
				a, err := hub.ParseAudience([]byte(filter), "audience")
				if err != nil {
					t.Fatal(err)
				}
				for _, order := range orders {
					got, err := m.svc.PreviewAudience(ctx, m.biz, hub.AudiencePreviewInput{Audience: json.RawMessage(filter), Channels: order})
					if err != nil {
						t.Fatalf("PreviewAudience(%s, %v): %v", filter, order, err)
					}
					effective := order
					if effective == nil {
						effective = st.Messaging.ChannelOrder
					}
					want := previewByMembers(t, m.store, m.biz, a, m.clock(), effective, configured)
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("%s, order %v (-member by member +preview):\n%s", filter, order, diff)
					}
				}
			}
		}
		check(t, map[string]bool{"email": true, "telegram": true})
		if _, err := m.svc.PutChannelConfig(ctx, m.biz, hub.ProviderGateway,
			map[string]any{"url": "https://gateway.example/send", "secret": "s", "channels": "whatsapp"}); err != nil {
			t.Fatal(err)
		}
		check(t, map[string]bool{"email": true, "telegram": true, "whatsapp": true})
	})
}
