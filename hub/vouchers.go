package hub

import (
	"context"
	"strings"
	"time"
)

// IssueVoucherInput issues a voucher, from a template (voucher_template_id) or
// custom (title), to a customer named by card, id, or email/phone.
type IssueVoucherInput struct {
	CardID            *string       `json:"card_id"`
	CustomerID        *string       `json:"customer_id"`
	Customer          *ContactInput `json:"customer"`
	VoucherTemplateID *string       `json:"voucher_template_id"`
	Title             *string       `json:"title"`
	Description       *string       `json:"description"`
	RedeemCode        *string       `json:"redeem_code"`
	RedeemCodeFormats []string      `json:"redeem_code_formats"`
	ExpiresAt         *string       `json:"expires_at"`
	LocationID        *string       `json:"location_id"`
}

// NormalizeRedeemCode upper-cases and checks a redeem code: 3..64 letters,
// digits, dashes and underscores. Codes are matched case-insensitively.
func NormalizeRedeemCode(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) < 3 || len(s) > 64 {
		return "", false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return "", false
		}
	}
	return s, true
}

// IssueVoucher issues a voucher and records voucher_issued. A missing redeem
// code is generated; a code the business already uses is a conflict.
func (s *Service) IssueVoucher(ctx context.Context, pr *Principal, in IssueVoucherInput) (*Voucher, error) {
	p := Problems{}
	now := s.clock()
	targets := 0
	if in.CardID != nil && *in.CardID != "" {
		targets++
	}
	if in.CustomerID != nil && *in.CustomerID != "" {
		targets++
	}
	// An empty customer object is absent: no-code tools send {} for unmapped fields.
	if in.Customer != nil && (in.Customer.Email == nil || *in.Customer.Email == "") && (in.Customer.Phone == nil || *in.Customer.Phone == "") {
		in.Customer = nil
	}
	var c contact
	if in.Customer != nil {
		targets++
		c = s.checkContact(p, "customer", in.Customer.Email, in.Customer.Phone)
	}
	if targets != 1 {
		p.Add("customer", "name the holder with exactly one of card_id, customer_id or customer")
	}
	hasTemplate := in.VoucherTemplateID != nil && *in.VoucherTemplateID != ""
	if !hasTemplate && (in.Title == nil || strings.TrimSpace(*in.Title) == "") {
		p.Add("title", "is required unless voucher_template_id is given")
	}
	v := &Voucher{ID: NewID(PrefixVoucher), BusinessID: pr.Business.ID, Type: VoucherTypeVoucher, Status: VoucherIssued, CreatedAt: now}
	if in.Title != nil && strings.TrimSpace(*in.Title) != "" {
		v.Title = checkText(p, "title", *in.Title, 200)
	}
	v.Description = optionalText(p, "description", in.Description, 1000)
	explicitCode := in.RedeemCode != nil && *in.RedeemCode != ""
	if explicitCode {
		code, ok := NormalizeRedeemCode(*in.RedeemCode)
		if !ok {
			p.Add("redeem_code", "must be 3 to 64 letters, digits, - or _")
		}
		v.RedeemCode = code
	}
	if in.RedeemCodeFormats != nil {
		v.RedeemCodeFormats = checkFormats(p, "redeem_code_formats", in.RedeemCodeFormats)
	}
	if in.ExpiresAt != nil && *in.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339Nano, *in.ExpiresAt)
		t = t.UTC().Truncate(time.Millisecond)
		switch {
		case err != nil:
			p.Add("expires_at", "must be an RFC 3339 time such as 2026-12-31T23:59:59Z")
		case !t.After(now):
			p.Add("expires_at", "must be in the future")
		}
		v.ExpiresAt = &t
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	err := s.write(ctx, func(tx Tx, out *outbox) error {
		loc, err := s.location(ctx, tx, pr.Business.ID, in.LocationID)
		if err != nil {
			return err
		}
		v.LocationID = loc
		var card *Card
		var cust *Customer
		switch {
		case in.CardID != nil && *in.CardID != "":
			if card, err = tx.Card(ctx, pr.Business.ID, *in.CardID, false); err != nil {
				return err
			}
			cust = card.Customer
			v.CardID = &card.ID
		case in.CustomerID != nil && *in.CustomerID != "":
			if cust, err = tx.Customer(ctx, pr.Business.ID, *in.CustomerID); err != nil {
				return err
			}
		default:
			if cust, err = s.findOrCreateCustomer(ctx, tx, &pr.Business, c, customerDetails{}); err != nil {
				return err
			}
		}
		v.CustomerID = cust.ID
		if hasTemplate {
			t, err := tx.VoucherTemplate(ctx, pr.Business.ID, *in.VoucherTemplateID)
			if err != nil {
				return err
			}
			v.TemplateID = &t.ID
			if v.Title == "" {
				v.Title = t.Title
			}
			if v.Description == nil {
				v.Description = t.Description
			}
			if v.RedeemCodeFormats == nil {
				v.RedeemCodeFormats = t.RedeemCodeFormats
			}
			if v.ExpiresAt == nil && t.ValidDays != nil {
				exp := now.AddDate(0, 0, *t.ValidDays)
				v.ExpiresAt = &exp
			}
		}
		if v.RedeemCodeFormats == nil {
			v.RedeemCodeFormats = append([]string(nil), RedeemCodeFormats...)
		}
		if err := s.createVoucher(ctx, tx, v, explicitCode); err != nil {
			return err
		}
		e := s.newEvent(VoucherIssuedEv, pr.Business.ID, loc, now)
		e.Customer, e.Voucher = eventCustomer(cust), eventVoucher(v, now)
		if card != nil {
			e.Card = eventCard(card)
		}
		out.add(e)
		return s.reply(ctx, v)
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// createVoucher stores a voucher, generating its redeem code unless explicit;
// a generated code that collides is drawn again.
func (s *Service) createVoucher(ctx context.Context, tx Tx, v *Voucher, explicit bool) error {
	if explicit {
		err := tx.CreateVoucher(ctx, v)
		if ErrorCode(err) == EConflict {
			return Errorf(EConflict, "the redeem code %s is already used by another voucher", v.RedeemCode)
		}
		return err
	}
	for attempt := 0; ; attempt++ {
		v.RedeemCode = NewRedeemCode()
		err := tx.CreateDrawnVoucher(ctx, v)
		if ErrorCode(err) != EConflict {
			return err
		}
		if attempt == 10 {
			return Errorf(EConflict, "could not draw a free redeem code")
		}
	}
}

func eventVoucher(v *Voucher, now time.Time) *EventVoucher {
	return &EventVoucher{
		ID: v.ID, Type: v.Type, Title: v.Title, RedeemCode: v.RedeemCode,
		RedeemCodeFormats: v.RedeemCodeFormats, Status: v.StatusAt(now), RedeemedVia: v.RedeemedVia, ExpiresAt: v.ExpiresAt,
	}
}

// Voucher returns one of a business's vouchers, its status as of now.
func (s *Service) Voucher(ctx context.Context, businessID, id string) (*Voucher, error) {
	var v *Voucher
	err := s.read(ctx, func(tx Tx) error {
		var err error
		v, err = tx.Voucher(ctx, businessID, id, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	v.Status = v.StatusAt(s.clock())
	return v, nil
}

// Vouchers searches a business's vouchers.
func (s *Service) Vouchers(ctx context.Context, f VoucherFilter) ([]*Voucher, *string, error) {
	p := Problems{}
	if f.RedeemCode != "" {
		f.RedeemCode = strings.ToUpper(strings.TrimSpace(f.RedeemCode))
	}
	if f.Status != "" && f.Status != VoucherIssued && f.Status != VoucherRedeemed && f.Status != VoucherExpired {
		p.Add("status", "must be issued, redeemed or expired")
	}
	if err := p.Err(); err != nil {
		return nil, nil, err
	}
	if err := CheckPage(f.Page, PrefixVoucher); err != nil {
		return nil, nil, err
	}
	f.Now = s.clock()
	var vs []*Voucher
	if err := s.read(ctx, func(tx Tx) error {
		var err error
		vs, err = tx.Vouchers(ctx, f)
		return err
	}); err != nil {
		return nil, nil, err
	}
	for _, v := range vs {
		v.Status = v.StatusAt(f.Now)
	}
	items, next := page(vs, f.Page, func(v *Voucher) string { return v.ID })
	return items, next, nil
}

// RedeemInput redeems a voucher.
type RedeemInput struct {
	RedeemCode  *string `json:"redeem_code"`
	LocationID  *string `json:"location_id"`
	RedeemedVia *string `json:"redeemed_via"`
}

// RedeemVoucher redeems a voucher by id (or, with an empty id, by the redeem
// code in the input) exactly once: a second redeem is already_redeemed, an
// expired voucher voucher_expired.
func (s *Service) RedeemVoucher(ctx context.Context, pr *Principal, id string, in RedeemInput) (*Voucher, error) {
	p := Problems{}
	var code string
	if id == "" {
		if in.RedeemCode == nil || strings.TrimSpace(*in.RedeemCode) == "" {
			p.Add("redeem_code", "is required")
		} else {
			var ok bool
			if code, ok = NormalizeRedeemCode(*in.RedeemCode); !ok {
				p.Add("redeem_code", "must be 3 to 64 letters, digits, - or _")
			}
		}
	}
	via := "api"
	if in.RedeemedVia != nil {
		if !contains(RedeemedVia, *in.RedeemedVia) {
			p.Add("redeemed_via", "must be one of api, pos, staff_scanner")
		}
		via = *in.RedeemedVia
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	var v *Voucher
	err := s.write(ctx, func(tx Tx, out *outbox) error {
		var err error
		if id != "" {
			v, err = tx.Voucher(ctx, pr.Business.ID, id, true)
		} else {
			v, err = tx.VoucherByCode(ctx, pr.Business.ID, code, true)
		}
		if err != nil {
			return err
		}
		loc, err := s.location(ctx, tx, pr.Business.ID, in.LocationID)
		if err != nil {
			return err
		}
		now := s.clock()
		switch v.StatusAt(now) {
		case VoucherRedeemed:
			return Errorf(EAlreadyRedeemed, "the voucher was redeemed at %s", v.RedeemedAt.Format(time.RFC3339))
		case VoucherExpired:
			return Errorf(EVoucherExpired, "the voucher expired at %s", v.ExpiresAt.Format(time.RFC3339))
		}
		v.Status, v.RedeemedAt, v.RedeemedVia = VoucherRedeemed, &now, &via
		if loc != nil {
			v.LocationID = loc
		}
		if err := tx.UpdateVoucher(ctx, v); err != nil {
			return err
		}
		cust, err := tx.Customer(ctx, pr.Business.ID, v.CustomerID)
		if err != nil {
			return err
		}
		e := s.newEvent(VoucherRedeemedEv, pr.Business.ID, loc, now)
		e.Customer, e.Voucher = eventCustomer(cust), eventVoucher(v, now)
		if v.CardID != nil {
			card, err := tx.Card(ctx, pr.Business.ID, *v.CardID, false)
			if err != nil {
				return err
			}
			e.Card = eventCard(card)
		}
		out.add(e)
		return s.reply(ctx, v)
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// ExpireDueVouchers records issued vouchers past their expiry as expired, with
// voucher_expired, a batch at a time; it returns how many it expired. It is
// safe to run concurrently and repeatedly: each voucher expires once.
func (s *Service) ExpireDueVouchers(ctx context.Context, batch int) (int, error) {
	if batch <= 0 {
		batch = 200
	}
	return inBatches(ctx, batch, func() (int, error) {
		n := 0
		err := s.write(ctx, func(tx Tx, out *outbox) error {
			n = 0
			now := s.clock()
			due, err := tx.DueVouchers(ctx, now, batch)
			if err != nil {
				return err
			}
			for _, d := range due {
				v, err := tx.Voucher(ctx, d.BusinessID, d.ID, true)
				if err != nil {
					return err
				}
				if v.Status != VoucherIssued || v.StatusAt(now) != VoucherExpired {
					continue
				}
				v.Status = VoucherExpired
				if err := tx.UpdateVoucher(ctx, v); err != nil {
					return err
				}
				cust, err := tx.Customer(ctx, v.BusinessID, v.CustomerID)
				if err != nil {
					return err
				}
				e := s.newEvent(VoucherExpiredEv, v.BusinessID, nil, now)
				e.Customer, e.Voucher = eventCustomer(cust), eventVoucher(v, now)
				if v.CardID != nil {
					if card, err := tx.Card(ctx, v.BusinessID, *v.CardID, false); err == nil {
						e.Card = eventCard(card)
					}
				}
				out.add(e)
				n++
			}
			return nil
		})
		return n, err
	})
}
