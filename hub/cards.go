package hub

import (
	"context"
	"crypto/subtle"
	"net/url"
	"time"
)

// IssueCardInput issues a card of a template to a customer.
type IssueCardInput struct {
	TemplateID string        `json:"template_id"`
	Customer   CustomerInput `json:"customer"`
	LocationID *string       `json:"location_id"`
}

// IssueCard issues a card to the customer found or created by email or phone.
// It reports created=false (and returns the existing card) when the customer
// already holds a card of the template.
func (s *Service) IssueCard(ctx context.Context, pr *Principal, in IssueCardInput) (card *Card, created bool, err error) {
	p := Problems{}
	if in.TemplateID == "" {
		p.Add("template_id", "is required")
	}
	c := s.checkContact(p, "customer", in.Customer.Email, in.Customer.Phone)
	d := s.checkDetails(p, "customer", in.Customer)
	if err := p.Err(); err != nil {
		return nil, false, err
	}
	var tpl *CardTemplate
	// A concurrent first issue to the same new customer may win the unique
	// constraint; the retry then finds what it wrote.
	for attempt := 0; attempt < 3; attempt++ {
		err = s.write(ctx, func(tx Tx, out *outbox) error {
			var err error
			created = false
			if tpl, err = s.cardTemplate(ctx, tx, pr.Business.ID, in.TemplateID); err != nil {
				return err
			}
			loc, err := s.location(ctx, tx, pr.Business.ID, in.LocationID)
			if err != nil {
				return err
			}
			cust, err := s.findOrCreateCustomer(ctx, tx, &pr.Business, c, d)
			if err != nil {
				return err
			}
			card, err = tx.CardByCustomerTemplate(ctx, pr.Business.ID, cust.ID, tpl.ID)
			if err == nil {
				card.Customer = cust
				return nil
			}
			if ErrorCode(err) != ENotFound {
				return err
			}
			now := s.clock()
			card = &Card{
				ID: NewID(PrefixCard), BusinessID: pr.Business.ID, TemplateID: tpl.ID,
				CustomerID: cust.ID, Customer: cust, WalletPassID: NewID(PrefixWalletPass),
				Cycle: 1, Status: CardActive, PageToken: NewPageToken(), CreatedAt: now, UpdatedAt: now,
			}
			if err := tx.CreateCard(ctx, card); err != nil {
				return err
			}
			if cust.WalletPassID == nil {
				cust.WalletPassID = &card.WalletPassID
				cust.UpdatedAt = now
				if err := tx.UpdateCustomer(ctx, cust); err != nil {
					return err
				}
			}
			created = true
			out.add(s.cardEvent(CardIssued, card, loc, now))
			return nil
		})
		if ErrorCode(err) != EConflict {
			break
		}
	}
	if err != nil {
		return nil, false, err
	}
	s.decorate(card, tpl)
	return card, created, nil
}

// location checks an optional location id of the business.
func (s *Service) location(ctx context.Context, tx AccountTx, businessID string, id *string) (*string, error) {
	if id == nil || *id == "" {
		return nil, nil
	}
	if _, err := tx.Location(ctx, businessID, *id); err != nil {
		return nil, err
	}
	return id, nil
}

// decorate fills the computed fields of a card: its goals and page link.
func (s *Service) decorate(c *Card, t *CardTemplate) {
	c.Goals = make([]GoalState, len(t.Goals))
	for i, g := range t.Goals {
		c.Goals[i] = GoalState{Index: i, Stamps: g.Stamps, Reward: RewardTitle{Title: g.Reward.Title}, Reached: i < c.GoalIndex}
	}
	c.PageURL = s.publicURL + "/c/" + c.ID + "?t=" + c.PageToken
}

func (s *Service) newEvent(t EventType, businessID string, loc *string, at time.Time) *Event {
	return &Event{ID: NewID(PrefixEvent), Type: t, Timestamp: at, BusinessID: businessID, LocationID: loc}
}

func (s *Service) cardEvent(t EventType, c *Card, loc *string, at time.Time) *Event {
	e := s.newEvent(t, c.BusinessID, loc, at)
	e.Customer = eventCustomer(c.Customer)
	e.Card = eventCard(c)
	return e
}

func eventCard(c *Card) *EventCard {
	return &EventCard{ID: c.ID, TemplateID: c.TemplateID, Stamps: c.Stamps, StampsTotal: c.StampsTotal, GoalIndex: c.GoalIndex, Cycle: c.Cycle}
}

// Card returns one of a business's cards.
func (s *Service) Card(ctx context.Context, businessID, id string) (*Card, error) {
	var c *Card
	err := s.read(ctx, func(tx Tx) error {
		var err error
		if c, err = tx.Card(ctx, businessID, id, false); err != nil {
			return err
		}
		t, err := s.cardTemplate(ctx, tx, businessID, c.TemplateID)
		if err != nil {
			return err
		}
		s.decorate(c, t)
		return nil
	})
	return c, err
}

// Cards searches a business's cards.
func (s *Service) Cards(ctx context.Context, f CardFilter) ([]*Card, *string, error) {
	var err error
	if f.Email, f.Phone, err = contactFilter(f.Email, f.Phone); err != nil {
		return nil, nil, err
	}
	if err := CheckPage(f.Page, PrefixCard); err != nil {
		return nil, nil, err
	}
	var cards []*Card
	err = s.read(ctx, func(tx Tx) error {
		var err error
		if cards, err = tx.Cards(ctx, f); err != nil {
			return err
		}
		for _, c := range cards {
			t, err := s.cardTemplate(ctx, tx, f.BusinessID, c.TemplateID)
			if err != nil {
				return err
			}
			s.decorate(c, t)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	items, next := page(cards, f.Page, func(c *Card) string { return c.ID })
	return items, next, nil
}

// AddStampsInput adds stamps to a card.
type AddStampsInput struct {
	Count      *int    `json:"count"`
	LocationID *string `json:"location_id"`
	Note       *string `json:"note"`
}

// StampByCustomerInput adds stamps to a customer's card.
type StampByCustomerInput struct {
	Customer   ContactInput `json:"customer"`
	TemplateID *string      `json:"template_id"`
	Count      *int         `json:"count"`
	LocationID *string      `json:"location_id"`
	Note       *string      `json:"note"`
}

// MaxStampsPerCall bounds one stamp call.
const MaxStampsPerCall = 100

func checkCount(p Problems, count *int) int {
	if count == nil {
		return 1
	}
	if *count < 1 || *count > MaxStampsPerCall {
		p.Add("count", "must be between 1 and 100")
	}
	return *count
}

// AddStamps adds stamps to a card and issues a reward voucher for every goal
// crossed. Concurrent calls on one card are serialised; none loses a stamp.
func (s *Service) AddStamps(ctx context.Context, pr *Principal, cardID string, in AddStampsInput) (*StampResult, error) {
	p := Problems{}
	count := checkCount(p, in.Count)
	note := optionalText(p, "note", in.Note, 500)
	if err := p.Err(); err != nil {
		return nil, err
	}
	return s.stamp(ctx, pr, count, in.LocationID, note, func(tx Tx) (string, error) { return cardID, nil })
}

// StampByCustomer adds stamps to the card of the customer found by email or
// phone: the card of the template given, or the customer's only card.
func (s *Service) StampByCustomer(ctx context.Context, pr *Principal, in StampByCustomerInput) (*StampResult, error) {
	p := Problems{}
	c := s.checkContact(p, "customer", in.Customer.Email, in.Customer.Phone)
	count := checkCount(p, in.Count)
	note := optionalText(p, "note", in.Note, 500)
	if err := p.Err(); err != nil {
		return nil, err
	}
	return s.stamp(ctx, pr, count, in.LocationID, note, func(tx Tx) (string, error) {
		cust, err := findCustomer(ctx, tx, pr.Business.ID, c)
		if err != nil {
			return "", err
		}
		if in.TemplateID != nil && *in.TemplateID != "" {
			card, err := tx.CardByCustomerTemplate(ctx, pr.Business.ID, cust.ID, *in.TemplateID)
			if err != nil {
				return "", err
			}
			return card.ID, nil
		}
		cards, err := tx.Cards(ctx, CardFilter{BusinessID: pr.Business.ID, CustomerID: cust.ID, Page: Page{Limit: 2}})
		if err != nil {
			return "", err
		}
		switch len(cards) {
		case 0:
			return "", NotFound("card")
		case 1:
			return cards[0].ID, nil
		}
		return "", Problems{"template_id": "is required: the customer holds several cards"}.Err()
	})
}

func (s *Service) stamp(ctx context.Context, pr *Principal, count int, locationID, note *string, pick func(Tx) (string, error)) (*StampResult, error) {
	var res *StampResult
	var tpl *CardTemplate
	err := s.write(ctx, func(tx Tx, out *outbox) error {
		res = &StampResult{Events: []EventRef{}, Rewards: []*Voucher{}}
		cardID, err := pick(tx)
		if err != nil {
			return err
		}
		card, err := tx.Card(ctx, pr.Business.ID, cardID, true)
		if err != nil {
			return err
		}
		if tpl, err = s.cardTemplate(ctx, tx, pr.Business.ID, card.TemplateID); err != nil {
			return err
		}
		loc, err := s.location(ctx, tx, pr.Business.ID, locationID)
		if err != nil {
			return err
		}
		data := map[string]any{}
		if note != nil {
			data["note"] = *note
		}
		if res.Rewards, err = s.addStampsTx(ctx, tx, out, card, tpl, loc, count, data); err != nil {
			return err
		}
		for _, e := range out.events {
			res.Events = append(res.Events, EventRef{ID: e.ID, Event: e.Type})
		}
		res.Card = card
		s.decorate(res.Card, tpl)
		return s.reply(ctx, res)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// addStampsTx adds count stamps to card (read for update in tx) under tpl's
// goals and saves it: stamp_added (with data and "count") goes to out, then
// goal_reached and reward_issued for every goal crossed, whose reward vouchers
// it creates and returns.
func (s *Service) addStampsTx(ctx context.Context, tx Tx, out *outbox, card *Card, tpl *CardTemplate, loc *string, count int, data map[string]any) ([]*Voucher, error) {
	rewards := []*Voucher{}
	now := s.clock()
	crossed := ApplyStamps(card, tpl.Goals, count)
	card.UpdatedAt, card.LastStampAt = now, &now

	added := s.newEvent(StampAdded, card.BusinessID, loc, now)
	added.Customer, added.Card = eventCustomer(card.Customer), eventCard(card)
	added.Data = map[string]any{"count": count}
	for k, v := range data {
		added.Data[k] = v
	}
	out.add(added)
	for _, cr := range crossed {
		g := tpl.Goals[cr.GoalIndex]
		reached := s.newEvent(GoalReached, card.BusinessID, loc, now)
		reached.Customer, reached.Card = eventCustomer(card.Customer), &cr.Card
		reached.Data = map[string]any{"goal_index": cr.GoalIndex, "goal_stamps": g.Stamps, "reward": g.Reward.Title}
		out.add(reached)

		gi := cr.GoalIndex
		v := &Voucher{
			ID: NewID(PrefixVoucher), BusinessID: card.BusinessID, Type: VoucherTypeReward,
			Title: g.Reward.Title, Description: g.Reward.Description,
			RedeemCodeFormats: append([]string(nil), RedeemCodeFormats...), Status: VoucherIssued,
			CustomerID: card.CustomerID, CardID: &card.ID, GoalIndex: &gi, LocationID: loc, CreatedAt: now,
		}
		if err := s.createVoucher(ctx, tx, v, false); err != nil {
			return nil, err
		}
		issued := s.newEvent(RewardIssued, card.BusinessID, loc, now)
		issued.Customer, issued.Card, issued.Voucher = eventCustomer(card.Customer), &cr.Card, eventVoucher(v, now)
		issued.Data = map[string]any{"goal_index": cr.GoalIndex}
		out.add(issued)
		rewards = append(rewards, v)
	}
	return rewards, tx.UpdateCard(ctx, card)
}

// Crossing is a goal reached while stamping, with the card as it was then.
type Crossing struct {
	GoalIndex int
	Card      EventCard
}

// ApplyStamps adds n stamps to the card under the goals and returns every goal
// crossed, in order. Reaching the last goal starts a new cycle; stamps past it
// carry over into the new cycle.
func ApplyStamps(c *Card, goals []Goal, n int) []Crossing {
	var crossed []Crossing
	if len(goals) == 0 {
		c.Stamps += n
		c.StampsTotal += n
		return nil
	}
	if c.GoalIndex >= len(goals) {
		c.GoalIndex = 0
	}
	for i := 0; i < n; i++ {
		c.Stamps++
		c.StampsTotal++
		if c.Stamps < goals[c.GoalIndex].Stamps {
			continue
		}
		reached := c.GoalIndex
		c.GoalIndex++
		crossed = append(crossed, Crossing{GoalIndex: reached, Card: *eventCard(c)})
		if c.GoalIndex == len(goals) {
			c.Cycle++
			c.Stamps = 0
			c.GoalIndex = 0
		}
	}
	return crossed
}

// History lists a card's events, newest first.
func (s *Service) History(ctx context.Context, businessID, cardID string, pg Page) ([]*EventRecord, *string, error) {
	if err := CheckPage(pg, PrefixEvent); err != nil {
		return nil, nil, err
	}
	var evs []*EventRecord
	err := s.read(ctx, func(tx Tx) error {
		if _, err := tx.Card(ctx, businessID, cardID, false); err != nil {
			return err
		}
		var err error
		evs, err = tx.Events(ctx, EventFilter{BusinessID: businessID, CardID: cardID, Page: pg})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	items, next := page(evs, pg, func(e *EventRecord) string { return e.ID })
	return items, next, nil
}

// LotteryPlayInput plays a card's lottery.
type LotteryPlayInput struct {
	LocationID *string `json:"location_id"`
}

// PlayLottery draws from the card template's lottery; a win issues a voucher.
func (s *Service) PlayLottery(ctx context.Context, pr *Principal, cardID string, in LotteryPlayInput) (*LotteryResult, error) {
	var res *LotteryResult
	err := s.write(ctx, func(tx Tx, out *outbox) error {
		card, err := tx.Card(ctx, pr.Business.ID, cardID, true)
		if err != nil {
			return err
		}
		tpl, err := s.cardTemplate(ctx, tx, pr.Business.ID, card.TemplateID)
		if err != nil {
			return err
		}
		if tpl.Lottery == nil {
			return Problems{"card_id": "the card's template has no lottery"}.Err()
		}
		loc, err := s.location(ctx, tx, pr.Business.ID, in.LocationID)
		if err != nil {
			return err
		}
		now := s.clock()
		res = &LotteryResult{}
		prize := Draw(tpl.Lottery, s.intn)
		played := s.cardEvent(LotteryPlayed, card, loc, now)
		out.add(played)
		if prize != nil {
			res.Result = LotteryOutcome{Won: true, Prize: &RewardTitle{Title: prize.Title}}
			v := &Voucher{
				ID: NewID(PrefixVoucher), BusinessID: card.BusinessID, Type: VoucherTypeVoucher,
				Title: prize.Title, RedeemCodeFormats: append([]string(nil), RedeemCodeFormats...),
				Status: VoucherIssued, CustomerID: card.CustomerID, CardID: &card.ID, LocationID: loc, CreatedAt: now,
			}
			if err := s.createVoucher(ctx, tx, v, false); err != nil {
				return err
			}
			res.Voucher = v
			issued := s.cardEvent(VoucherIssuedEv, card, loc, now)
			issued.Voucher = eventVoucher(v, now)
			issued.Data = map[string]any{"source": "lottery"}
			out.add(issued)
		}
		played.Lottery = &res.Result
		return s.reply(ctx, res)
	})
	return res, err
}

// Draw picks a prize with probability weight/(sum of weights + lose weight), or nil.
func Draw(l *Lottery, intn func(int) int) *Prize {
	total := l.LoseWeight
	for _, p := range l.Prizes {
		total += p.Weight
	}
	if total <= 0 {
		return nil
	}
	r := intn(total)
	for i := range l.Prizes {
		if r < l.Prizes[i].Weight {
			return &l.Prizes[i]
		}
		r -= l.Prizes[i].Weight
	}
	return nil
}

// CardPageOpenEvery is how often opening a card page records card_opened at most.
const CardPageOpenEvery = 30 * time.Minute

// CardPage is what the public card page shows.
type CardPage struct {
	Card     *Card
	Template *CardTemplate
	Business *Business
	Vouchers []*Voucher
	// Links open a messenger linked to the card's customer, for each
	// messenger the business has configured.
	Links []CardPageLink
}

// CardPageLink is a "connect this messenger" link of the card page; it goes
// through the hub, which issues a one-time link token when it is followed.
type CardPageLink struct {
	Channel string
	URL     string
}

// OpenCardPage checks the page token, records card_opened at most once per
// 30 minutes, and returns the card with its open vouchers. A wrong token is
// not_found. The page is read without locking anything; only an opening to
// record takes a write transaction, after the token was checked, so a
// stranger guessing tokens (or a reload) costs one read.
func (s *Service) OpenCardPage(ctx context.Context, cardID, token string) (*CardPage, error) {
	if !ValidID(PrefixCard, cardID) || token == "" {
		return nil, NotFound("card")
	}
	pg := &CardPage{}
	now := s.clock()
	err := s.read(ctx, func(tx Tx) error {
		biz, err := tx.BusinessOfCard(ctx, cardID)
		if err != nil {
			return err
		}
		card, err := tx.Card(ctx, biz.ID, cardID, false)
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare([]byte(card.PageToken), []byte(token)) != 1 {
			return NotFound("card")
		}
		if pg.Template, err = s.cardTemplate(ctx, tx, biz.ID, card.TemplateID); err != nil {
			return err
		}
		vs, err := tx.Vouchers(ctx, VoucherFilter{BusinessID: biz.ID, CustomerID: card.CustomerID, Status: VoucherIssued, Now: now, Page: Page{Limit: MaxPageLimit}})
		if err != nil {
			return err
		}
		if len(vs) > MaxPageLimit {
			vs = vs[:MaxPageLimit]
		}
		pg.Card, pg.Business, pg.Vouchers = card, biz, vs
		if s.box != nil {
			for _, ch := range LinkChannels {
				cfg, err := s.routeChannel(ctx, tx, biz.ID, ch)
				if err != nil {
					return err
				}
				if cfg != nil && s.deepLink(cfg, "x") != "" {
					pg.Links = append(pg.Links, CardPageLink{Channel: ch,
						URL: "/c/" + card.ID + "/link/" + ch + "?t=" + url.QueryEscape(token)})
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if last := pg.Card.LastOpenedAt; last == nil || now.Sub(*last) >= CardPageOpenEvery {
		// Record the opening: lock the card and look again (another request
		// may have recorded it meanwhile, or the token changed).
		err = s.write(ctx, func(tx Tx, out *outbox) error {
			card, err := tx.Card(ctx, pg.Business.ID, cardID, true)
			if err != nil {
				return err
			}
			if subtle.ConstantTimeCompare([]byte(card.PageToken), []byte(token)) != 1 {
				return NotFound("card")
			}
			if card.LastOpenedAt == nil || now.Sub(*card.LastOpenedAt) >= CardPageOpenEvery {
				card.LastOpenedAt = &now
				if err := tx.UpdateCard(ctx, card); err != nil {
					return err
				}
				out.add(s.cardEvent(CardOpened, card, nil, now))
			}
			pg.Card = card
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	s.decorate(pg.Card, pg.Template)
	return pg, nil
}
