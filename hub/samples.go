package hub

import "time"

// SampleEvents returns realistic events of the type (or of every type when t
// is empty) in the same envelope as real ones, for no-code tools that need an
// example before an account has events. Their ids are fixed and never stored.
func SampleEvents(businessID string, t EventType) []EventRecord {
	at := time.Date(2026, 5, 11, 12, 34, 56, 0, time.UTC)
	wp := "wp_01JTZ5Q2A7B8C9D0E1F2G3H4J8"
	email, phone, name := "ann@example.com", "+380671234567", "Ann"
	loc := "loc_01JTZ5Q2A7B8C9D0E1F2G3H4J6"
	customer := &EventCustomer{ID: "c_01JTZ5Q2A7B8C9D0E1F2G3H4J7", WalletPassID: &wp, Language: "en", Email: &email, Phone: &phone, Name: &name}
	card := &EventCard{ID: "card_01JTZ5Q2A7B8C9D0E1F2G3H4JA", TemplateID: "tpl_01JTZ5Q2A7B8C9D0E1F2G3H4JB", Stamps: 5, StampsTotal: 5, GoalIndex: 1, Cycle: 1}
	voucher := func(typ, status string, via *string) *EventVoucher {
		return &EventVoucher{ID: "v_01JTZ5Q2A7B8C9D0E1F2G3H4J9", Type: typ, Title: "Free coffee", RedeemCode: "FREECOFFEE",
			RedeemCodeFormats: append([]string(nil), RedeemCodeFormats...), Status: status, RedeemedVia: via}
	}
	pos := "staff_scanner"
	var out []EventRecord
	for i, typ := range EventTypes {
		if t != "" && t != typ {
			continue
		}
		e := &Event{ID: "evt_01JTZ6W1Q9M3N4R5S6T7V8W9" + string(crockford[i]) + "0", Type: typ, Timestamp: at, BusinessID: businessID, LocationID: &loc, Customer: customer}
		switch typ {
		case CardIssued, CardSaved, CardOpened, BirthdayReached:
			e.Card = card
		case StampAdded:
			e.Card, e.Data = card, map[string]any{"count": 1}
		case GoalReached:
			e.Card, e.Data = card, map[string]any{"goal_index": 0, "goal_stamps": 5, "reward": "Free coffee"}
		case RewardIssued:
			e.Card, e.Voucher, e.Data = card, voucher(VoucherTypeReward, VoucherIssued, nil), map[string]any{"goal_index": 0}
		case VoucherIssuedEv:
			e.Voucher = voucher(VoucherTypeVoucher, VoucherIssued, nil)
		case VoucherRedeemedEv:
			e.Card, e.Voucher = card, voucher(VoucherTypeVoucher, VoucherRedeemed, &pos)
		case VoucherExpiredEv:
			e.LocationID, e.Voucher = nil, voucher(VoucherTypeVoucher, VoucherExpired, nil)
		case LotteryPlayed:
			e.Card, e.Lottery = card, &LotteryOutcome{Won: true, Prize: &RewardTitle{Title: "Free cookie"}}
		case InactivityTrigger:
			e.LocationID, e.Card, e.Data = nil, card, map[string]any{"inactive_days": 30}
		case SaleRefundedEv:
			e.Card, e.Data = card, map[string]any{"stamps_removed": 2,
				"sale": map[string]any{"id": "sale_01JTZ5Q2A7B8C9D0E1F2G3H4JD", "source": "poster", "order_id": "18342"}}
		case CampaignSent:
			e.LocationID, e.Customer = nil, nil
			e.Campaign = &EventCampaign{ID: "cmp_01JTZ5Q2A7B8C9D0E1F2G3H4JC", Name: "Spring offer", Channels: []string{"push", "email"}, Audience: "all customers", Sent: 120, Failed: 2, Skipped: 8}
		}
		if r, err := e.Record(); err == nil {
			out = append(out, r)
		}
	}
	return out
}
