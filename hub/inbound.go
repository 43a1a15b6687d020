package hub

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"time"
)

// InboundDecoder verifies and decodes a provider's call to the hub with the
// business's configuration of that provider. Errors carry codes:
// unauthorized for a bad signature or secret, validation_failed for a body
// that does not parse.
type InboundDecoder interface {
	Decode(cfg *ChannelConfig, req InboundRequest) ([]Inbound, InboundReply, error)
}

// HandleInbound verifies a provider's call for a business, applies what it
// reports (links, opt-outs, delivery statuses, customer messages) in one
// transaction, and returns the answer for the provider. Replays change
// nothing more: link tokens are one-time and statuses only move forward.
func (s *Service) HandleInbound(ctx context.Context, businessID, provider string, req InboundRequest) (InboundReply, error) {
	if !ValidProvider(provider) || provider == ChannelEmail || provider == ChannelPush || s.inbound == nil {
		return InboundReply{}, NotFound("channel")
	}
	cfg, err := s.ProviderConfig(ctx, businessID, provider)
	if err != nil {
		return InboundReply{}, err
	}
	events, reply, err := s.inbound.Decode(cfg, req)
	if err != nil {
		return InboundReply{}, err
	}
	for i := range events {
		if events[i].Channel == "" {
			events[i].Channel = provider
		}
	}
	return reply, s.ApplyInbound(ctx, businessID, events)
}

// ApplyInbound applies decoded provider events of a business in one
// transaction (long polling hands them over this way too).
func (s *Service) ApplyInbound(ctx context.Context, businessID string, events []Inbound) error {
	if len(events) == 0 {
		return nil
	}
	now := s.clock()
	return s.write(ctx, func(tx Tx, _ *outbox) error {
		for _, in := range events {
			if err := s.applyInbound(ctx, tx, businessID, in, now); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Service) applyInbound(ctx context.Context, tx Tx, businessID string, in Inbound, now time.Time) error {
	switch in.Type {
	case InboundLink:
		return s.link(ctx, tx, businessID, in, now)
	case InboundStop, InboundSubscribed:
		c, err := tx.ContactByAddress(ctx, businessID, in.Channel, in.Address)
		if err != nil {
			if ErrorCode(err) == ENotFound {
				return nil // not linked: nothing to opt out of
			}
			return err
		}
		granted := in.Type == InboundSubscribed
		source := "stop:" + in.Channel
		if granted {
			source = "subscribed:" + in.Channel
			c.Reachable, c.UnreachableReason, c.UnreachableAt = true, "", nil
			if err := tx.PutContact(ctx, c); err != nil {
				return err
			}
		}
		return s.setConsent(ctx, tx, businessID, c.CustomerID, in.Channel, granted, source, now)
	case InboundMessage:
		c, err := tx.ContactByAddress(ctx, businessID, in.Channel, in.Address)
		if err != nil {
			if ErrorCode(err) != ENotFound {
				return err
			}
			if in.Channel != ChannelWhatsApp {
				return nil // a chat not linked to a customer
			}
			cust, err := tx.CustomerByContact(ctx, businessID, "", in.Address)
			if err != nil {
				if ErrorCode(err) == ENotFound {
					return nil
				}
				return err
			}
			c = &Contact{BusinessID: businessID, CustomerID: cust.ID, Channel: in.Channel, Address: in.Address,
				LinkedAt: now, Reachable: true}
		}
		at := in.At
		if at.IsZero() || at.After(now) {
			at = now
		}
		at = at.UTC().Truncate(time.Millisecond)
		if c.LastInboundAt != nil && !at.After(*c.LastInboundAt) {
			return nil
		}
		c.LastInboundAt = &at
		c.Reachable, c.UnreachableReason, c.UnreachableAt = true, "", nil
		return tx.PutContact(ctx, c)
	case InboundStatus:
		return s.applyStatus(ctx, tx, businessID, in, now)
	}
	return nil
}

// statusDelivery finds the delivery a status names: by the hub's delivery
// id when the provider echoes it, else by the provider's message id. Both
// are looked up within the business.
func statusDelivery(ctx context.Context, tx Tx, businessID string, in Inbound) (*Delivery, error) {
	if in.DeliveryID != "" {
		d, err := tx.Delivery(ctx, businessID, in.DeliveryID, true)
		if err == nil || ErrorCode(err) != ENotFound || in.ProviderMessageID == "" {
			return d, err
		}
	}
	if in.ProviderMessageID == "" {
		return nil, NotFound("delivery")
	}
	return tx.DeliveryByProviderMessageID(ctx, businessID, in.ProviderMessageID)
}

// statusRank orders provider statuses so a late "delivered" never
// overwrites "read".
var statusRank = map[string]int{ProviderSent: 1, ProviderDelivered: 2, ProviderRead: 3, ProviderFailed: 4}

func (s *Service) applyStatus(ctx context.Context, tx Tx, businessID string, in Inbound, now time.Time) error {
	d, err := statusDelivery(ctx, tx, businessID, in)
	if err != nil {
		if ErrorCode(err) == ENotFound {
			return nil
		}
		return err
	}
	if statusRank[in.Status] == 0 || statusRank[in.Status] <= statusRank[d.ProviderStatus] {
		return nil
	}
	prev := *d
	d.ProviderStatus, d.UpdatedAt = in.Status, now
	if in.Status == ProviderFailed {
		d.Status = DeliveryFailed
		d.Error = "provider reported failure"
		if in.Reason != "" {
			d.Error += ": " + in.Reason
		}
	}
	if err := tx.UpdateDelivery(ctx, d); err != nil {
		return err
	}
	// A report moves an ended campaign message on its chart: a failure
	// after sent, or a later updated_at of a failed one.
	tally := activityTally{}
	tally.track(&prev, d)
	return tally.flush(ctx, tx)
}

func (s *Service) link(ctx context.Context, tx Tx, businessID string, in Inbound, now time.Time) error {
	if in.Token == "" || in.Address == "" {
		return nil
	}
	hash := hashLinkToken(in.Token)
	tok, err := tx.LinkToken(ctx, businessID, hash)
	if err != nil {
		if ErrorCode(err) == ENotFound {
			return nil // unknown tokens are ignored, not errors: the provider would retry
		}
		return err
	}
	if tok.Channel != in.Channel || tok.UsedAt != nil || !now.Before(tok.ExpiresAt) {
		return nil
	}
	if ok, err := tx.UseLinkToken(ctx, businessID, hash, now); err != nil || !ok {
		return err
	}
	if err := tx.PutContact(ctx, &Contact{BusinessID: businessID, CustomerID: tok.CustomerID, Channel: in.Channel,
		Address: in.Address, LinkedAt: now, Reachable: true, LastInboundAt: &now}); err != nil {
		return err
	}
	return s.setConsent(ctx, tx, businessID, tok.CustomerID, in.Channel, true, "link:"+in.Channel, now)
}

func (s *Service) setConsent(ctx context.Context, tx Tx, businessID, customerID, channel string, granted bool, source string, now time.Time) error {
	c, err := tx.Customer(ctx, businessID, customerID)
	if err != nil {
		return err
	}
	if cur, ok := c.Consent[channel]; ok && cur.Granted == granted {
		return nil
	}
	if c.Consent == nil {
		c.Consent = map[string]Consent{}
	}
	c.Consent[channel] = Consent{Granted: granted, Source: source, At: now}
	c.UpdatedAt = now
	return tx.UpdateCustomer(ctx, c)
}

func hashLinkToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// LinkChannels are the messengers a customer links by opening a link.
var LinkChannels = []string{ChannelTelegram, ChannelViber}

// Link is a one-time link that connects a messenger chat to a customer.
type Link struct {
	Channel string `json:"channel"`
	Token   string `json:"token"`
	// URL opens the chat with the token (null when the channel runs through
	// a gateway, which builds its own links from the token).
	URL       *string   `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// CreateLink issues a one-time link token for a customer and a messenger.
func (s *Service) CreateLink(ctx context.Context, businessID, customerID, channel string) (*Link, error) {
	if channel != ChannelTelegram && channel != ChannelViber {
		return nil, NotFound("link channel")
	}
	if !ValidID(PrefixCustomer, customerID) {
		return nil, NotFound("customer")
	}
	now := s.clock()
	token := RandomString(base62, 32)
	var l *Link
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		if _, err := tx.Customer(ctx, businessID, customerID); err != nil {
			return err
		}
		cfg, err := s.routeChannel(ctx, tx, businessID, channel)
		if err != nil {
			return err
		}
		if cfg == nil {
			return Errorf(EConflict, "the %s channel is not configured for this business", channel)
		}
		l = &Link{Channel: channel, Token: token, ExpiresAt: now.Add(s.linkTTL)}
		if u := s.deepLink(cfg, token); u != "" {
			l.URL = &u
		}
		return tx.CreateLinkToken(ctx, &LinkToken{Hash: hashLinkToken(token), BusinessID: businessID,
			CustomerID: customerID, Channel: channel, CreatedAt: now, ExpiresAt: l.ExpiresAt})
	})
	return l, err
}

// CardPageLink issues a one-time link for the customer of a card, for the
// card page's "connect" button; the page token authenticates it. It returns
// the messenger's deep link.
func (s *Service) CardPageLink(ctx context.Context, cardID, pageToken, channel string) (string, error) {
	if !ValidID(PrefixCard, cardID) || pageToken == "" {
		return "", NotFound("card")
	}
	var biz *Business
	var card *Card
	err := s.read(ctx, func(tx Tx) error {
		var err error
		if biz, err = tx.BusinessOfCard(ctx, cardID); err != nil {
			return err
		}
		card, err = tx.Card(ctx, biz.ID, cardID, false)
		return err
	})
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare([]byte(card.PageToken), []byte(pageToken)) != 1 {
		return "", NotFound("card")
	}
	l, err := s.CreateLink(ctx, biz.ID, card.CustomerID, channel)
	if err != nil {
		return "", err
	}
	if l.URL == nil {
		return "", NotFound("link")
	}
	return *l.URL, nil
}

// deepLink is the messenger's link carrying a token, from the provider
// package (Config.LinkURL); "" when there is none.
func (s *Service) deepLink(cfg *ChannelConfig, token string) string {
	if s.linkURL == nil {
		return ""
	}
	return s.linkURL(cfg, token)
}
