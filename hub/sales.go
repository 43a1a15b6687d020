package hub

import (
	"context"
	"fmt"
	"regexp"
	"time"
)

// Sale sources that the hub knows by name. Any other source matching
// [a-z0-9_-]{1,32} is accepted from POST /v1/sales too (a till's own name).
const (
	SourcePoster  = "poster"
	SourceSyrve   = "syrve"
	SourceGeneric = "generic"
)

// Sale statuses.
const (
	// SaleApplied: the sale's customer was found and its stamps were added.
	SaleApplied = "applied"
	// SaleUnmatched: no card was found for the customer; the sale is kept and
	// applied when the same order is posted again with a customer that is
	// found, within SaleMatchWindow of its first posting.
	SaleUnmatched = "unmatched"
)

// SaleMatchWindow is how long an unmatched sale waits to be identified.
const SaleMatchWindow = 24 * time.Hour

// SaleInput is one closed check, from a till or the API: the one intake every
// till path ends in. Money is a decimal string ("12.50"), never a float.
type SaleInput struct {
	// Source names the till or integration: poster, syrve, generic, or a
	// till's own name ([a-z0-9_-]{1,32}). (Source, OrderID) is unique per
	// business: the same order again returns the first result.
	Source     string       `json:"source"`
	OrderID    string       `json:"order_id"`
	LocationID *string      `json:"location_id"`
	Customer   SaleCustomer `json:"customer"`
	Total      string       `json:"total"`
	Currency   string       `json:"currency"`
	Items      []SaleItem   `json:"items"`
	ClosedAt   *string      `json:"closed_at"`
}

// SaleCustomer identifies the customer of a sale by exactly one of card,
// wallet pass, phone or email (the first one given in that order wins).
type SaleCustomer struct {
	CardID       *string `json:"card_id"`
	WalletPassID *string `json:"wallet_pass_id"`
	Phone        *string `json:"phone"`
	Email        *string `json:"email"`
}

// SaleItem is one line of a check.
type SaleItem struct {
	SKU      string  `json:"sku"`
	Name     *string `json:"name"`
	Category *string `json:"category"`
	// Quantity is the number of units, a JSON number or decimal string (2, "0.5").
	Quantity Quantity `json:"quantity"`
	// Price is the line's unit price as a decimal string.
	Price string `json:"price"`
}

// SaleRefunded: the sale's stamps were taken back.
const SaleRefunded = "refunded"

// SaleRefundedEv is recorded when a refund takes back a sale's stamps (the
// fourteenth event type; API.md names the first thirteen). Its data holds
// stamps_removed and sale {id, source, order_id}.
const SaleRefundedEv EventType = "sale_refunded"

// Sale is a recorded sale and what it did.
type Sale struct {
	ID         string       `json:"id"`
	BusinessID string       `json:"-"`
	Source     string       `json:"source"`
	OrderID    string       `json:"order_id"`
	LocationID *string      `json:"location_id"`
	Status     string       `json:"status"`
	Customer   SaleCustomer `json:"customer"`
	CustomerID *string      `json:"customer_id"`
	CardID     *string      `json:"card_id"`
	Total      string       `json:"total"`
	Currency   string       `json:"currency"`
	Items      []SaleItem   `json:"items"`
	ClosedAt   *time.Time   `json:"closed_at"`
	// StampsAdded is what the sale added (0 while unmatched).
	StampsAdded int `json:"stamps_added"`
	// StampsRemoved is what its refund took back (null until refunded).
	StampsRemoved *int       `json:"stamps_removed"`
	RefundedAt    *time.Time `json:"refunded_at"`
	// Rewards are the reward vouchers the sale's stamps issued, kept so that
	// a refund can void those not yet redeemed.
	Rewards   []SaleReward `json:"-"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
	// Card is the card stamped, filled in answers (not stored).
	Card *Card `json:"card"`
}

// SaleReward is a reward voucher a sale's stamps issued.
type SaleReward struct {
	VoucherID string `json:"voucher_id"`
	GoalIndex int    `json:"goal_index"`
	Cycle     int    `json:"cycle"`
}

// SaleFilter selects sales, newest first.
type SaleFilter struct {
	BusinessID string
	Status     string
	Page       Page
}

// SaleTx is the store's part for sales.
type SaleTx interface {
	// CreateSale inserts a sale; an existing (business, source, order_id) is
	// a conflict.
	CreateSale(ctx context.Context, s *Sale) error
	// SaleByOrder returns the sale of (source, order_id), locked for update
	// when forUpdate.
	SaleByOrder(ctx context.Context, businessID, source, orderID string, forUpdate bool) (*Sale, error)
	// UpdateSale saves a sale's status, customer, card, stamps and refund.
	UpdateSale(ctx context.Context, s *Sale) error
	// Sales lists sales, newest first, at most Page.Size()+1.
	Sales(ctx context.Context, f SaleFilter) ([]*Sale, error)
	// UpdateCardTemplateEarning saves a template's earning rule.
	UpdateCardTemplateEarning(ctx context.Context, t *CardTemplate) error
	// CardByWalletPass returns the card of a wallet pass, with its customer.
	CardByWalletPass(ctx context.Context, businessID, walletPassID string, forUpdate bool) (*Card, error)
}

// RefundResult is what a refund took back.
type RefundResult struct {
	StampsRemoved int   `json:"stamps_removed"`
	Card          *Card `json:"card"`
}

var (
	sourcePattern  = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)
	orderIDPattern = regexp.MustCompile(`^[\x21-\x7e]{1,128}$`)
	currencyRegexp = regexp.MustCompile(`^[A-Z]{3}$`)
)

// maxSaleItems bounds a check's lines.
const maxSaleItems = 500

// checkSale validates a sale and returns its figures and the sale to store.
func (s *Service) checkSale(businessID string, in SaleInput) (*Sale, saleFigures, error) {
	p := Problems{}
	var fig saleFigures
	if !sourcePattern.MatchString(in.Source) {
		p.Add("source", "must be 1 to 32 characters of a-z, 0-9, _ and -")
	}
	if !orderIDPattern.MatchString(in.OrderID) {
		p.Add("order_id", "must be 1 to 128 printable ASCII characters without spaces")
	}
	total, totalS := checkMoney(p, "total", in.Total)
	fig.total = total
	if !currencyRegexp.MatchString(in.Currency) {
		p.Add("currency", "must be an ISO 4217 code such as \"EUR\"")
	}
	cust := SaleCustomer{}
	switch c := in.Customer; {
	case c.CardID != nil && *c.CardID != "":
		cust.CardID = checkID(p, "customer.card_id", *c.CardID, PrefixCard)
	case c.WalletPassID != nil && *c.WalletPassID != "":
		cust.WalletPassID = checkID(p, "customer.wallet_pass_id", *c.WalletPassID, PrefixWalletPass)
	case (c.Phone != nil && *c.Phone != "") || (c.Email != nil && *c.Email != ""):
		ct := s.checkContact(p, "customer", c.Email, c.Phone)
		if ct.phone != "" {
			cust.Phone = &ct.phone
		} else if ct.email != "" {
			cust.Email = &ct.email
		}
	}
	if len(in.Items) > maxSaleItems {
		p.Add("items", fmt.Sprintf("must have at most %d lines", maxSaleItems))
	}
	items := make([]SaleItem, 0, len(in.Items))
	for i, it := range in.Items {
		f := fmt.Sprintf("items[%d]", i)
		if !skuPattern.MatchString(it.SKU) {
			p.Add(f+".sku", "must be 1 to 100 characters without control characters")
		}
		q, ok := parseDecimal(string(it.Quantity))
		if !ok || q == 0 {
			p.Add(f+".quantity", "must be a positive number with at most 4 decimals")
		}
		_, price := checkMoney(p, f+".price", it.Price)
		line := SaleItem{SKU: it.SKU, Name: optionalText(p, f+".name", it.Name, 200),
			Category: optionalText(p, f+".category", it.Category, 100),
			Quantity: Quantity(formatDecimal(q, 0)), Price: price}
		items = append(items, line)
		cat := ""
		if line.Category != nil {
			cat = *line.Category
		}
		fig.items = append(fig.items, saleLine{sku: it.SKU, category: cat, quantity: q})
	}
	var closed *time.Time
	if in.ClosedAt != nil && *in.ClosedAt != "" {
		t, err := time.Parse(time.RFC3339, *in.ClosedAt)
		if err != nil {
			p.Add("closed_at", "must be an RFC 3339 time such as 2026-05-11T12:34:56Z")
		} else {
			t = t.UTC()
			closed = &t
		}
	}
	if err := p.Err(); err != nil {
		return nil, fig, err
	}
	now := s.clock()
	return &Sale{
		ID: NewID(PrefixSale), BusinessID: businessID, Source: in.Source, OrderID: in.OrderID,
		LocationID: in.LocationID, Status: SaleUnmatched, Customer: cust, Total: totalS,
		Currency: in.Currency, Items: items, ClosedAt: closed, Rewards: []SaleReward{},
		CreatedAt: now, UpdatedAt: now,
	}, fig, nil
}

// checkID validates an id of a kind and returns it.
func checkID(p Problems, field, id, prefix string) *string {
	if !ValidID(prefix, id) {
		p.Add(field, "must be an id starting with "+prefix+"_")
	}
	return &id
}

// RecordSale applies a closed check once per (source, order_id): it adds the
// stamps the card template's earning rule gives to the customer's card and
// answers created=true. The same order again answers the first result with
// created=false, except that a sale still unmatched within SaleMatchWindow is
// applied when this posting names a customer that is found.
//
// The card stamped is the one named (card_id, wallet_pass_id), or among the
// cards of the customer found by phone or email, the one on which the sale
// earns the most stamps (the newest card on a tie). A customer or card that
// is not found leaves the sale unmatched: that is not an error.
func (s *Service) RecordSale(ctx context.Context, pr *Principal, in SaleInput) (sale *Sale, created bool, err error) {
	return s.recordSale(ctx, pr.Business.ID, in)
}

func (s *Service) recordSale(ctx context.Context, businessID string, in SaleInput) (sale *Sale, created bool, err error) {
	fresh, fig, err := s.checkSale(businessID, in)
	if err != nil {
		return nil, false, err
	}
	for attempt := 0; attempt < 3; attempt++ {
		var tpl *CardTemplate
		err = s.write(ctx, func(tx Tx, out *outbox) error {
			created = false
			loc, err := s.location(ctx, tx, businessID, in.LocationID)
			if err != nil {
				return err
			}
			sale, err = tx.SaleByOrder(ctx, businessID, fresh.Source, fresh.OrderID, true)
			switch {
			case ErrorCode(err) == ENotFound:
				// A new order. Its row is inserted last, in the transaction
				// that stamps: a concurrent twin fails on the unique key at
				// its insert and rolls back all it did, then answers the
				// first result.
				sale, created = cloneSale(fresh), true
				sale.LocationID = loc
			case err != nil:
				return err
			case sale.Status != SaleUnmatched || s.clock().Sub(sale.CreatedAt) > SaleMatchWindow:
				return s.saleCard(ctx, tx, sale, &tpl)
			case fresh.Customer != (SaleCustomer{}):
				// Unmatched so far: this posting may identify the customer.
				sale.Customer = fresh.Customer
			}
			save := tx.UpdateSale
			if created {
				save = tx.CreateSale
			}
			card, t, n, err := s.matchSale(ctx, tx, businessID, sale.Customer, fig)
			if err != nil {
				return err
			}
			if card == nil {
				return save(ctx, sale)
			}
			tpl = t
			now := s.clock()
			sale.Status, sale.CustomerID, sale.CardID, sale.StampsAdded, sale.UpdatedAt = SaleApplied, &card.CustomerID, &card.ID, n, now
			if n > 0 {
				data := map[string]any{"sale": map[string]any{"id": sale.ID, "source": sale.Source, "order_id": sale.OrderID}}
				rewards, err := s.addStampsTx(ctx, tx, out, card, tpl, sale.LocationID, n, data)
				if err != nil {
					return err
				}
				for _, v := range rewards {
					sale.Rewards = append(sale.Rewards, SaleReward{VoucherID: v.ID, GoalIndex: *v.GoalIndex, Cycle: card.Cycle})
				}
			}
			s.decorate(card, tpl)
			sale.Card = card
			return save(ctx, sale)
		})
		if ErrorCode(err) != EConflict {
			break
		}
	}
	if err != nil {
		return nil, false, err
	}
	return sale, created, nil
}

// saleCard fills sale.Card with the card the sale stamped, if any.
func (s *Service) saleCard(ctx context.Context, tx Tx, sale *Sale, tpl **CardTemplate) error {
	if sale.CardID == nil {
		return nil
	}
	card, err := tx.Card(ctx, sale.BusinessID, *sale.CardID, false)
	if err != nil {
		return err
	}
	t, err := s.cardTemplate(ctx, tx, sale.BusinessID, card.TemplateID)
	if err != nil {
		return err
	}
	s.decorate(card, t)
	sale.Card, *tpl = card, t
	return nil
}

// matchSale finds the card a sale stamps, locked, with its template (read
// fresh: earning rules can change) and the stamps it earns; a nil card when
// none is found.
func (s *Service) matchSale(ctx context.Context, tx Tx, businessID string, c SaleCustomer, fig saleFigures) (*Card, *CardTemplate, int, error) {
	var candidates []*Card
	switch {
	case c.CardID != nil:
		card, err := tx.Card(ctx, businessID, *c.CardID, true)
		if err == nil {
			candidates = []*Card{card}
		} else if ErrorCode(err) != ENotFound {
			return nil, nil, 0, err
		}
	case c.WalletPassID != nil:
		card, err := tx.CardByWalletPass(ctx, businessID, *c.WalletPassID, true)
		if err == nil {
			candidates = []*Card{card}
		} else if ErrorCode(err) != ENotFound {
			return nil, nil, 0, err
		}
	case c.Phone != nil || c.Email != nil:
		// The customer's cards in one query (a phone or an email names one
		// customer of the business).
		f := CardFilter{BusinessID: businessID, Page: Page{Limit: 100}}
		if c.Phone != nil {
			f.Phone = *c.Phone
		} else {
			f.Email = *c.Email
		}
		cards, err := tx.Cards(ctx, f)
		if err != nil {
			return nil, nil, 0, err
		}
		candidates = cards
	}
	var best *Card
	var bestTpl *CardTemplate
	bestN := -1
	for _, card := range candidates { // newest first: a tie keeps the newest
		tpl, err := s.earningTemplate(ctx, tx, businessID, card.TemplateID)
		if err != nil {
			return nil, nil, 0, err
		}
		if n := tpl.Earning.stampsFor(fig); n > bestN {
			best, bestTpl, bestN = card, tpl, n
		}
	}
	if best == nil {
		return nil, nil, 0, nil
	}
	if c.CardID == nil && c.WalletPassID == nil {
		locked, err := tx.Card(ctx, businessID, best.ID, true)
		if err != nil {
			return nil, nil, 0, err
		}
		best = locked
	}
	return best, bestTpl, bestN, nil
}

// earningTTL is how long a process trusts a card template's earning rule
// without reading it again: a PATCH elsewhere reaches every process within
// it (the process that patched knows at once).
const earningTTL = 10 * time.Second

type cachedEarning struct {
	tpl     *CardTemplate
	expires time.Time
}

// earningTemplate returns a card template read within earningTTL.
func (s *Service) earningTemplate(ctx context.Context, tx Tx, businessID, id string) (*CardTemplate, error) {
	now := s.clock()
	if v, ok := s.earnings.Load(id); ok {
		if c := v.(cachedEarning); c.tpl.BusinessID == businessID && now.Before(c.expires) {
			return c.tpl, nil
		}
	}
	tpl, err := tx.CardTemplate(ctx, businessID, id)
	if err != nil {
		return nil, err
	}
	s.earnings.Store(id, cachedEarning{tpl: tpl, expires: now.Add(earningTTL)})
	return tpl, nil
}

func cloneSale(s *Sale) *Sale {
	c := *s
	c.Rewards = []SaleReward{}
	return &c
}

// RefundSale takes back the stamps a sale added, once: never below zero and
// only from the card's current cycle. Reward vouchers the sale issued that are
// still unredeemed expire (voucher_expired with reason "sale_refunded"), and
// the goal they were for can be reached again; a reward already redeemed
// stays redeemed and its goal stays reached. It records sale_refunded. A
// second refund answers the first result. Refunding an unmatched sale takes
// back nothing and keeps it from being applied later.
func (s *Service) RefundSale(ctx context.Context, pr *Principal, source, orderID string) (*RefundResult, error) {
	businessID := pr.Business.ID
	var res *RefundResult
	var tpl *CardTemplate
	err := s.write(ctx, func(tx Tx, out *outbox) error {
		sale, err := tx.SaleByOrder(ctx, businessID, source, orderID, true)
		if err != nil {
			return err
		}
		res = &RefundResult{}
		if sale.Status == SaleRefunded {
			res.StampsRemoved = *sale.StampsRemoved
			if err := s.saleCard(ctx, tx, sale, &tpl); err != nil {
				return err
			}
			res.Card = sale.Card
			return nil
		}
		now := s.clock()
		removed := 0
		if sale.CardID != nil {
			card, err := tx.Card(ctx, businessID, *sale.CardID, true)
			if err != nil {
				return err
			}
			if tpl, err = s.cardTemplate(ctx, tx, businessID, card.TemplateID); err != nil {
				return err
			}
			removed = min(sale.StampsAdded, card.Stamps)
			card.Stamps -= removed
			card.StampsTotal = max(0, card.StampsTotal-removed)
			goal := 0
			for goal < len(tpl.Goals) && tpl.Goals[goal].Stamps <= card.Stamps {
				goal++
			}
			var voided []*Voucher
			for _, r := range sale.Rewards {
				v, err := tx.Voucher(ctx, businessID, r.VoucherID, true)
				if err != nil {
					return err
				}
				if v.Status == VoucherIssued {
					v.Status, v.ExpiresAt = VoucherExpired, &now
					if err := tx.UpdateVoucher(ctx, v); err != nil {
						return err
					}
					voided = append(voided, v)
				} else if v.Status == VoucherRedeemed && r.Cycle == card.Cycle {
					goal = max(goal, r.GoalIndex+1)
				}
			}
			if goal < card.GoalIndex && goal < len(tpl.Goals) {
				card.GoalIndex = goal
			}
			card.UpdatedAt = now
			if err := tx.UpdateCard(ctx, card); err != nil {
				return err
			}
			ev := s.newEvent(SaleRefundedEv, businessID, sale.LocationID, now)
			ev.Customer, ev.Card = eventCustomer(card.Customer), eventCard(card)
			ev.Data = map[string]any{"stamps_removed": removed,
				"sale": map[string]any{"id": sale.ID, "source": sale.Source, "order_id": sale.OrderID}}
			out.add(ev)
			for _, v := range voided {
				e := s.newEvent(VoucherExpiredEv, businessID, sale.LocationID, now)
				e.Customer, e.Card, e.Voucher = eventCustomer(card.Customer), eventCard(card), eventVoucher(v, now)
				e.Data = map[string]any{"reason": "sale_refunded"}
				out.add(e)
			}
			s.decorate(card, tpl)
			res.Card = card
		}
		sale.Status, sale.StampsRemoved, sale.RefundedAt, sale.UpdatedAt = SaleRefunded, &removed, &now, now
		res.StampsRemoved = removed
		return tx.UpdateSale(ctx, sale)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Sales lists a business's sales, newest first, optionally by status.
func (s *Service) Sales(ctx context.Context, businessID, status string, pg Page) ([]*Sale, *string, error) {
	switch status {
	case "", SaleApplied, SaleUnmatched, SaleRefunded:
	default:
		return nil, nil, Problems{"status": `must be "applied", "unmatched" or "refunded"`}.Err()
	}
	if err := CheckPage(pg, PrefixSale); err != nil {
		return nil, nil, err
	}
	var sales []*Sale
	err := s.read(ctx, func(tx Tx) error {
		var err error
		sales, err = tx.Sales(ctx, SaleFilter{BusinessID: businessID, Status: status, Page: pg})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	items, next := page(sales, pg, func(s *Sale) string { return s.ID })
	return items, next, nil
}
