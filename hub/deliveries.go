package hub

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/base64"
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
	claims := []Claim{{Key: k}}
	now := s.clock()
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		tally := activityTally{}
		if err := s.claimSet(ctx, tx, claims, now, false, tally); err != nil {
			return err
		}
		return tally.flush(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return claims[0].Out, claims[0].Err
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
// pending and says until when. The work is set-based: per business, one
// statement reads (and on PostgreSQL locks, in id order, so two batches
// that share deliveries cannot deadlock) every delivery, one reads their
// customers, one per channel their contacts, and one stores the claims. A
// campaign chunk pays one transaction of a few statements for its claims
// instead of a few statements per recipient.
func (s *Service) ClaimSends(ctx context.Context, keys []DeliveryKey) ([]Claim, error) {
	_, claims, err := s.FinishAndClaim(ctx, nil, false, keys)
	return claims, err
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

// byBusiness splits the positions of order (sorted by business) into runs
// of one business each.
func byBusiness(order []int, business func(i int) string) [][]int {
	var runs [][]int
	for start := 0; start < len(order); {
		end := start + 1
		for end < len(order) && business(order[end]) == business(order[start]) {
			end++
		}
		runs = append(runs, order[start:end])
		start = end
	}
	return runs
}

// lockDeliveries reads (for update) the deliveries of one business that
// ids name, each once, by id.
func lockDeliveries(ctx context.Context, tx Tx, businessID string, ids []string) (map[string]*Delivery, error) {
	ids = slices.Compact(slices.Clone(ids))
	rows, err := tx.DeliveriesByID(ctx, businessID, ids, true)
	if err != nil {
		return nil, err
	}
	found := make(map[string]*Delivery, len(rows))
	for _, d := range rows {
		found[d.ID] = d
	}
	return found, nil
}

// claimSet is ClaimSends' work inside a transaction; it fills in claims
// (whose keys are set). With checkHold, a delivery that quiet hours or a
// paused campaign hold is left pending and its hold returned; without, it
// is claimed anyway (ClaimSend: the caller checked). A delivery it ends is
// tracked in tally, which the caller flushes.
func (s *Service) claimSet(ctx context.Context, tx Tx, claims []Claim, now time.Time, checkHold bool, tally activityTally) error {
	order := idOrder(len(claims), func(i int) DeliveryKey { return claims[i].Key })
	routes := routeMemo{}
	for _, run := range byBusiness(order, func(i int) string { return claims[i].Key.BusinessID }) {
		businessID := claims[run[0]].Key.BusinessID
		ids := make([]string, len(run))
		for j, i := range run {
			ids[j] = claims[i].Key.ID
		}
		found, err := lockDeliveries(ctx, tx, businessID, ids)
		if err != nil {
			return err
		}
		changed := map[string]*Delivery{}
		end := func(d *Delivery, status, reason string) {
			prev := *d
			d.Status, d.Error, d.UpdatedAt = status, reason, now
			tally.track(&prev, d)
			changed[d.ID] = d
		}
		// First pass: what the delivery rows and the campaign say.
		var ready []int
		for _, i := range run {
			d, ok := found[claims[i].Key.ID]
			switch {
			case !ok:
				claims[i].Err = NotFound("delivery")
				continue
			case d.Status == DeliverySending:
				if now.Sub(d.UpdatedAt) < SendingStaleAfter {
					// Another task is sending it now (a campaign chunk and a
					// relayed task may hold the same delivery, or a batch may
					// name it twice): leave it to that one.
					claims[i].Err = ErrInFlight
					continue
				}
				end(d, DeliveryUnknown, ReasonLost)
				continue
			case d.Status != DeliveryPending:
				continue
			}
			until, cancelled, err := s.holdUntil(ctx, tx, d)
			switch {
			case err != nil:
				return err
			case cancelled:
				end(d, DeliveryFailed, ReasonCancelled)
				continue
			case checkHold && until.After(now):
				claims[i].HoldUntil = until
				continue
			}
			// Claimed from here on (a second key for it finds it in flight).
			d.Status, d.UpdatedAt = DeliverySending, now
			ready = append(ready, i)
		}
		// Second pass: customers and contacts of the claimed ones, a
		// statement each.
		readyDs := make([]*Delivery, len(ready))
		for j, i := range ready {
			readyDs[j] = found[claims[i].Key.ID]
		}
		recipients, err := s.loadRecipients(ctx, tx, businessID, readyDs)
		if err != nil {
			return err
		}
		for j, i := range ready {
			d := readyDs[j]
			d.Status = DeliveryPending // as read, for prepare and the tally
			r, ok := recipients.customers[d.CustomerID]
			if !ok {
				claims[i].Err = NotFound("customer") // the delivery is left pending
				continue
			}
			o, reason, err := s.compose(ctx, tx, d, r, recipients.contact(d), routes)
			if err != nil {
				return err
			}
			if o == nil {
				end(d, DeliveryFailed, reason)
				continue
			}
			if d.Channel == ChannelPush {
				if err := tx.PutPassOffer(ctx, &PassOffer{BusinessID: d.BusinessID, CardID: o.Message.To,
					Text: d.Content.Text, UpdatedAt: now}); err != nil {
					return err
				}
			}
			d.Status, d.Provider, d.Attempts, d.Error, d.UpdatedAt = DeliverySending, o.Config.Provider, d.Attempts+1, "", now
			changed[d.ID] = d
			claims[i].Out = o
		}
		if err := updateChanged(ctx, tx, changed); err != nil {
			return err
		}
	}
	return nil
}

// updateChanged stores the deliveries a batch changed, in id order.
func updateChanged(ctx context.Context, tx Tx, changed map[string]*Delivery) error {
	if len(changed) == 0 {
		return nil
	}
	ds := make([]*Delivery, 0, len(changed))
	for _, d := range changed {
		ds = append(ds, d)
	}
	slices.SortFunc(ds, func(a, b *Delivery) int { return cmp.Compare(a.ID, b.ID) })
	return tx.UpdateDeliveries(ctx, ds)
}

// recipients are the customers of a batch's deliveries and their contacts
// on the deliveries' channels.
type recipients struct {
	customers map[string]*Customer
	// contacts by channel, then customer id.
	contacts map[string]map[string]*Contact
}

// contact returns the customer's contact on the delivery's channel, or nil.
func (r recipients) contact(d *Delivery) *Contact {
	return r.contacts[d.Channel][d.CustomerID]
}

// loadRecipients reads the customers of a business's deliveries in one
// statement and their contacts in one per channel.
func (s *Service) loadRecipients(ctx context.Context, tx Tx, businessID string, ds []*Delivery) (recipients, error) {
	r := recipients{customers: map[string]*Customer{}, contacts: map[string]map[string]*Contact{}}
	if len(ds) == 0 {
		return r, nil
	}
	var ids []string
	byChannel := map[string][]string{}
	for _, d := range ds {
		ids = append(ids, d.CustomerID)
		byChannel[d.Channel] = append(byChannel[d.Channel], d.CustomerID)
	}
	slices.Sort(ids)
	custs, err := tx.CustomersByID(ctx, businessID, slices.Compact(ids))
	if err != nil {
		return r, err
	}
	for _, c := range custs {
		r.customers[c.ID] = c
	}
	for channel, ids := range byChannel {
		slices.Sort(ids)
		contacts, err := tx.ChannelContacts(ctx, businessID, channel, slices.Compact(ids))
		if err != nil {
			return r, err
		}
		m := make(map[string]*Contact, len(contacts))
		for _, c := range contacts {
			m[c.CustomerID] = c
		}
		r.contacts[channel] = m
	}
	return r, nil
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
	contact, err := tx.Contact(ctx, d.BusinessID, d.CustomerID, d.Channel)
	switch {
	case ErrorCode(err) == ENotFound:
		contact = nil
	case err != nil:
		return nil, "", err
	}
	return s.compose(ctx, tx, d, cust, contact, routes)
}

// compose is prepare with the customer and their contact on the channel
// (nil when they have none) already read.
func (s *Service) compose(ctx context.Context, tx Tx, d *Delivery, cust *Customer, contact *Contact, routes routeMemo) (*Outgoing, string, error) {
	if c, ok := cust.Consent[d.Channel]; !ok || !c.Granted {
		return nil, ReasonNoConsent, nil
	}
	m := Message{DeliveryID: d.ID, BusinessID: d.BusinessID, CustomerID: d.CustomerID, Channel: d.Channel,
		Language: cust.Language, Subject: d.Content.Subject, Text: d.Content.Text, HTML: d.Content.HTML,
		Template: d.Content.Template}
	if contact != nil {
		if !contact.Reachable {
			return nil, ReasonUnreachable, nil
		}
		m.To = contact.Address
		if contact.LastInboundAt != nil {
			m.WindowUntil = contact.LastInboundAt.Add(24 * time.Hour)
		}
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
	outcomes, err := s.FinishSends(ctx, []Sent{{Out: o, Receipt: r, Err: sendErr}}, final)
	if err != nil {
		return SendOutcome{}, err
	}
	return outcomes[0], nil
}

// Sent is one provider answer for FinishSends.
type Sent struct {
	Out     *Outgoing
	Receipt Receipt
	Err     error
}

// FinishSends records many provider answers in one transaction, each as
// FinishSend; the outcomes are in the order of sent. Per business, one
// statement reads (and on PostgreSQL locks, in id order) the deliveries
// and one stores the answers.
func (s *Service) FinishSends(ctx context.Context, sent []Sent, final bool) ([]SendOutcome, error) {
	outcomes, _, err := s.FinishAndClaim(ctx, sent, final, nil)
	return outcomes, err
}

// FinishAndClaim is FinishSends(sent, final) and then ClaimSends(next) in
// one transaction: a sender that goes through a batch group by group
// records one group's answers and claims the next with one commit instead
// of two. Either both happen or neither.
func (s *Service) FinishAndClaim(ctx context.Context, sent []Sent, final bool, next []DeliveryKey) ([]SendOutcome, []Claim, error) {
	outcomes := make([]SendOutcome, len(sent))
	claims := make([]Claim, len(next))
	now := s.clock()
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		for i := range claims {
			claims[i] = Claim{Key: next[i]} // a retried transaction starts afresh
		}
		tally := activityTally{}
		if err := s.finishSet(ctx, tx, sent, final, outcomes, now, tally); err != nil {
			return err
		}
		if err := s.claimSet(ctx, tx, claims, now, true, tally); err != nil {
			return err
		}
		return tally.flush(ctx, tx)
	})
	if err != nil {
		return nil, nil, err
	}
	return outcomes, claims, nil
}

// finishSet is FinishSends' work inside a transaction: outcomes[i]
// answers sent[i]; a delivery it ends is tracked in tally, which the
// caller flushes.
func (s *Service) finishSet(ctx context.Context, tx Tx, sent []Sent, final bool, outcomes []SendOutcome, now time.Time, tally activityTally) error {
	key := func(i int) DeliveryKey {
		return DeliveryKey{BusinessID: sent[i].Out.Delivery.BusinessID, ID: sent[i].Out.Delivery.ID}
	}
	order := idOrder(len(sent), key)
	for _, run := range byBusiness(order, func(i int) string { return key(i).BusinessID }) {
		businessID := key(run[0]).BusinessID
		ids := make([]string, len(run))
		for j, i := range run {
			ids[j] = key(i).ID
		}
		found, err := lockDeliveries(ctx, tx, businessID, ids)
		if err != nil {
			return err
		}
		changed := map[string]*Delivery{}
		for _, i := range run {
			d, ok := found[key(i).ID]
			if !ok {
				return NotFound("delivery")
			}
			var done bool
			if outcomes[i], done, err = s.finish(ctx, tx, d, sent[i], final, now, tally); err != nil {
				return err
			}
			if done {
				changed[d.ID] = d
			}
		}
		if err := updateChanged(ctx, tx, changed); err != nil {
			return err
		}
	}
	return nil
}

// finish decides what a provider's answer makes of d, the delivery as
// read (for update) in the transaction, and changes d accordingly; done
// says d changed and must be stored. A delivery no longer sending is left
// alone (someone else decided already), so a replayed finish counts
// nothing. A delivery it ends is tracked in tally.
func (s *Service) finish(ctx context.Context, tx Tx, d *Delivery, a Sent, final bool, now time.Time, tally activityTally) (outcome SendOutcome, done bool, err error) {
	if d.Status != DeliverySending {
		return outcome, false, nil
	}
	o, r, sendErr := a.Out, a.Receipt, a.Err
	prev := *d
	d.UpdatedAt = now
	if sendErr == nil {
		d.Status, d.ProviderMessageID, d.Error, d.SentAt = DeliverySent, r.ProviderMessageID, "", &now
		for _, dev := range r.GoneDevices {
			if err := tx.UnregisterPassDevice(ctx, d.BusinessID, o.Message.To, dev); err != nil {
				return outcome, false, err
			}
		}
		tally.track(&prev, d)
		return outcome, true, nil
	}
	se := AsSendError(sendErr)
	d.Error = sendErrorText(se)
	switch {
	case se.Kind == SendPermanent:
		d.Status = DeliveryFailed
		if se.Unreachable {
			if err := s.markUnreachable(ctx, tx, o, se.Reason, now); err != nil {
				return outcome, false, err
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
	return outcome, true, nil
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
