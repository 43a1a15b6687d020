package hub

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// MessageInput is the body of POST /v1/messages: one message to one customer.
type MessageInput struct {
	CustomerID    *string         `json:"customer_id"`
	Customer      *ContactInput   `json:"customer"`
	TemplateID    *string         `json:"template_id"`
	Text          *string         `json:"text"`
	Subject       *string         `json:"subject"`
	Channels      []string        `json:"channels"`
	Transactional *bool           `json:"transactional"`
	Data          json.RawMessage `json:"data"`
}

// MaxMessageData bounds the data object a caller passes to a template.
const MaxMessageData = 16 << 10

// SendMessage queues one message to one customer on the first channel of
// the order (default: the business's) that can reach them. A template is
// rendered in the customer's language; inline text is used as written.
// Messages that are not transactional wait for quiet hours to end, and
// over the frequency cap they are recorded as failed with reason
// frequency_cap. Each call is a new message; an Idempotency-Key makes a
// retry safe.
func (s *Service) SendMessage(ctx context.Context, businessID string, in MessageInput) (*Delivery, error) {
	p := Problems{}
	var c contact
	switch {
	case in.CustomerID != nil && in.Customer != nil:
		p.Add("customer", "give customer_id or customer, not both")
	case in.CustomerID != nil:
		if !ValidID(PrefixCustomer, *in.CustomerID) {
			p.Add("customer_id", "must be a customer id")
		}
	case in.Customer != nil:
		c = s.checkContact(p, "customer", in.Customer.Email, in.Customer.Phone)
	default:
		p.Add("customer_id", "customer_id or customer is required")
	}
	switch {
	case in.TemplateID != nil && in.Text != nil:
		p.Add("text", "give template_id or text, not both")
	case in.TemplateID != nil:
		if !ValidID(PrefixMessageTemplate, *in.TemplateID) {
			p.Add("template_id", "must be a message template id")
		}
	case in.Text != nil:
		if strings.TrimSpace(*in.Text) == "" {
			p.Add("text", "must not be empty")
		}
	default:
		p.Add("template_id", "template_id or text is required")
	}
	if in.Channels != nil {
		checkOrder(p, "channels", in.Channels)
	}
	var data map[string]any
	if len(in.Data) > 0 && string(in.Data) != "null" {
		if len(in.Data) > MaxMessageData {
			p.Add("data", "must be at most 16 KiB")
		} else if err := json.Unmarshal(in.Data, &data); err != nil || data == nil {
			p.Add("data", "must be an object")
		}
	}
	if in.TemplateID != nil || data != nil {
		if s.renderer == nil {
			return nil, errNoRenderer
		}
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	transactional := in.Transactional != nil && *in.Transactional
	now := s.clock()
	var d *Delivery
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		biz, err := tx.Business(ctx, businessID)
		if err != nil {
			return err
		}
		var cust *Customer
		if in.CustomerID != nil {
			cust, err = tx.Customer(ctx, businessID, *in.CustomerID)
		} else {
			cust, err = findCustomer(ctx, tx, businessID, c)
		}
		if err != nil {
			return err
		}
		st, err := s.settings(ctx, tx, businessID)
		if err != nil {
			return err
		}
		order := in.Channels
		if order == nil {
			order = st.Messaging.ChannelOrder
		}
		members, err := tx.AudienceMembers(ctx, AudienceQuery{BusinessID: businessID, Filter: &Audience{}, Now: now,
			CustomerID: cust.ID, Limit: 1})
		if err != nil {
			return err
		}
		configured, err := s.configuredChannels(ctx, tx, businessID)
		if err != nil {
			return err
		}
		channel := ""
		if len(members) == 1 {
			channel = pickChannel(ExpandOrder(order), members[0].Reach, configured, "")
		}
		if channel == "" {
			return &Error{Code: EValidation, Message: "no channel in the order can reach the customer",
				Fields: map[string]string{"channels": "no channel in the order has the customer's consent, an address and a configured provider"}}
		}
		content, err := s.oneOffContent(ctx, tx, biz, st, cust, channel, in, data)
		if err != nil {
			return err
		}
		d = &Delivery{ID: NewID(PrefixDelivery), BusinessID: businessID, CustomerID: cust.ID, Channel: channel,
			Status: DeliveryPending, Content: content, Transactional: transactional, CreatedAt: now, UpdatedAt: now}
		d.Source = "message:" + d.ID
		if cap := st.Messaging.FrequencyCap; cap != nil && !transactional {
			recent, err := tx.RecentDeliveries(ctx, businessID, []string{cust.ID}, now.AddDate(0, 0, -cap.PerDays))
			if err != nil {
				return err
			}
			if recent[cust.ID] >= cap.Max {
				d.Status, d.Error = DeliveryFailed, ReasonFrequencyCap
			}
		}
		return tx.CreateDelivery(ctx, d)
	})
	if err != nil {
		return nil, err
	}
	if d.Status == DeliveryPending && s.messages != nil {
		if err := s.messages.EnqueueDeliveries(context.WithoutCancel(ctx), []DeliveryKey{{businessID, d.ID}}); err != nil {
			s.log.WarnContext(ctx, "delivery recorded but not enqueued; the relay will enqueue it", "delivery", d.ID, "err", err)
		}
	}
	return d, nil
}

// oneOffContent renders a one-off message's template, or takes its text.
func (s *Service) oneOffContent(ctx context.Context, tx Tx, biz *Business, st *Settings, cust *Customer, channel string, in MessageInput, data map[string]any) (MessageContent, error) {
	if in.TemplateID == nil {
		text := *in.Text
		var subject string
		if in.Subject != nil {
			subject = *in.Subject
		}
		p := Problems{}
		if len([]rune(text)) > MaxMessageText {
			p.Add("text", "must be at most 4096 characters")
		}
		if len([]rune(subject)) > MaxMessageSubject {
			p.Add("subject", "must be at most 200 characters")
		}
		if channel == ChannelEmail && strings.TrimSpace(subject) == "" {
			subject = biz.Name
		}
		return MessageContent{Subject: subject, Text: text}, p.Err()
	}
	t, err := tx.MessageTemplate(ctx, biz.ID, *in.TemplateID)
	if ErrorCode(err) == ENotFound {
		return MessageContent{}, &Error{Code: EValidation, Message: "unknown message template",
			Fields: map[string]string{"template_id": "is not a message template of this business"}}
	}
	if err != nil {
		return MessageContent{}, err
	}
	kind := KindText
	if channel == ChannelEmail {
		kind = KindEmail
	}
	v, ok := SelectVariant(t.Variants, kind, cust.Language, st.DefaultLanguage)
	if !ok {
		return MessageContent{}, &Error{Code: EValidation, Message: "the template has no variant for " + channel,
			Fields: map[string]string{"template_id": "has no " + kind + " variant for the channel " + channel}}
	}
	card, err := s.newestCard(ctx, tx, biz.ID, cust.ID)
	if err != nil {
		return MessageContent{}, err
	}
	r, err := s.renderVariant(ctx, v, RenderContext{Business: biz, Customer: cust, Card: card, Data: data}.Vars())
	if err != nil {
		msg := err.Error()
		if errors.Is(err, ErrTooLong) {
			msg = "renders longer than the channel allows"
		}
		return MessageContent{}, &Error{Code: EValidation, Message: "the template does not render: " + msg,
			Fields: map[string]string{"template_id": msg}}
	}
	if in.Subject != nil && kind == KindEmail {
		r.Subject = *in.Subject
	}
	return MessageContent{Subject: r.Subject, Text: r.Text, HTML: r.HTML}, nil
}

// holdUntil says until when a delivery must wait before it is sent: quiet
// hours for messages that are not transactional, and a paused campaign.
// A cancelled campaign's delivery is not sent at all (cancelled).
func (s *Service) holdUntil(ctx context.Context, tx Tx, d *Delivery) (until time.Time, cancelled bool, err error) {
	if d.Transactional {
		return time.Time{}, false, nil
	}
	hold, cancelled, err := s.campaignHold(ctx, tx, d)
	if err != nil || cancelled {
		return time.Time{}, cancelled, err
	}
	now := s.now()
	if hold {
		return now.Add(PausedRecheck), false, nil
	}
	st, loc, err := s.sendSettings(ctx, tx, d.BusinessID)
	if err != nil {
		return time.Time{}, false, err
	}
	if q := st.Messaging.QuietHours; q != nil {
		return QuietUntil(loc, q.Start, q.End, now), false, nil
	}
	return time.Time{}, false, nil
}

// PausedRecheck is how long a paused campaign's delivery waits before it
// looks at its campaign again (a resume hands the deliveries on at once).
const PausedRecheck = 5 * time.Minute
