package hub

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// MessageQueue hands queued deliveries to the workers. A failure is not
// fatal: the delivery relay enqueues pending deliveries it finds stalled.
type MessageQueue interface {
	EnqueueDeliveries(ctx context.Context, keys []DeliveryKey) error
}

// DeliveryKey names a ledger row: its business and id.
type DeliveryKey struct {
	BusinessID string `json:"business_id"`
	ID         string `json:"delivery_id"`
}

// MessageRequest asks for one message to one customer on one channel.
type MessageRequest struct {
	BusinessID string
	// Source makes the request idempotent: the same source, customer and
	// channel always name the same delivery.
	Source     string
	CustomerID string
	Channel    string
	Content    MessageContent
	// Transactional messages ignore quiet hours and frequency caps.
	Transactional bool
}

// Message size bounds.
const (
	MaxMessageText    = 4096
	MaxMessageHTML    = 256 << 10
	MaxMessageSubject = 200
	MaxSourceLength   = 200
)

// QueueMessage records a pending delivery and schedules it. Asking again for
// the same source, customer and channel returns the existing delivery
// (created false) and schedules nothing.
func (s *Service) QueueMessage(ctx context.Context, r MessageRequest) (d *Delivery, created bool, err error) {
	p := Problems{}
	if !slices.Contains(Channels, r.Channel) {
		p.Add("channel", "must be one of "+strings.Join(Channels, ", "))
	}
	if r.Source == "" || len(r.Source) > MaxSourceLength {
		p.Add("source", "is required (at most 200 characters)")
	}
	if !ValidID(PrefixCustomer, r.CustomerID) {
		p.Add("customer_id", "must be a customer id")
	}
	c := r.Content
	if strings.TrimSpace(c.Text) == "" && c.Template == nil {
		p.Add("text", "is required")
	}
	if utf8.RuneCountInString(c.Text) > MaxMessageText {
		p.Add("text", "must be at most 4096 characters")
	}
	if len(c.HTML) > MaxMessageHTML {
		p.Add("html", "must be at most 256 KiB")
	}
	if utf8.RuneCountInString(c.Subject) > MaxMessageSubject {
		p.Add("subject", "must be at most 200 characters")
	}
	if c.CardID != "" && !ValidID(PrefixCard, c.CardID) {
		p.Add("card_id", "must be a card id")
	}
	if err := p.Err(); err != nil {
		return nil, false, err
	}
	now := s.clock()
	err = s.write(ctx, func(tx Tx, _ *outbox) error {
		if _, err := tx.Customer(ctx, r.BusinessID, r.CustomerID); err != nil {
			return err
		}
		if c.CardID != "" {
			card, err := tx.Card(ctx, r.BusinessID, c.CardID, false)
			if err != nil {
				return err
			}
			if card.CustomerID != r.CustomerID {
				return Errorf(EValidation, "the card belongs to another customer")
			}
		}
		existing, err := tx.DeliveryBySource(ctx, r.BusinessID, r.Source, r.CustomerID, r.Channel)
		if err == nil {
			d, created = existing, false
			return nil
		}
		if ErrorCode(err) != ENotFound {
			return err
		}
		d = &Delivery{ID: NewID(PrefixDelivery), BusinessID: r.BusinessID, Source: r.Source, CustomerID: r.CustomerID,
			Channel: r.Channel, Status: DeliveryPending, Content: c, Transactional: r.Transactional, CreatedAt: now, UpdatedAt: now}
		created = true
		return tx.CreateDelivery(ctx, d)
	})
	if err != nil || !created {
		return d, created, err
	}
	if s.messages != nil {
		if err := s.messages.EnqueueDeliveries(context.WithoutCancel(ctx), []DeliveryKey{{r.BusinessID, d.ID}}); err != nil {
			s.log.WarnContext(ctx, "delivery recorded but not enqueued; the relay will enqueue it", "delivery", d.ID, "err", err)
		}
	}
	return d, true, nil
}

// DeliveryByID returns one ledger row of a business.
func (s *Service) DeliveryByID(ctx context.Context, businessID, id string) (*Delivery, error) {
	var d *Delivery
	err := s.read(ctx, func(tx Tx) error {
		var err error
		d, err = tx.Delivery(ctx, businessID, id, false)
		return err
	})
	return d, err
}

// Deliveries lists a business's ledger, newest first.
func (s *Service) Deliveries(ctx context.Context, f DeliveryFilter) ([]*Delivery, *string, error) {
	p := Problems{}
	if f.CustomerID != "" && !ValidID(PrefixCustomer, f.CustomerID) {
		p.Add("customer_id", "must be a customer id")
	}
	if err := p.Err(); err != nil {
		return nil, nil, err
	}
	if err := CheckPage(f.Page, PrefixDelivery); err != nil {
		return nil, nil, err
	}
	var rows []*Delivery
	err := s.read(ctx, func(tx Tx) error {
		var err error
		rows, err = tx.Deliveries(ctx, f)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	items, next := page(rows, f.Page, func(d *Delivery) string { return d.ID })
	return items, next, nil
}

// Outgoing is a delivery ready for its provider: the ledger row, the
// provider's configuration and the message with its address.
type Outgoing struct {
	Delivery *Delivery
	Config   *ChannelConfig
	Message  Message
	// HoldUntil, when set, is when the delivery may be sent: quiet hours or
	// a paused campaign hold it; the caller hands it back to the queue.
	HoldUntil time.Time
}

// Reasons a delivery fails before reaching a provider.
const (
	ReasonNoConsent     = "no_consent"
	ReasonUnreachable   = "unreachable"
	ReasonNoAddress     = "no_address"
	ReasonNotConfigured = "not_configured"
	ReasonNoDevice      = "no_device"
	ReasonLost          = "lost_in_flight"
)

// PeekSend prepares a pending delivery without claiming it, so the caller
// can wait for rate limits first. It returns nil when there is nothing to
// send (the delivery is final, in flight, or cannot be sent; ClaimSend then
// records why).
func (s *Service) PeekSend(ctx context.Context, k DeliveryKey) (*Outgoing, error) {
	var out *Outgoing
	err := s.read(ctx, func(tx Tx) error {
		d, err := tx.Delivery(ctx, k.BusinessID, k.ID, false)
		if err != nil {
			return err
		}
		if d.Status != DeliveryPending {
			return nil
		}
		until, cancelled, err := s.holdUntil(ctx, tx, d)
		if err != nil || cancelled {
			return err // a cancelled campaign's delivery: the claim fails it
		}
		out, _, err = s.prepare(ctx, tx, d, nil)
		if out != nil {
			out.HoldUntil = until
		}
		return err
	})
	return out, err
}

// SendingStaleAfter is how long a delivery may stay sending before a worker
// that finds it takes the attempt for dead. It exceeds the longest provider
// call (the router's 15 s send timeout) and is shorter than asynq's task
// lease, so the retry of a task whose worker died finds it stale.
const SendingStaleAfter = 20 * time.Second

// ErrInFlight is ClaimSend's answer for a delivery another worker is sending
// right now; the caller tries again after SendingStaleAfter.
var ErrInFlight = Errorf(EConflict, "the delivery is being sent by another worker")

// ClaimSend moves a pending delivery to sending and returns it ready for the
// provider. It returns nil when there is nothing to send: the delivery is
// already final; it was found sending for longer than SendingStaleAfter (an
// earlier attempt died mid-send, so it becomes unknown and is never sent
// again); or it cannot be sent (no consent, unreachable, no address, no
// provider), which fails it. A delivery another worker began sending less
// than SendingStaleAfter ago is ErrInFlight.
func (s *Service) ClaimSend(ctx context.Context, k DeliveryKey) (*Outgoing, error) {
	var out *Outgoing
	now := s.clock()
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		tally := activityTally{}
		var err error
		if out, _, err = s.claim(ctx, tx, k, now, false, nil, tally); err != nil {
			return err
		}
		return tally.flush(ctx, tx)
	})
	return out, err
}

// Claim is ClaimSends' answer for one delivery.
type Claim struct {
	Key DeliveryKey
	// Out is the delivery, now sending, ready for its provider; nil when
	// there is nothing to send (as ClaimSend) or it is held.
	Out *Outgoing
	// HoldUntil, when set, is when a delivery held by quiet hours or a
	// paused campaign may go; it was not claimed.
	HoldUntil time.Time
	// Err is this delivery's own trouble: ErrInFlight, or not found.
	Err error
}

// ClaimSends claims many deliveries in one transaction: each as ClaimSend,
// except that a delivery held by quiet hours or a paused campaign stays
// pending and says until when. Keys are claimed in id order, so two
// batches that share deliveries cannot deadlock. A campaign chunk pays one
// transaction for its claims instead of one per recipient.
func (s *Service) ClaimSends(ctx context.Context, keys []DeliveryKey) ([]Claim, error) {
	claims := make([]Claim, len(keys))
	order := idOrder(len(keys), func(i int) DeliveryKey { return keys[i] })
	now := s.clock()
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		routes, tally := routeMemo{}, activityTally{}
		for _, i := range order {
			out, hold, err := s.claim(ctx, tx, keys[i], now, true, routes, tally)
			claims[i] = Claim{Key: keys[i], Out: out, HoldUntil: hold}
			switch {
			case err == nil:
			case errors.Is(err, ErrInFlight) || ErrorCode(err) == ENotFound:
				claims[i].Err = err
			default:
				return err
			}
		}
		return tally.flush(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return claims, nil
}

// idOrder is the order in which a batch visits its n deliveries: by
// business and id, so two batches that share deliveries lock them in the
// same order and cannot deadlock.
func idOrder(n int, key func(i int) DeliveryKey) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		ka, kb := key(a), key(b)
		return cmp.Or(cmp.Compare(ka.BusinessID, kb.BusinessID), cmp.Compare(ka.ID, kb.ID))
	})
	return order
}

// claim is ClaimSend's work inside a transaction. With checkHold, a
// delivery that quiet hours or a paused campaign hold is left pending and
// its hold returned. A delivery it ends is tracked in tally.
func (s *Service) claim(ctx context.Context, tx Tx, k DeliveryKey, now time.Time, checkHold bool, routes routeMemo, tally activityTally) (*Outgoing, time.Time, error) {
	d, err := tx.Delivery(ctx, k.BusinessID, k.ID, true)
	if err != nil {
		return nil, time.Time{}, err
	}
	prev := *d
	switch d.Status {
	case DeliveryPending:
	case DeliverySending:
		if now.Sub(d.UpdatedAt) < SendingStaleAfter {
			// Another task is sending it now (a campaign chunk and a relayed
			// task may hold the same delivery): leave it to that one.
			return nil, time.Time{}, ErrInFlight
		}
		d.Status, d.Error, d.UpdatedAt = DeliveryUnknown, ReasonLost, now
		tally.track(&prev, d)
		return nil, time.Time{}, tx.UpdateDelivery(ctx, d)
	default:
		return nil, time.Time{}, nil
	}
	if until, cancelled, err := s.holdUntil(ctx, tx, d); err != nil {
		return nil, time.Time{}, err
	} else if cancelled {
		d.Status, d.Error, d.UpdatedAt = DeliveryFailed, ReasonCancelled, now
		tally.track(&prev, d)
		return nil, time.Time{}, tx.UpdateDelivery(ctx, d)
	} else if checkHold && until.After(now) {
		return nil, until, nil
	}
	o, reason, err := s.prepare(ctx, tx, d, routes)
	if err != nil {
		return nil, time.Time{}, err
	}
	if o == nil {
		d.Status, d.Error, d.UpdatedAt = DeliveryFailed, reason, now
		tally.track(&prev, d)
		return nil, time.Time{}, tx.UpdateDelivery(ctx, d)
	}
	if d.Channel == ChannelPush {
		if err := tx.PutPassOffer(ctx, &PassOffer{BusinessID: d.BusinessID, CardID: o.Message.To,
			Text: d.Content.Text, UpdatedAt: now}); err != nil {
			return nil, time.Time{}, err
		}
	}
	d.Status, d.Provider, d.Attempts, d.Error, d.UpdatedAt = DeliverySending, o.Config.Provider, d.Attempts+1, "", now
	if err := tx.UpdateDelivery(ctx, d); err != nil {
		return nil, time.Time{}, err
	}
	return o, time.Time{}, nil
}

// routeMemo keeps the provider configuration each (business, channel)
// routes to for the length of one transaction, so a batch of a campaign's
// deliveries reads, opens and decodes it once. Nil keeps nothing.
type routeMemo map[string]*ChannelConfig

// route is routeChannel through the memo.
func (s *Service) route(ctx context.Context, tx Tx, memo routeMemo, businessID, channel string) (*ChannelConfig, error) {
	key := businessID + "/" + channel
	if cfg, ok := memo[key]; ok {
		return cfg, nil
	}
	cfg, err := s.routeChannel(ctx, tx, businessID, channel)
	if err == nil && memo != nil {
		memo[key] = cfg
	}
	return cfg, err
}

// prepare checks consent, reachability, the address and the provider of a
// delivery and builds its message; a nil Outgoing comes with the reason.
func (s *Service) prepare(ctx context.Context, tx Tx, d *Delivery, routes routeMemo) (*Outgoing, string, error) {
	cust, err := tx.Customer(ctx, d.BusinessID, d.CustomerID)
	if err != nil {
		return nil, "", err
	}
	if c, ok := cust.Consent[d.Channel]; !ok || !c.Granted {
		return nil, ReasonNoConsent, nil
	}
	m := Message{DeliveryID: d.ID, BusinessID: d.BusinessID, CustomerID: d.CustomerID, Channel: d.Channel,
		Language: cust.Language, Subject: d.Content.Subject, Text: d.Content.Text, HTML: d.Content.HTML,
		Template: d.Content.Template}
	contact, err := tx.Contact(ctx, d.BusinessID, d.CustomerID, d.Channel)
	switch {
	case err == nil:
		if !contact.Reachable {
			return nil, ReasonUnreachable, nil
		}
		m.To = contact.Address
		if contact.LastInboundAt != nil {
			m.WindowUntil = contact.LastInboundAt.Add(24 * time.Hour)
		}
	case ErrorCode(err) != ENotFound:
		return nil, "", err
	}
	switch d.Channel {
	case ChannelEmail:
		if cust.Email == nil {
			return nil, ReasonNoAddress, nil
		}
		m.To = *cust.Email
		m.UnsubscribeURL = s.UnsubscribeURL(d.BusinessID, d.CustomerID)
	case ChannelWhatsApp:
		if m.To == "" && cust.Phone != nil {
			m.To = *cust.Phone
		}
	case ChannelPush:
		cardID, devices, err := s.passTarget(ctx, tx, d)
		if err != nil {
			return nil, "", err
		}
		if len(devices) == 0 {
			return nil, ReasonNoDevice, nil
		}
		m.To, m.Devices = cardID, devices
	}
	if m.To == "" {
		return nil, ReasonNoAddress, nil
	}
	cfg, err := s.route(ctx, tx, routes, d.BusinessID, d.Channel)
	if err != nil {
		return nil, "", err
	}
	if cfg == nil {
		return nil, ReasonNotConfigured, nil
	}
	return &Outgoing{Delivery: d, Config: cfg, Message: m}, "", nil
}

// passTarget picks the card a PUSH updates and its registered devices.
func (s *Service) passTarget(ctx context.Context, tx Tx, d *Delivery) (string, []PassDevice, error) {
	ids := []string{d.Content.CardID}
	if d.Content.CardID == "" {
		cards, err := tx.Cards(ctx, CardFilter{BusinessID: d.BusinessID, CustomerID: d.CustomerID, Page: Page{Limit: MaxPageLimit}})
		if err != nil {
			return "", nil, err
		}
		ids = ids[:0]
		for _, c := range cards {
			ids = append(ids, c.ID)
		}
	}
	for _, id := range ids {
		regs, err := tx.PassDevices(ctx, d.BusinessID, id)
		if err != nil {
			return "", nil, err
		}
		if len(regs) == 0 {
			continue
		}
		devices := make([]PassDevice, len(regs))
		for i, r := range regs {
			devices[i] = PassDevice{DeviceID: r.DeviceID, PushToken: r.PushToken}
		}
		return id, devices, nil
	}
	return "", nil, nil
}

// SendOutcome is what FinishSend decided.
type SendOutcome struct {
	// Retry asks the caller to try again later (transient failure or rate
	// limit); RetryAfter is the provider's requested pause, if any.
	Retry      bool
	RetryAfter time.Duration
	// RateLimited marks a retry that is not a failure.
	RateLimited bool
}

// FinishSend records a provider's answer to a claimed delivery. final says
// the caller will not retry (its attempts are used up), so a transient
// failure fails the delivery.
func (s *Service) FinishSend(ctx context.Context, o *Outgoing, r Receipt, sendErr error, final bool) (SendOutcome, error) {
	now := s.clock()
	var outcome SendOutcome
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		tally := activityTally{}
		var err error
		if outcome, err = s.finish(ctx, tx, o, r, sendErr, final, now, tally); err != nil {
			return err
		}
		return tally.flush(ctx, tx)
	})
	return outcome, err
}

// Sent is one provider answer for FinishSends.
type Sent struct {
	Out     *Outgoing
	Receipt Receipt
	Err     error
}

// FinishSends records many provider answers in one transaction, each as
// FinishSend, in id order; the outcomes are in the order of sent.
func (s *Service) FinishSends(ctx context.Context, sent []Sent, final bool) ([]SendOutcome, error) {
	order := idOrder(len(sent), func(i int) DeliveryKey {
		return DeliveryKey{BusinessID: sent[i].Out.Delivery.BusinessID, ID: sent[i].Out.Delivery.ID}
	})
	outcomes := make([]SendOutcome, len(sent))
	now := s.clock()
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		tally := activityTally{}
		for _, i := range order {
			var err error
			if outcomes[i], err = s.finish(ctx, tx, sent[i].Out, sent[i].Receipt, sent[i].Err, final, now, tally); err != nil {
				return err
			}
		}
		return tally.flush(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return outcomes, nil
}

// finish is FinishSend's work inside a transaction. A delivery it ends is
// tracked in tally (a delivery no longer sending is left alone, so a
// replayed finish counts nothing).
func (s *Service) finish(ctx context.Context, tx Tx, o *Outgoing, r Receipt, sendErr error, final bool, now time.Time, tally activityTally) (SendOutcome, error) {
	var outcome SendOutcome
	d, err := tx.Delivery(ctx, o.Delivery.BusinessID, o.Delivery.ID, true)
	if err != nil {
		return outcome, err
	}
	if d.Status != DeliverySending {
		return outcome, nil // someone else decided already
	}
	prev := *d
	d.UpdatedAt = now
	if sendErr == nil {
		d.Status, d.ProviderMessageID, d.Error, d.SentAt = DeliverySent, r.ProviderMessageID, "", &now
		for _, dev := range r.GoneDevices {
			if err := tx.UnregisterPassDevice(ctx, d.BusinessID, o.Message.To, dev); err != nil {
				return outcome, err
			}
		}
		tally.track(&prev, d)
		return outcome, tx.UpdateDelivery(ctx, d)
	}
	se := AsSendError(sendErr)
	d.Error = sendErrorText(se)
	switch {
	case se.Kind == SendPermanent:
		d.Status = DeliveryFailed
		if se.Unreachable {
			if err := s.markUnreachable(ctx, tx, o, se.Reason, now); err != nil {
				return outcome, err
			}
		}
	case se.MaybeSent:
		d.Status = DeliveryUnknown
	case se.Kind == SendRateLimited:
		d.Status, d.Attempts = DeliveryPending, max(d.Attempts-1, 0)
		outcome = SendOutcome{Retry: true, RetryAfter: se.RetryAfter, RateLimited: true}
	case final:
		d.Status = DeliveryFailed
	default:
		d.Status = DeliveryPending
		outcome = SendOutcome{Retry: true, RetryAfter: se.RetryAfter}
	}
	tally.track(&prev, d)
	return outcome, tx.UpdateDelivery(ctx, d)
}

func sendErrorText(se *SendError) string {
	s := se.Reason
	if s == "" {
		s = "error"
	}
	if se.Code != "" {
		s += " (" + se.Code + ")"
	}
	if se.Err != nil {
		msg := se.Err.Error()
		if len(msg) > 300 {
			msg = msg[:300]
		}
		s += ": " + msg
	}
	return s
}

func (s *Service) markUnreachable(ctx context.Context, tx Tx, o *Outgoing, reason string, now time.Time) error {
	c, err := tx.Contact(ctx, o.Delivery.BusinessID, o.Delivery.CustomerID, o.Delivery.Channel)
	if err != nil {
		if ErrorCode(err) != ENotFound {
			return err
		}
		c = &Contact{BusinessID: o.Delivery.BusinessID, CustomerID: o.Delivery.CustomerID,
			Channel: o.Delivery.Channel, Address: o.Message.To, LinkedAt: now}
	}
	if c.Address != o.Message.To {
		return nil // relinked meanwhile; the new address is not the one that failed
	}
	c.Reachable, c.UnreachableReason, c.UnreachableAt = false, reason, &now
	return tx.PutContact(ctx, c)
}

// RelayStalledDeliveries enqueues pending deliveries untouched for minAge
// (queued but never enqueued, or whose task was lost), and deliveries left
// sending for minAge more than SendingStaleAfter (the task that claimed them
// died and will not run again, archived or lost): their send task records
// them unknown, never sending them again. It goes batch at a time until
// none is left or budget has passed, so a backlog drains in one run, and
// returns how many it enqueued.
func (s *Service) RelayStalledDeliveries(ctx context.Context, minAge time.Duration, batch int, budget time.Duration) (int, error) {
	if s.messages == nil {
		return 0, nil
	}
	start, now := time.Now(), s.clock()
	total := 0
	for _, q := range []struct {
		status string
		before time.Time
	}{{DeliveryPending, now.Add(-minAge)}, {DeliverySending, now.Add(-minAge - SendingStaleAfter)}} {
		n, err := drain(ctx, s, start, budget, batch,
			func(tx Tx, after *Delivery) ([]*Delivery, error) {
				return tx.StalledDeliveries(ctx, q.status, q.before, after, batch)
			},
			func(rows []*Delivery) error {
				keys := make([]DeliveryKey, len(rows))
				for i, d := range rows {
					keys[i] = DeliveryKey{BusinessID: d.BusinessID, ID: d.ID}
				}
				return s.messages.EnqueueDeliveries(ctx, keys)
			})
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// UnsubscribeURL is the one-click email opt-out link of a customer; it needs
// no login and never expires.
func (s *Service) UnsubscribeURL(businessID, customerID string) string {
	return s.publicURL + "/u/" + s.unsubscribeToken(businessID, customerID)
}

func (s *Service) unsubscribeToken(businessID, customerID string) string {
	if s.box == nil {
		return ""
	}
	mac := s.box.MAC("unsubscribe/" + businessID + "/" + customerID)
	return businessID + "." + customerID + "." + base64.RawURLEncoding.EncodeToString(mac[:16])
}

// Unsubscribe opts a customer out of email through a link's token: it is
// idempotent, and a token that does not verify is not_found.
func (s *Service) Unsubscribe(ctx context.Context, token string) error {
	parts := strings.Split(token, ".")
	if s.box == nil || len(parts) != 3 || subtle.ConstantTimeCompare([]byte(s.unsubscribeToken(parts[0], parts[1])), []byte(token)) != 1 {
		return NotFound("unsubscribe link")
	}
	businessID, customerID := parts[0], parts[1]
	now := s.clock()
	return s.write(ctx, func(tx Tx, _ *outbox) error {
		c, err := tx.Customer(ctx, businessID, customerID)
		if err != nil {
			return err
		}
		if cur, ok := c.Consent[ChannelEmail]; ok && !cur.Granted {
			return nil
		}
		if c.Consent == nil {
			c.Consent = map[string]Consent{}
		}
		c.Consent[ChannelEmail] = Consent{Granted: false, Source: "unsubscribe_link", At: now}
		c.UpdatedAt = now
		return tx.UpdateCustomer(ctx, c)
	})
}
