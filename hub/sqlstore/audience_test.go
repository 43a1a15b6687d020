package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// audienceNow is the moment the audience tests ask at.
var audienceNow = t0.Add(20 * 24 * time.Hour)

// population is a business with known customers (by name) and another
// business whose customers must never be selected.
type population struct {
	w, other   *world
	tplB       *hub.CardTemplate
	byName     map[string]*hub.Customer
	names      map[string]string // id -> name
	otherNames []string
}

func days(n float64) time.Duration { return time.Duration(n * 24 * float64(time.Hour)) }

// newPopulation builds, in business w (now = audienceNow):
//
//	name lang bday  joined  cards (tpl stamps/total, last stamp)      dsls open reach            has_channel
//	wes  uk   04-01  20d    A 3/13 at t0+1min                         19   0    email            email, whatsapp
//	ann  en   04-15 100d    A 3/13 10d ago, device                   10   1    email, push      email, push
//	bob  uk   -       5d    -                                          5   0    whatsapp         whatsapp
//	cat  uk   12-01 200d    B 0/0 created 30d ago, never stamped      30   1    telegram         email, telegram
//	dan  en   01-31  23h    A 10/30 3h ago, B 1/1 10h ago              0   2    viber            viber
//	eve  de   -       3d    -                                          3   0    -                whatsapp
func newPopulation(t *testing.T, s *sqlstore.Store) *population {
	t.Helper()
	ctx := context.Background()
	p := &population{w: newWorld(t, s), other: newWorld(t, s), byName: map[string]*hub.Customer{}, names: map[string]string{}}
	w, now := p.w, audienceNow
	p.tplB = &hub.CardTemplate{ID: hub.NewID(hub.PrefixCardTemplate), BusinessID: w.biz.ID, Name: "Tea",
		Goals: []hub.Goal{{Stamps: 5, Reward: hub.Reward{Title: "Tea"}}}, CreatedAt: t0}
	granted := func(chs ...string) map[string]hub.Consent {
		m := map[string]hub.Consent{}
		for _, ch := range chs {
			m[ch] = hub.Consent{Granted: true, Source: "api", At: t0}
		}
		return m
	}
	cust := func(name, lang string, bday *string, joined time.Time, email, phone *string, consent map[string]hub.Consent) *hub.Customer {
		c := &hub.Customer{ID: hub.NewID(hub.PrefixCustomer), BusinessID: w.biz.ID, Email: email, Phone: phone,
			Name: ptr(name), Language: lang, Birthday: bday, Consent: consent, CreatedAt: joined, UpdatedAt: joined}
		p.byName[name], p.names[c.ID] = c, name
		return c
	}
	p.byName["wes"], p.names[w.customer.ID] = w.customer, "wes"
	ann := cust("ann", "en", ptr("1990-04-15"), now.Add(-days(100)), ptr("anna@example.com"), nil, granted("email", "push"))
	bob := cust("bob", "uk", nil, now.Add(-days(5)), nil, ptr("+380500000002"), granted("whatsapp"))
	catConsent := granted("telegram", "whatsapp")
	catConsent["email"] = hub.Consent{Granted: false, Source: "unsubscribe", At: t0}
	cat := cust("cat", "uk", ptr("1985-12-01"), now.Add(-days(200)), ptr("cat@example.com"), ptr("+380500000003"), catConsent)
	dan := cust("dan", "en", ptr("2000-01-31"), now.Add(-23*time.Hour), ptr("dan@example.com"), nil, granted("email", "viber", "push"))
	eve := cust("eve", "de", nil, now.Add(-days(3)), nil, ptr("+380500000005"), nil)
	p.names[p.other.customer.ID] = "other"
	p.otherNames = []string{"other"}

	card := func(c *hub.Customer, tpl *hub.CardTemplate, stamps, total int, created time.Time, last *time.Time) *hub.Card {
		return &hub.Card{ID: hub.NewID(hub.PrefixCard), BusinessID: w.biz.ID, TemplateID: tpl.ID, CustomerID: c.ID,
			WalletPassID: "wp_" + c.ID, Stamps: stamps, StampsTotal: total, Status: hub.CardActive,
			PageToken: hub.NewPageToken(), CreatedAt: created, UpdatedAt: created, LastStampAt: last}
	}
	annCard := card(ann, w.tpl, 3, 13, now.Add(-days(60)), ptr(now.Add(-days(10))))
	cards := []*hub.Card{
		annCard,
		card(cat, p.tplB, 0, 0, now.Add(-days(30)), nil),
		card(dan, w.tpl, 10, 30, now.Add(-20*time.Hour), ptr(now.Add(-3*time.Hour))),
		card(dan, p.tplB, 1, 1, now.Add(-20*time.Hour), ptr(now.Add(-10*time.Hour))),
	}
	voucher := func(c *hub.Customer, status string, expires *time.Time) *hub.Voucher {
		return &hub.Voucher{ID: hub.NewID(hub.PrefixVoucher), BusinessID: w.biz.ID, Type: hub.VoucherTypeVoucher,
			Title: "10% off", RedeemCode: hub.NewRedeemCode(), RedeemCodeFormats: []string{"text"}, Status: status,
			CustomerID: c.ID, ExpiresAt: expires, CreatedAt: t0}
	}
	vouchers := []*hub.Voucher{
		voucher(ann, hub.VoucherIssued, ptr(now.Add(days(5)))),
		voucher(bob, hub.VoucherRedeemed, nil),
		voucher(cat, hub.VoucherIssued, ptr(now.Add(-days(1)))), // past expiry, not yet swept
		voucher(cat, hub.VoucherIssued, nil),
		voucher(cat, hub.VoucherIssued, ptr(now)), // expires at now: expired
		voucher(dan, hub.VoucherIssued, ptr(now.Add(days(1)))),
		voucher(dan, hub.VoucherIssued, nil),
		voucher(dan, hub.VoucherExpired, ptr(now.Add(-days(2)))),
	}
	contact := func(c *hub.Customer, ch, addr string, reachable bool) *hub.Contact {
		return &hub.Contact{BusinessID: w.biz.ID, CustomerID: c.ID, Channel: ch, Address: addr, LinkedAt: t0, Reachable: reachable}
	}
	contacts := []*hub.Contact{
		contact(cat, hub.ChannelTelegram, "1001", true),
		contact(cat, hub.ChannelWhatsApp, "+380500000003", false),
		contact(dan, hub.ChannelEmail, "dan@example.com", false),
		contact(dan, hub.ChannelViber, "viber-dan", true),
		contact(eve, hub.ChannelWhatsApp, "+380500000005", true),
		// The other business's customer is reachable everywhere.
		{BusinessID: p.other.biz.ID, CustomerID: p.other.customer.ID, Channel: hub.ChannelTelegram, Address: "2002", LinkedAt: t0, Reachable: true},
	}
	write(t, s, func(tx hub.Tx) error {
		if err := tx.CreateCardTemplate(ctx, p.tplB); err != nil {
			return err
		}
		for _, c := range []*hub.Customer{ann, bob, cat, dan, eve} {
			if err := tx.CreateCustomer(ctx, c); err != nil {
				return err
			}
		}
		for _, c := range cards {
			if err := tx.CreateCard(ctx, c); err != nil {
				return err
			}
		}
		for _, v := range vouchers {
			if err := tx.CreateVoucher(ctx, v); err != nil {
				return err
			}
		}
		for _, c := range contacts {
			if err := tx.PutContact(ctx, c); err != nil {
				return err
			}
		}
		for _, r := range []*hub.PassRegistration{
			{BusinessID: w.biz.ID, CardID: annCard.ID, PassTypeID: "pass.test", DeviceID: "dev-ann", PushToken: "tok", CreatedAt: t0},
			{BusinessID: p.other.biz.ID, CardID: p.other.card.ID, PassTypeID: "pass.test", DeviceID: "dev-other", PushToken: "tok", CreatedAt: t0},
		} {
			if _, err := tx.RegisterPassDevice(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	return p
}

// members runs an audience query and returns the members.
func members(t *testing.T, s *sqlstore.Store, q hub.AudienceQuery) []hub.AudienceMember {
	t.Helper()
	var got []hub.AudienceMember
	read(t, s, func(tx hub.Tx) error {
		var err error
		got, err = tx.AudienceMembers(context.Background(), q)
		return err
	})
	return got
}

// memberNames names the members, in the order returned.
func (p *population) memberNames(ms []hub.AudienceMember) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, p.names[m.Customer.ID])
	}
	return out
}

// inIDOrder orders names by their customers' ids.
func (p *population) inIDOrder(names ...string) []string {
	out := slices.Clone(names)
	slices.SortFunc(out, func(a, b string) int {
		switch ia, ib := p.byName[a].ID, p.byName[b].ID; {
		case ia < ib:
			return -1
		case ia > ib:
			return 1
		}
		return 0
	})
	if out == nil {
		out = []string{}
	}
	return out
}

func TestAudienceMembersFilters(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		p := newPopulation(t, s)
		tplA, tplB := p.w.tpl.ID, p.tplB.ID
		everyone := []string{"wes", "ann", "bob", "cat", "dan", "eve"}
		leafJSON := func(field, op string, value any) string {
			return fmt.Sprintf(`{"field": %q, "op": %q, "value": %s}`, field, op, value)
		}
		tests := []struct {
			filter string
			want   []string
		}{
			{`{"all": []}`, everyone},
			{`{"not": {"all": []}}`, nil},
			{leafJSON("language", "eq", `"en"`), []string{"ann", "dan"}},
			{leafJSON("language", "ne", `"EN"`), []string{"wes", "bob", "cat", "eve"}},
			{leafJSON("language", "in", `["uk", "de"]`), []string{"wes", "bob", "cat", "eve"}},

			{leafJSON("card_template_id", "eq", `"`+tplA+`"`), []string{"wes", "ann", "dan"}},
			{leafJSON("card_template_id", "eq", `"`+tplB+`"`), []string{"cat", "dan"}},
			{leafJSON("card_template_id", "ne", `"`+tplA+`"`), []string{"bob", "cat", "eve"}},
			{leafJSON("card_template_id", "in", `["`+tplB+`", "`+p.other.tpl.ID+`"]`), []string{"cat", "dan"}},

			{leafJSON("stamps", "eq", "3"), []string{"wes", "ann"}},
			{leafJSON("stamps", "ne", "3"), []string{"bob", "cat", "dan", "eve"}},
			{leafJSON("stamps", "gt", "3"), []string{"dan"}},
			{leafJSON("stamps", "gte", "10"), []string{"dan"}},
			{leafJSON("stamps", "lt", "1"), []string{"cat"}},
			{leafJSON("stamps", "lte", "1"), []string{"cat", "dan"}},
			{leafJSON("stamps", "in", "[0, 10]"), []string{"cat", "dan"}},
			{leafJSON("stamps_total", "gt", "13"), []string{"dan"}},
			{leafJSON("stamps_total", "gte", "13"), []string{"wes", "ann", "dan"}},
			{leafJSON("stamps_total", "lt", "13"), []string{"cat", "dan"}},
			{leafJSON("stamps_total", "eq", "0"), []string{"cat"}},

			{leafJSON("days_since_last_stamp", "gte", "10"), []string{"wes", "ann", "cat"}},
			{leafJSON("days_since_last_stamp", "gt", "10"), []string{"wes", "cat"}},
			{leafJSON("days_since_last_stamp", "eq", "10"), []string{"ann"}},
			{leafJSON("days_since_last_stamp", "lt", "5"), []string{"dan", "eve"}},
			{leafJSON("days_since_last_stamp", "lte", "5"), []string{"bob", "dan", "eve"}},
			{leafJSON("days_since_last_stamp", "eq", "19"), []string{"wes"}},
			{leafJSON("days_since_last_stamp", "eq", "0"), []string{"dan"}},
			{leafJSON("days_since_last_stamp", "eq", "30"), []string{"cat"}},
			{leafJSON("days_since_last_stamp", "ne", "19"), []string{"ann", "bob", "cat", "dan", "eve"}},
			{leafJSON("days_since_last_stamp", "in", "[3, 30]"), []string{"cat", "eve"}},

			{leafJSON("days_since_joined", "gt", "20"), []string{"ann", "cat"}},
			{leafJSON("days_since_joined", "gte", "20"), []string{"wes", "ann", "cat"}},
			{leafJSON("days_since_joined", "eq", "0"), []string{"dan"}},
			{leafJSON("days_since_joined", "ne", "0"), []string{"wes", "ann", "bob", "cat", "eve"}},
			{leafJSON("days_since_joined", "lt", "4"), []string{"dan", "eve"}},
			{leafJSON("days_since_joined", "lte", "5"), []string{"bob", "dan", "eve"}},
			{leafJSON("days_since_joined", "in", "[5, 200]"), []string{"bob", "cat"}},

			{leafJSON("birthday_month", "eq", "4"), []string{"wes", "ann"}},
			{leafJSON("birthday_month", "ne", "4"), []string{"bob", "cat", "dan", "eve"}},
			{`{"not": ` + leafJSON("birthday_month", "eq", "4") + `}`, []string{"bob", "cat", "dan", "eve"}},
			{leafJSON("birthday_month", "lt", "4"), []string{"dan"}},
			{leafJSON("birthday_month", "lte", "1"), []string{"dan"}},
			{leafJSON("birthday_month", "gte", "4"), []string{"wes", "ann", "cat"}},
			{leafJSON("birthday_month", "gt", "11"), []string{"cat"}},
			{leafJSON("birthday_month", "in", "[1, 12]"), []string{"cat", "dan"}},

			{leafJSON("has_channel", "eq", `"email"`), []string{"wes", "ann", "cat"}},
			{leafJSON("has_channel", "eq", `"push"`), []string{"ann"}},
			{leafJSON("has_channel", "eq", `"telegram"`), []string{"cat"}},
			{leafJSON("has_channel", "eq", `"whatsapp"`), []string{"wes", "bob", "eve"}},
			{leafJSON("has_channel", "eq", `"viber"`), []string{"dan"}},
			{leafJSON("has_channel", "ne", `"email"`), []string{"bob", "dan", "eve"}},
			{leafJSON("has_channel", "in", `["telegram", "viber"]`), []string{"cat", "dan"}},

			{leafJSON("consent", "eq", `"email"`), []string{"wes", "ann", "dan"}},
			{leafJSON("consent", "eq", `"push"`), []string{"ann", "dan"}},
			{leafJSON("consent", "eq", `"telegram"`), []string{"cat"}},
			{leafJSON("consent", "eq", `"whatsapp"`), []string{"bob", "cat"}},
			{leafJSON("consent", "eq", `"viber"`), []string{"dan"}},
			{leafJSON("consent", "ne", `"email"`), []string{"bob", "cat", "eve"}},
			{leafJSON("consent", "in", `["push", "whatsapp"]`), []string{"ann", "bob", "cat", "dan"}},

			{leafJSON("open_vouchers", "eq", "0"), []string{"wes", "bob", "eve"}},
			{leafJSON("open_vouchers", "lte", "0"), []string{"wes", "bob", "eve"}},
			{leafJSON("open_vouchers", "lt", "1"), []string{"wes", "bob", "eve"}},
			{leafJSON("open_vouchers", "gt", "0"), []string{"ann", "cat", "dan"}},
			{leafJSON("open_vouchers", "gte", "1"), []string{"ann", "cat", "dan"}},
			{leafJSON("open_vouchers", "gte", "2"), []string{"dan"}},
			{leafJSON("open_vouchers", "lt", "2"), []string{"wes", "ann", "bob", "cat", "eve"}},
			{leafJSON("open_vouchers", "eq", "1"), []string{"ann", "cat"}},
			{leafJSON("open_vouchers", "ne", "1"), []string{"wes", "bob", "dan", "eve"}},
			{leafJSON("open_vouchers", "in", "[0, 2]"), []string{"wes", "bob", "dan", "eve"}},
			{leafJSON("open_vouchers", "in", "[1, 3]"), []string{"ann", "cat"}},

			{`{"all": [` + leafJSON("language", "eq", `"en"`) + `, ` + leafJSON("stamps", "gte", "10") + `]}`, []string{"dan"}},
			{`{"any": [` + leafJSON("language", "eq", `"de"`) + `, ` + leafJSON("consent", "eq", `"telegram"`) + `]}`, []string{"cat", "eve"}},
			{`{"not": {"any": [` + leafJSON("has_channel", "eq", `"email"`) + `, ` + leafJSON("has_channel", "eq", `"whatsapp"`) + `]}}`, []string{"dan"}},
			{`{"all": [{"any": [` + leafJSON("consent", "eq", `"email"`) + `, ` + leafJSON("consent", "eq", `"whatsapp"`) + `]}, ` +
				`{"not": ` + leafJSON("birthday_month", "eq", "4") + `}, {"all": []}]}`, []string{"bob", "cat", "dan"}},
			{`{"any": [{"not": {"not": ` + leafJSON("open_vouchers", "gte", "2") + `}}, {"all": [{"not": {"all": []}}]}]}`, []string{"dan"}},
		}
		for _, tc := range tests {
			t.Run(tc.filter, func(t *testing.T) {
				f, err := hub.ParseAudience([]byte(tc.filter), "audience")
				if err != nil {
					t.Fatalf("ParseAudience: %v %v", err, hub.ErrorFields(err))
				}
				got := members(t, s, hub.AudienceQuery{BusinessID: p.w.biz.ID, Filter: f, Now: audienceNow})
				diff(t, "members", p.inIDOrder(tc.want...), p.memberNames(got))
				// The other business's customers never come back, even
				// when it is the one asked about.
				got = members(t, s, hub.AudienceQuery{BusinessID: p.other.biz.ID, Filter: f, Now: audienceNow})
				for _, name := range p.memberNames(got) {
					if name != "other" {
						t.Errorf("business %s got %s", p.other.biz.ID, name)
					}
				}
			})
		}
	})
}

func TestAudienceMembersReach(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		p := newPopulation(t, s)
		got := members(t, s, hub.AudienceQuery{BusinessID: p.w.biz.ID, Now: audienceNow})
		reach := map[string][]string{
			"wes": {"email"}, "ann": {"email", "push"}, "bob": {"whatsapp"}, "cat": {"telegram"},
			"dan": {"viber"}, "eve": {},
		}
		var want []hub.AudienceMember
		for _, name := range p.inIDOrder("wes", "ann", "bob", "cat", "dan", "eve") {
			want = append(want, hub.AudienceMember{Customer: p.byName[name], Reach: reach[name]})
		}
		diff(t, "members", want, got)

		// The other business: its one customer with its own reach.
		got = members(t, s, hub.AudienceQuery{BusinessID: p.other.biz.ID, Filter: &hub.Audience{}, Now: audienceNow})
		diff(t, "other business", []hub.AudienceMember{{Customer: p.other.customer, Reach: []string{"email"}}}, got)
	})
}

func TestAudienceMembersPaging(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		p := newPopulation(t, s)
		all := p.inIDOrder("wes", "ann", "bob", "cat", "dan", "eve")
		filter := &hub.Audience{Not: &hub.Audience{Field: hub.AudienceLanguage, Op: hub.AudienceEq, Value: "de"}}
		var walked []string
		after := ""
		for _, wantLen := range []int{2, 2, 1, 0} {
			got := members(t, s, hub.AudienceQuery{BusinessID: p.w.biz.ID, Filter: filter, Now: audienceNow, AfterID: after, Limit: 2})
			if len(got) != wantLen {
				t.Fatalf("batch after %q: %d members, want %d", after, len(got), wantLen)
			}
			walked = append(walked, p.memberNames(got)...)
			if len(got) > 0 {
				after = got[len(got)-1].Customer.ID
			}
		}
		diff(t, "walk", slices.DeleteFunc(slices.Clone(all), func(n string) bool { return n == "eve" }), walked)

		// Zero Limit is the default batch: everyone at once.
		diff(t, "default limit", all, p.memberNames(members(t, s, hub.AudienceQuery{BusinessID: p.w.biz.ID, Now: audienceNow})))
	})
}

func TestAudienceMembersCustomer(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		p := newPopulation(t, s)
		leaf := func(field, op string, v any) *hub.Audience { return &hub.Audience{Field: field, Op: op, Value: v} }
		cat := p.byName["cat"].ID
		tests := []struct {
			name     string
			business string
			customer string
			filter   *hub.Audience
			after    string
			want     []string
		}{
			{"matches", p.w.biz.ID, cat, leaf(hub.AudienceConsent, hub.AudienceEq, "telegram"), "", []string{"cat"}},
			{"no filter", p.w.biz.ID, cat, nil, "", []string{"cat"}},
			{"does not match", p.w.biz.ID, cat, leaf(hub.AudienceConsent, hub.AudienceEq, "email"), "", []string{}},
			{"after it", p.w.biz.ID, cat, nil, cat, []string{}},
			{"another business's customer", p.w.biz.ID, p.other.customer.ID, nil, "", []string{}},
			{"in the other business", p.other.biz.ID, cat, nil, "", []string{}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got := members(t, s, hub.AudienceQuery{BusinessID: tc.business, CustomerID: tc.customer, Filter: tc.filter,
					AfterID: tc.after, Now: audienceNow})
				diff(t, "members", tc.want, p.memberNames(got))
			})
		}
	})
}
