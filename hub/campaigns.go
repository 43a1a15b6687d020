package hub

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Campaign statuses.
const (
	CampaignStatusDraft     = "draft"
	CampaignStatusScheduled = "scheduled"
	CampaignStatusSending   = "sending"
	CampaignStatusPaused    = "paused"
	CampaignStatusCancelled = "cancelled"
	CampaignStatusSent      = "sent"
)

// Recipient statuses and reasons. A recipient is skipped before any
// delivery, or follows the status of its delivery.
const (
	RecipientSkipped = "skipped"
	RecipientQueued  = "queued"

	ReasonNoChannel    = "no_channel"
	ReasonFrequencyCap = "frequency_cap"
	ReasonTooLong      = "too_long"
	ReasonRenderFailed = "render_failed"
	ReasonNoVariant    = "no_variant"
	ReasonCancelled    = "cancelled"
)

// Campaign is a message broadcast to an audience (cmp_…).
type Campaign struct {
	ID         string           `json:"id"`
	BusinessID string           `json:"-"`
	Name       string           `json:"name"`
	Status     string           `json:"status"`
	Audience   *Audience        `json:"audience"`
	Channels   []string         `json:"channels"`
	TemplateID *string          `json:"template_id"`
	Message    *CampaignMessage `json:"message"`
	SendAt     *time.Time       `json:"send_at"`
	Stats      CampaignStats    `json:"stats"`
	CreatedAt  time.Time        `json:"created_at"`
	UpdatedAt  time.Time        `json:"updated_at"`
	StartedAt  *time.Time       `json:"started_at"`
	FinishedAt *time.Time       `json:"finished_at"`

	// Checkpoint is the last customer id the audience walk reached.
	Checkpoint string `json:"-"`
	// Walked says the whole audience has recipients.
	Walked bool `json:"-"`
	// Recipients counts the recipients the audience walk has written (in
	// the transactions that wrote them): the stats' audience.
	Recipients int `json:"-"`
	// LeaseOwner runs the campaign until LeaseUntil.
	LeaseOwner string     `json:"-"`
	LeaseUntil *time.Time `json:"-"`
	// FinalStats are the stats stored when sending ended.
	FinalStats *CampaignStats `json:"-"`
}

// CampaignMessage is a campaign's own message, or the copy of its template
// taken when sending starts.
type CampaignMessage struct {
	Variants []MessageVariant `json:"variants"`
}

// CampaignStats count a campaign's recipients.
type CampaignStats struct {
	Audience int            `json:"audience"`
	Queued   int            `json:"queued"`
	Sent     int            `json:"sent"`
	Failed   int            `json:"failed"`
	Skipped  map[string]int `json:"skipped"`
}

// SkippedTotal sums the skipped recipients.
func (s CampaignStats) SkippedTotal() int {
	n := 0
	for _, v := range s.Skipped {
		n += v
	}
	return n
}

// Recipient is one customer of a campaign: the channel chosen, and either
// a skip reason or the delivery.
type Recipient struct {
	CampaignID   string    `json:"-"`
	BusinessID   string    `json:"-"`
	CustomerID   string    `json:"customer_id"`
	Channel      string    `json:"channel"`
	Status       string    `json:"status"`
	Reason       string    `json:"reason"`
	DeliveryID   *string   `json:"delivery_id"`
	FallbackUsed bool      `json:"-"`
	CreatedAt    time.Time `json:"-"`
}

// RecipientFilter selects a campaign's recipients by customer id.
type RecipientFilter struct {
	BusinessID string
	CampaignID string
	// Status is skipped, queued, sending, sent, failed or unknown; empty is all.
	Status string
	// After keeps customer ids greater than it (the cursor).
	After string
	Limit int
}

// CampaignTx is the store access of campaigns.
type CampaignTx interface {
	CreateCampaign(ctx context.Context, c *Campaign) error
	Campaign(ctx context.Context, businessID, id string, forUpdate bool) (*Campaign, error)
	// Campaigns lists a business's campaigns newest first (at most page.Size()+1).
	Campaigns(ctx context.Context, businessID string, page Page) ([]*Campaign, error)
	// UpdateCampaign stores every field but ID, BusinessID and CreatedAt.
	UpdateCampaign(ctx context.Context, c *Campaign) error
	// CampaignsToRun lists campaigns of any business that need a runner at
	// now: scheduled ones due, and sending ones whose lease ran out.
	CampaignsToRun(ctx context.Context, now time.Time, limit int) ([]*Campaign, error)
	// CreateRecipients inserts recipients; ones that exist are left alone.
	CreateRecipients(ctx context.Context, rs []*Recipient) error
	// UpdateRecipient stores Channel, Status, Reason, DeliveryID and FallbackUsed.
	UpdateRecipient(ctx context.Context, r *Recipient) error
	// Recipients lists recipients by customer id with the status of their
	// delivery (at most Limit).
	Recipients(ctx context.Context, f RecipientFilter) ([]*Recipient, error)
	// FailedRecipients lists recipients whose delivery failed and who have
	// not fallen back yet, by customer id after the given one.
	FailedRecipients(ctx context.Context, businessID, campaignID, after string, limit int) ([]*Recipient, error)
	// CampaignStats counts a campaign's recipients by the status of their delivery.
	CampaignStats(ctx context.Context, businessID, campaignID string) (CampaignStats, error)
	// CreateDeliveries inserts ledger rows; one whose source, customer and
	// channel exist is left alone.
	CreateDeliveries(ctx context.Context, ds []*Delivery) error
	// OpenDeliveries counts a source's pending and sending deliveries.
	OpenDeliveries(ctx context.Context, businessID, source string) (int, error)
	// PendingDeliveries lists a source's pending deliveries (at most limit).
	PendingDeliveries(ctx context.Context, businessID, source string, limit int) ([]DeliveryKey, error)
	// CancelDeliveries fails a source's pending deliveries with the reason
	// and returns how many it failed.
	CancelDeliveries(ctx context.Context, businessID, source, reason string, at time.Time) (int, error)
	// RecentDeliveries counts, per customer, the deliveries that are not
	// transactional, created after since, and not failed.
	RecentDeliveries(ctx context.Context, businessID string, customerIDs []string, since time.Time) (map[string]int, error)
	// NewestCards returns each customer's newest card.
	NewestCards(ctx context.Context, businessID string, customerIDs []string) ([]*Card, error)
}

// CampaignSource is the delivery source of a campaign's messages.
func CampaignSource(id string) string { return "campaign:" + id }

// campaignOfSource returns the campaign id of a delivery source.
func campaignOfSource(source string) (string, bool) {
	return strings.CutPrefix(source, "campaign:")
}

// CampaignInput creates a campaign or, in a PATCH of a draft, changes the
// fields given.
type CampaignInput struct {
	Name       *string          `json:"name"`
	Audience   json.RawMessage  `json:"audience"`
	Channels   []string         `json:"channels"`
	TemplateID *string          `json:"template_id"`
	Message    *CampaignMessage `json:"message"`
	SendAt     *time.Time       `json:"send_at"`
}

// CreateCampaign validates and stores a draft campaign.
func (s *Service) CreateCampaign(ctx context.Context, businessID string, in CampaignInput) (*Campaign, error) {
	now := s.clock()
	c := &Campaign{ID: NewID(PrefixCampaign), BusinessID: businessID, Status: CampaignStatusDraft, CreatedAt: now, UpdatedAt: now,
		Stats: CampaignStats{Skipped: map[string]int{}}}
	if in.Name == nil {
		in.Name = new(string)
	}
	if in.Audience == nil {
		in.Audience = json.RawMessage(`null`)
	}
	if err := s.applyCampaignInput(ctx, c, in, true); err != nil {
		return nil, err
	}
	return c, s.write(ctx, func(tx Tx, _ *outbox) error {
		if _, err := tx.Business(ctx, businessID); err != nil {
			return err
		}
		if err := s.checkCampaignTemplate(ctx, tx, c); err != nil {
			return err
		}
		return tx.CreateCampaign(ctx, c)
	})
}

// applyCampaignInput validates the fields given and sets them.
func (s *Service) applyCampaignInput(ctx context.Context, c *Campaign, in CampaignInput, create bool) error {
	p := Problems{}
	if in.Name != nil {
		c.Name = checkText(p, "name", *in.Name, 200)
	}
	if in.Audience != nil {
		a, err := ParseAudience(in.Audience, "audience")
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				return err
			}
			maps.Copy(p, e.Fields)
		}
		c.Audience = a
	}
	if in.Channels != nil {
		checkOrder(p, "channels", in.Channels)
		c.Channels = in.Channels
	}
	if in.TemplateID != nil {
		if !ValidID(PrefixMessageTemplate, *in.TemplateID) {
			p.Add("template_id", "must be a message template id")
		}
		c.TemplateID, c.Message = in.TemplateID, nil
	}
	if in.Message != nil {
		if s.renderer == nil {
			return errNoRenderer
		}
		c.Message = &CampaignMessage{Variants: s.checkVariants(ctx, p, "message.variants", in.Message.Variants)}
		if in.TemplateID == nil {
			c.TemplateID = nil
		}
	}
	if in.TemplateID != nil && in.Message != nil {
		p.Add("message", "give a template_id or a message, not both")
	}
	if create && c.TemplateID == nil && c.Message == nil {
		p.Add("template_id", "a template_id or a message is required")
	}
	if in.SendAt != nil {
		t := in.SendAt.UTC().Truncate(time.Millisecond)
		c.SendAt = &t
	}
	return p.Err()
}

// checkCampaignTemplate checks that the campaign's template exists.
func (s *Service) checkCampaignTemplate(ctx context.Context, tx Tx, c *Campaign) error {
	if c.TemplateID == nil {
		return nil
	}
	if _, err := tx.MessageTemplate(ctx, c.BusinessID, *c.TemplateID); err != nil {
		if ErrorCode(err) == ENotFound {
			return &Error{Code: EValidation, Message: "unknown message template",
				Fields: map[string]string{"template_id": "is not a message template of this business"}}
		}
		return err
	}
	return nil
}

// UpdateCampaign changes a draft campaign.
func (s *Service) UpdateCampaign(ctx context.Context, businessID, id string, in CampaignInput) (*Campaign, error) {
	var c *Campaign
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		var err error
		if c, err = tx.Campaign(ctx, businessID, id, true); err != nil {
			return err
		}
		if c.Status != CampaignStatusDraft {
			return Errorf(EConflict, "only a draft campaign can be changed; this one is %s", c.Status)
		}
		if err := s.applyCampaignInput(ctx, c, in, false); err != nil {
			return err
		}
		if err := s.checkCampaignTemplate(ctx, tx, c); err != nil {
			return err
		}
		c.UpdatedAt = s.clock()
		if err := tx.UpdateCampaign(ctx, c); err != nil {
			return err
		}
		return s.fillStats(ctx, tx, c)
	})
	return c, err
}

// CampaignByID returns a campaign with its stats.
func (s *Service) CampaignByID(ctx context.Context, businessID, id string) (*Campaign, error) {
	var c *Campaign
	err := s.read(ctx, func(tx Tx) error {
		var err error
		if c, err = tx.Campaign(ctx, businessID, id, false); err != nil {
			return err
		}
		return s.fillStats(ctx, tx, c)
	})
	return c, err
}

// fillStats sets a campaign's stats: stored when it ended, counted live
// while it sends.
func (s *Service) fillStats(ctx context.Context, tx Tx, c *Campaign) error {
	switch {
	case c.FinalStats != nil:
		c.Stats = *c.FinalStats
	case c.Status == CampaignStatusDraft || c.Status == CampaignStatusScheduled:
		c.Stats = CampaignStats{Skipped: map[string]int{}}
	default:
		st, err := tx.CampaignStats(ctx, c.BusinessID, c.ID)
		if err != nil {
			return err
		}
		c.Stats = st
	}
	if c.Stats.Skipped == nil {
		c.Stats.Skipped = map[string]int{}
	}
	return nil
}

// Campaigns lists a business's campaigns, newest first.
func (s *Service) Campaigns(ctx context.Context, businessID string, pg Page) ([]*Campaign, *string, error) {
	if err := CheckPage(pg, PrefixCampaign); err != nil {
		return nil, nil, err
	}
	var cs []*Campaign
	err := s.read(ctx, func(tx Tx) error {
		var err error
		if cs, err = tx.Campaigns(ctx, businessID, pg); err != nil {
			return err
		}
		for _, c := range cs {
			if err := s.fillStats(ctx, tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	items, next := page(cs, pg, func(c *Campaign) string { return c.ID })
	return items, next, nil
}

// CampaignRecipients lists a campaign's recipients by customer id.
func (s *Service) CampaignRecipients(ctx context.Context, businessID, id, status string, pg Page) ([]*Recipient, *string, error) {
	p := Problems{}
	if pg.Limit < 0 || pg.Limit > MaxPageLimit {
		p.Add("limit", "must be between 1 and 100")
	}
	if pg.Cursor != "" && !ValidID(PrefixCustomer, pg.Cursor) {
		p.Add("cursor", "is not a cursor of this list")
	}
	switch status {
	case "", RecipientSkipped, RecipientQueued, DeliverySending, DeliverySent, DeliveryFailed, DeliveryUnknown:
	default:
		p.Add("status", "must be one of skipped, queued, sending, sent, failed, unknown")
	}
	if err := p.Err(); err != nil {
		return nil, nil, err
	}
	var rs []*Recipient
	err := s.read(ctx, func(tx Tx) error {
		if _, err := tx.Campaign(ctx, businessID, id, false); err != nil {
			return err
		}
		var err error
		rs, err = tx.Recipients(ctx, RecipientFilter{BusinessID: businessID, CampaignID: id, Status: status,
			After: pg.Cursor, Limit: pg.Size() + 1})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	items, next := page(rs, pg, func(r *Recipient) string { return r.CustomerID })
	return items, next, nil
}

// CampaignQueue starts campaign runners.
type CampaignQueue interface {
	// RunCampaign enqueues a runner of the campaign, at once or at a time.
	RunCampaign(ctx context.Context, businessID, id string, at time.Time) error
}

// SendCampaign starts a draft: scheduled when send_at is in the future,
// sending otherwise. The template's variants are copied, so later edits of
// the template do not change a campaign under way.
func (s *Service) SendCampaign(ctx context.Context, businessID, id string) (*Campaign, error) {
	var c *Campaign
	now := s.clock()
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		var err error
		if c, err = tx.Campaign(ctx, businessID, id, true); err != nil {
			return err
		}
		if c.Status != CampaignStatusDraft {
			return Errorf(EConflict, "the campaign is %s; only a draft can be sent", c.Status)
		}
		if c.TemplateID != nil {
			t, err := tx.MessageTemplate(ctx, businessID, *c.TemplateID)
			if ErrorCode(err) == ENotFound {
				return &Error{Code: EValidation, Message: "the campaign's message template was deleted",
					Fields: map[string]string{"template_id": "is not a message template of this business"}}
			}
			if err != nil {
				return err
			}
			c.Message = &CampaignMessage{Variants: t.Variants}
		}
		if c.SendAt != nil && c.SendAt.After(now) {
			c.Status = CampaignStatusScheduled
		} else {
			c.Status, c.StartedAt = CampaignStatusSending, &now
		}
		c.UpdatedAt = now
		return tx.UpdateCampaign(ctx, c)
	})
	if err != nil {
		return nil, err
	}
	s.kickCampaign(ctx, c)
	c.Stats = CampaignStats{Skipped: map[string]int{}}
	return c, nil
}

// kickCampaign enqueues a runner; a failure is logged, the periodic tick
// starts one later.
func (s *Service) kickCampaign(ctx context.Context, c *Campaign) {
	if s.campaigns == nil {
		return
	}
	at := time.Time{}
	if c.Status == CampaignStatusScheduled && c.SendAt != nil {
		at = *c.SendAt
	}
	if err := s.campaigns.RunCampaign(context.WithoutCancel(ctx), c.BusinessID, c.ID, at); err != nil {
		s.log.WarnContext(ctx, "campaign not enqueued; the campaign tick will start it", "campaign", c.ID, "err", err)
	}
}

// PauseCampaign stops a sending or scheduled campaign; messages already
// handed to a provider are not taken back, the rest wait.
func (s *Service) PauseCampaign(ctx context.Context, businessID, id string) (*Campaign, error) {
	return s.moveCampaign(ctx, businessID, id, CampaignStatusPaused, CampaignStatusSending, CampaignStatusScheduled)
}

// ResumeCampaign continues a paused campaign.
func (s *Service) ResumeCampaign(ctx context.Context, businessID, id string) (*Campaign, error) {
	c, err := s.moveCampaign(ctx, businessID, id, CampaignStatusSending, CampaignStatusPaused)
	if err == nil {
		s.kickCampaign(ctx, c)
	}
	return c, err
}

// CancelCampaign ends a campaign that has not ended: recipients not yet
// walked are never created, pending deliveries fail as cancelled.
func (s *Service) CancelCampaign(ctx context.Context, businessID, id string) (*Campaign, error) {
	return s.moveCampaign(ctx, businessID, id, CampaignStatusCancelled, CampaignStatusDraft, CampaignStatusScheduled, CampaignStatusSending, CampaignStatusPaused)
}

// moveCampaign changes a campaign's status when it is one of from.
func (s *Service) moveCampaign(ctx context.Context, businessID, id, to string, from ...string) (*Campaign, error) {
	var c *Campaign
	now := s.clock()
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		var err error
		if c, err = tx.Campaign(ctx, businessID, id, true); err != nil {
			return err
		}
		if c.Status == to {
			return s.fillStats(ctx, tx, c)
		}
		ok := false
		for _, f := range from {
			ok = ok || c.Status == f
		}
		if !ok {
			return Errorf(EConflict, "the campaign is %s and cannot become %s", c.Status, to)
		}
		if to == CampaignStatusSending && c.StartedAt == nil {
			c.StartedAt = &now
		}
		if to == CampaignStatusSending && c.SendAt != nil && c.SendAt.After(now) {
			to = CampaignStatusScheduled
		}
		c.Status, c.UpdatedAt = to, now
		if to == CampaignStatusCancelled {
			n, err := tx.CancelDeliveries(ctx, businessID, CampaignSource(id), ReasonCancelled, now)
			if err != nil {
				return err
			}
			tally := activityTally{}
			tally.addFailed(businessID, id, now, n)
			if err := tally.flush(ctx, tx); err != nil {
				return err
			}
			st, err := tx.CampaignStats(ctx, businessID, id)
			if err != nil {
				return err
			}
			c.FinalStats, c.FinishedAt, c.LeaseOwner, c.LeaseUntil = &st, &now, "", nil
		}
		if err := tx.UpdateCampaign(ctx, c); err != nil {
			return err
		}
		return s.fillStats(ctx, tx, c)
	})
	if err == nil {
		s.campaignStatus.Delete(id)
	}
	return c, err
}

// Campaign engine tuning.
const (
	// CampaignBatch is how many audience members one walk step takes.
	CampaignBatch = 500
	// CampaignWindow bounds a campaign's open deliveries: the walk waits
	// while this many are pending or sending.
	CampaignWindow = 10_000
	// CampaignLease is how long a runner owns a campaign without renewing.
	CampaignLease = 60 * time.Second
)

// StepAction says what a campaign runner does after a step.
type StepAction int

// Step actions.
const (
	// StepStop: the runner exits (not sending, not the lease holder, or done).
	StepStop StepAction = iota
	// StepSend: hand Deliveries to the senders, then step again.
	StepSend
	// StepWait: the backlog is full or draining; step again after a pause.
	StepWait
	// StepHold: quiet hours; run again at Until (the lease is held till then).
	StepHold
)

// Step is the outcome of one campaign step.
type Step struct {
	Action     StepAction
	Deliveries []DeliveryKey
	Until      time.Time
}

// CampaignStep runs one step of a campaign as the runner owner: it takes or
// renews the lease, walks one batch of the audience into recipients and
// deliveries (in one transaction with the checkpoint, so a crash loses or
// repeats nothing), falls back to the next channel for failed recipients
// once the walk is done, and ends the campaign with one campaign_sent event
// when nothing is open.
func (s *Service) CampaignStep(ctx context.Context, businessID, id, owner string) (Step, error) {
	// The next batch is read and rendered outside the writer (on SQLite the
	// one writer of every business); the step uses it if the checkpoint has
	// not moved meanwhile, and walks inside its transaction otherwise.
	prep, err := s.prepareWalk(ctx, businessID, id)
	if err != nil {
		return Step{}, err
	}
	step, canEnd, err := s.campaignStep(ctx, businessID, id, owner, prep, nil)
	if err != nil || !canEnd {
		return step, err
	}
	// The campaign can end: its final stats are counted outside the writer
	// (on SQLite the one writer of every business), then the step runs again
	// and ends it with them if it still finds nothing open and nobody to
	// fall back. Until then no recipient can change: nothing of the
	// campaign is open, and only this runner, holding the lease, walks or
	// falls back.
	var st CampaignStats
	if err := s.read(ctx, func(tx Tx) error {
		var err error
		st, err = tx.CampaignStats(ctx, businessID, id)
		return err
	}); err != nil {
		return Step{}, err
	}
	step, _, err = s.campaignStep(ctx, businessID, id, owner, nil, &st)
	return step, err
}

// walkPrep is a batch of a campaign's audience read and planned in a read
// transaction, for the walk step that starts at its checkpoint.
type walkPrep struct {
	// from is the checkpoint the batch starts after; seen is the campaign's
	// updated_at when it was read (any step, edit or pause changes it).
	from    string
	seen    time.Time
	members []AudienceMember
	plan    *messagePlan
}

// prepareWalk reads and plans the next batch of a campaign that is due to
// walk, in a read transaction; nil when the campaign would not walk now
// (not sending, walked, quiet hours, or its window full).
func (s *Service) prepareWalk(ctx context.Context, businessID, id string) (*walkPrep, error) {
	now := s.clock()
	var prep *walkPrep
	err := s.read(ctx, func(tx Tx) error {
		c, err := tx.Campaign(ctx, businessID, id, false)
		if err != nil {
			return err
		}
		if c.Status != CampaignStatusSending && !c.startsBy(now) || c.Walked {
			return nil
		}
		st, loc, err := s.sendSettings(ctx, tx, businessID)
		if err != nil {
			return err
		}
		if q := st.Messaging.QuietHours; q != nil && !QuietUntil(loc, q.Start, q.End, now).IsZero() {
			return nil
		}
		if open, err := tx.OpenDeliveries(ctx, businessID, CampaignSource(id)); err != nil || open >= CampaignWindow {
			return err
		}
		prep, err = s.nextBatch(ctx, tx, c, st, now)
		return err
	})
	return prep, err
}

// nextBatch reads the audience members after a campaign's checkpoint, one
// batch, and plans their messages.
func (s *Service) nextBatch(ctx context.Context, tx Tx, c *Campaign, st *Settings, now time.Time) (*walkPrep, error) {
	b := &walkPrep{from: c.Checkpoint, seen: c.UpdatedAt}
	var err error
	b.members, err = tx.AudienceMembers(ctx, AudienceQuery{BusinessID: c.BusinessID, Filter: c.Audience, Now: now,
		AfterID: c.Checkpoint, Limit: CampaignBatch})
	if err != nil || len(b.members) == 0 {
		return b, err
	}
	b.plan, err = s.planMessages(ctx, tx, c, st, b.members, now, "")
	return b, err
}

// startsBy reports whether a scheduled campaign is due to start sending at
// now.
func (c *Campaign) startsBy(now time.Time) bool {
	return c.Status == CampaignStatusScheduled && (c.SendAt == nil || !c.SendAt.After(now))
}

// campaignStep is one step of CampaignStep. A walk uses prep when the
// campaign has not changed since prep read it. When the campaign can end,
// it ends it with the final stats, or, when final is nil, ends nothing and
// says canEnd (the caller counts them and steps again).
func (s *Service) campaignStep(ctx context.Context, businessID, id, owner string, prep *walkPrep, final *CampaignStats) (step Step, canEnd bool, err error) {
	now := s.clock()
	err = s.write(ctx, func(tx Tx, out *outbox) error {
		step, canEnd = Step{}, false
		c, err := tx.Campaign(ctx, businessID, id, true)
		if err != nil {
			return err
		}
		if prep != nil && (!prep.seen.Equal(c.UpdatedAt) || prep.from != c.Checkpoint) {
			prep = nil // a step, an edit or a pause came between: walk here
		}
		if c.startsBy(now) {
			c.Status, c.StartedAt = CampaignStatusSending, &now
		}
		if c.Status != CampaignStatusSending {
			if c.LeaseOwner == owner {
				c.LeaseOwner, c.LeaseUntil = "", nil
				return tx.UpdateCampaign(ctx, c)
			}
			return nil
		}
		if c.LeaseOwner != owner && c.LeaseOwner != "" && c.LeaseUntil != nil && c.LeaseUntil.After(now) {
			return nil // another runner holds it
		}
		until := now.Add(CampaignLease)
		c.LeaseOwner, c.LeaseUntil, c.UpdatedAt = owner, &until, now
		st, loc, err := s.sendSettings(ctx, tx, businessID)
		if err != nil {
			return err
		}
		if q := st.Messaging.QuietHours; q != nil {
			if end := QuietUntil(loc, q.Start, q.End, now); !end.IsZero() {
				// The lease is kept until the end, so the tick starts no
				// runner meanwhile; the runner queued for the end takes it.
				c.LeaseOwner, c.LeaseUntil = "quiet-hours", &end
				step = Step{Action: StepHold, Until: end}
				return tx.UpdateCampaign(ctx, c)
			}
		}
		source := CampaignSource(id)
		open, err := tx.OpenDeliveries(ctx, businessID, source)
		if err != nil {
			return err
		}
		switch {
		case !c.Walked && open >= CampaignWindow:
			step.Action = StepWait
		case !c.Walked:
			if step.Deliveries, err = s.walkCampaign(ctx, tx, c, st, now, prep); err != nil {
				return err
			}
			step.Action = StepSend
		case open > 0:
			step.Action = StepWait
		default:
			if step.Deliveries, err = s.fallBack(ctx, tx, c, st, now); err != nil {
				return err
			}
			if len(step.Deliveries) > 0 {
				step.Action = StepSend
				break
			}
			if final == nil {
				canEnd = true
				break
			}
			if err := s.finishCampaign(ctx, tx, out, c, *final, now); err != nil {
				return err
			}
		}
		return tx.UpdateCampaign(ctx, c)
	})
	return step, canEnd, err
}

// walkCampaign takes the next batch of the audience and writes its
// recipients and deliveries; it moves the checkpoint. The batch is prep's
// when the caller found the campaign unchanged since prep read it (read and
// rendered before the write: only this runner, holding the lease, moves the
// checkpoint, and the claim checks each recipient's consent again before
// sending), else it is read here. The frequency cap is counted here, in the
// write, either way.
func (s *Service) walkCampaign(ctx context.Context, tx Tx, c *Campaign, st *Settings, now time.Time, prep *walkPrep) ([]DeliveryKey, error) {
	if prep == nil {
		var err error
		if prep, err = s.nextBatch(ctx, tx, c, st, now); err != nil {
			return nil, err
		}
	}
	members, plan := prep.members, prep.plan
	if len(members) < CampaignBatch {
		c.Walked = true
	}
	if len(members) == 0 {
		return nil, nil
	}
	c.Checkpoint = members[len(members)-1].Customer.ID
	if err := s.capPlan(ctx, tx, c.BusinessID, plan, st, now); err != nil {
		return nil, err
	}
	c.Recipients += len(plan.recipients)
	if err := tx.CreateDeliveries(ctx, plan.deliveries); err != nil {
		return nil, err
	}
	if err := tx.CreateRecipients(ctx, plan.recipients); err != nil {
		return nil, err
	}
	return plan.keys, nil
}

// capPlan skips, with ReasonFrequencyCap, the recipients of a walk's plan
// that have had the business's frequency cap of messages already.
func (s *Service) capPlan(ctx context.Context, tx Tx, businessID string, plan *messagePlan, st *Settings, now time.Time) error {
	cap := st.Messaging.FrequencyCap
	if cap == nil {
		return nil
	}
	var ids []string
	for _, r := range plan.recipients {
		if r.Channel != "" {
			ids = append(ids, r.CustomerID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	recent, err := tx.RecentDeliveries(ctx, businessID, ids, now.AddDate(0, 0, -cap.PerDays))
	if err != nil {
		return err
	}
	capped := map[string]bool{}
	for _, r := range plan.recipients {
		if r.Channel != "" && recent[r.CustomerID] >= cap.Max {
			r.Status, r.Reason, r.DeliveryID = RecipientSkipped, ReasonFrequencyCap, nil
			capped[r.CustomerID] = true
		}
	}
	if len(capped) == 0 {
		return nil
	}
	plan.deliveries = slices.DeleteFunc(plan.deliveries, func(d *Delivery) bool { return capped[d.CustomerID] })
	plan.keys = plan.keys[:0]
	for _, d := range plan.deliveries {
		plan.keys = append(plan.keys, DeliveryKey{BusinessID: d.BusinessID, ID: d.ID})
	}
	return nil
}

// messagePlan is what a batch of recipients becomes.
type messagePlan struct {
	recipients []*Recipient
	deliveries []*Delivery
	keys       []DeliveryKey
}

// planMessages picks each member's channel (the first in the order that
// can reach them and is configured, after exclude) and renders the message.
// The frequency cap is the caller's (capPlan), in its write.
func (s *Service) planMessages(ctx context.Context, tx Tx, c *Campaign, st *Settings, members []AudienceMember, now time.Time, exclude string) (*messagePlan, error) {
	order := c.Channels
	if order == nil {
		order = st.Messaging.ChannelOrder
	}
	channels := ExpandOrder(order)
	configured, err := s.configuredChannels(ctx, tx, c.BusinessID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.Customer.ID
	}
	cards := map[string]*Card{}
	if c.Message != nil && mentionsCard(c.Message.Variants) {
		cs, err := tx.NewestCards(ctx, c.BusinessID, ids)
		if err != nil {
			return nil, err
		}
		for _, card := range cs {
			t, err := s.cardTemplate(ctx, tx, c.BusinessID, card.TemplateID)
			if err != nil {
				return nil, err
			}
			s.decorate(card, t)
			cards[card.CustomerID] = card
		}
	}
	biz, err := tx.Business(ctx, c.BusinessID)
	if err != nil {
		return nil, err
	}
	plan := &messagePlan{}
	source := CampaignSource(c.ID)
	for _, m := range members {
		r := &Recipient{CampaignID: c.ID, BusinessID: c.BusinessID, CustomerID: m.Customer.ID, Status: RecipientQueued, CreatedAt: now}
		plan.recipients = append(plan.recipients, r)
		r.Channel = pickChannel(channels, m.Reach, configured, exclude)
		if r.Channel == "" {
			r.Status, r.Reason = RecipientSkipped, ReasonNoChannel
			continue
		}
		kind := KindText
		if r.Channel == ChannelEmail {
			kind = KindEmail
		}
		var variants []MessageVariant
		if c.Message != nil {
			variants = c.Message.Variants
		}
		v, ok := SelectVariant(variants, kind, m.Customer.Language, st.DefaultLanguage)
		if !ok {
			r.Status, r.Reason = RecipientSkipped, ReasonNoVariant
			continue
		}
		rc := RenderContext{Business: biz, Customer: m.Customer, Card: cards[m.Customer.ID], Campaign: c}
		rendered, err := s.renderVariant(ctx, v, rc.Vars())
		if err != nil {
			r.Status, r.Reason = RecipientSkipped, ReasonRenderFailed
			if errors.Is(err, ErrTooLong) {
				r.Reason = ReasonTooLong
			}
			continue
		}
		d := &Delivery{ID: NewID(PrefixDelivery), BusinessID: c.BusinessID, Source: source, CustomerID: m.Customer.ID,
			Channel: r.Channel, Status: DeliveryPending, CreatedAt: now, UpdatedAt: now,
			Content: MessageContent{Subject: rendered.Subject, Text: rendered.Text, HTML: rendered.HTML}}
		r.DeliveryID = &d.ID
		plan.deliveries = append(plan.deliveries, d)
		plan.keys = append(plan.keys, DeliveryKey{BusinessID: c.BusinessID, ID: d.ID})
	}
	return plan, nil
}

func mentionsCard(vs []MessageVariant) bool {
	for _, v := range vs {
		if strings.Contains(v.Text, "card") || strings.Contains(v.HTML, "card") || strings.Contains(v.Subject, "card") {
			return true
		}
	}
	return false
}

// pickChannel returns the first channel of the order that reaches the
// customer and is configured, after skipping exclude and the channels
// before it; "" when none.
func pickChannel(order, reach []string, configured map[string]bool, exclude string) string {
	start := 0
	if exclude != "" {
		for i, ch := range order {
			if ch == exclude {
				start = i + 1
			}
		}
	}
	for _, ch := range order[start:] {
		if !configured[ch] {
			continue
		}
		for _, r := range reach {
			if r == ch {
				return ch
			}
		}
	}
	return ""
}

// configuredChannels reports which channels have an enabled provider.
func (s *Service) configuredChannels(ctx context.Context, tx Tx, businessID string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, ch := range Channels {
		cfg, err := s.routeChannel(ctx, tx, businessID, ch)
		if err != nil {
			return nil, err
		}
		out[ch] = cfg != nil
	}
	return out, nil
}

// fallBack gives recipients whose delivery failed one more try on the next
// channel of the order; it returns the new deliveries.
func (s *Service) fallBack(ctx context.Context, tx Tx, c *Campaign, st *Settings, now time.Time) ([]DeliveryKey, error) {
	failed, err := tx.FailedRecipients(ctx, c.BusinessID, c.ID, "", CampaignBatch)
	if err != nil || len(failed) == 0 {
		return nil, err
	}
	var keys []DeliveryKey
	tally := activityTally{}
	for _, r := range failed {
		members, err := tx.AudienceMembers(ctx, AudienceQuery{BusinessID: c.BusinessID, Filter: &Audience{}, Now: now,
			CustomerID: r.CustomerID, Limit: 1})
		if err != nil {
			return nil, err
		}
		r.FallbackUsed = true
		if len(members) == 1 {
			plan, err := s.planMessages(ctx, tx, c, st, members, now, r.Channel)
			if err != nil {
				return nil, err
			}
			if np := plan.recipients[0]; np.DeliveryID != nil {
				if err := tx.CreateDeliveries(ctx, plan.deliveries); err != nil {
					return nil, err
				}
				// The failed delivery is no longer the recipient's: its
				// failure leaves the chart, the new delivery counts when
				// it ends.
				old, err := tx.Delivery(ctx, c.BusinessID, *r.DeliveryID, false)
				if err != nil {
					return nil, err
				}
				tally.add(old, -1)
				r.Channel, r.DeliveryID = np.Channel, np.DeliveryID
				keys = append(keys, plan.keys...)
			}
		}
		if err := tx.UpdateRecipient(ctx, r); err != nil {
			return nil, err
		}
	}
	return keys, tally.flush(ctx, tx)
}

// finishCampaign stores the final stats st, marks the campaign sent and
// writes its campaign_sent event.
func (s *Service) finishCampaign(ctx context.Context, tx Tx, out *outbox, c *Campaign, st CampaignStats, now time.Time) error {
	c.Status, c.FinalStats, c.FinishedAt, c.LeaseOwner, c.LeaseUntil = CampaignStatusSent, &st, &now, "", nil
	channels := c.Channels
	if channels == nil {
		set, err := s.settings(ctx, tx, c.BusinessID)
		if err != nil {
			return err
		}
		channels = set.Messaging.ChannelOrder
	}
	channels = ExpandOrder(channels) // the event names channels, "messengers" spelled out
	out.add(&Event{ID: NewID(PrefixEvent), Type: CampaignSent, BusinessID: c.BusinessID, Timestamp: now,
		Campaign: &EventCampaign{ID: c.ID, Name: c.Name, Channels: channels, Audience: describeAudience(c.Audience),
			Sent: st.Sent, Failed: st.Failed, Skipped: st.SkippedTotal()}})
	return nil
}

// ReleaseCampaign gives up a runner's lease so that the next runner starts
// at once.
func (s *Service) ReleaseCampaign(ctx context.Context, businessID, id, owner string) error {
	return s.write(ctx, func(tx Tx, _ *outbox) error {
		c, err := tx.Campaign(ctx, businessID, id, true)
		if err != nil || c.LeaseOwner != owner {
			return err
		}
		c.LeaseOwner, c.LeaseUntil = "", nil
		return tx.UpdateCampaign(ctx, c)
	})
}

// RequeueCampaign hands a sending campaign's pending deliveries (at most a
// window) to the senders again, after a resume or a lost task.
func (s *Service) RequeueCampaign(ctx context.Context, businessID, id string) ([]DeliveryKey, error) {
	var keys []DeliveryKey
	err := s.read(ctx, func(tx Tx) error {
		var err error
		keys, err = tx.PendingDeliveries(ctx, businessID, CampaignSource(id), CampaignWindow)
		return err
	})
	return keys, err
}

// CampaignRef names a campaign.
type CampaignRef struct {
	BusinessID string
	ID         string
}

// CampaignsToRun lists campaigns that need a runner: scheduled ones due and
// sending ones nobody runs (their lease ran out).
func (s *Service) CampaignsToRun(ctx context.Context, limit int) ([]CampaignRef, error) {
	var cs []*Campaign
	err := s.read(ctx, func(tx Tx) error {
		var err error
		cs, err = tx.CampaignsToRun(ctx, s.clock(), limit)
		return err
	})
	refs := make([]CampaignRef, len(cs))
	for i, c := range cs {
		refs[i] = CampaignRef{BusinessID: c.BusinessID, ID: c.ID}
	}
	return refs, err
}

// campaignState is a campaign's status as the send path sees it.
type campaignState struct {
	status  string
	expires time.Time
}

// campaignHold reports whether a campaign delivery must wait (its campaign
// is paused) or fail (cancelled), from a status cached for a second.
func (s *Service) campaignHold(ctx context.Context, tx Tx, d *Delivery) (hold bool, cancelled bool, err error) {
	id, ok := campaignOfSource(d.Source)
	if !ok {
		return false, false, nil
	}
	now := time.Now()
	var status string
	if v, ok := s.campaignStatus.Load(id); ok && now.Before(v.(campaignState).expires) {
		status = v.(campaignState).status
	} else {
		c, err := tx.Campaign(ctx, d.BusinessID, id, false)
		if err != nil {
			if ErrorCode(err) == ENotFound {
				return false, false, nil
			}
			return false, false, err
		}
		status = c.Status
		s.campaignStatus.Store(id, campaignState{status: status, expires: now.Add(time.Second)})
	}
	switch status {
	case CampaignStatusPaused, CampaignStatusScheduled:
		return true, false, nil
	case CampaignStatusCancelled:
		return false, true, nil
	}
	return false, false, nil
}

// String names a step action in logs.
func (a StepAction) String() string {
	return [...]string{"stop", "send", "wait", "hold"}[a]
}

// describeAudience names an audience in a campaign_sent event: "all
// customers" for the empty filter, otherwise the filter as JSON.
func describeAudience(a *Audience) string {
	b, err := json.Marshal(a)
	if err != nil || a == nil || string(b) == `{"all":[]}` {
		return "all customers"
	}
	return string(b)
}

// AudiencePreviewInput asks how an audience would be reached.
type AudiencePreviewInput struct {
	Audience json.RawMessage `json:"audience"`
	Channels []string        `json:"channels"`
	// Estimate, when above zero, allows an estimate from a sample of about
	// that many customers when the business has more than twice as many
	// (the console's live count; see AudiencePreview.Estimated). Zero
	// counts exactly. Not part of the API's request body.
	Estimate int `json:"-"`
}

// AudienceEstimateSample is the sample the console's live audience count
// estimates from. The 95 % margin of an estimated audience of A customers
// is about 1.96·√(A(1-q)/q) for a sample of a share q of the business:
// with 1,500 of 100,000 customers, ±6 % of an audience of 70,000 and ±16 %
// of one of 10,000. Each condition of a sampled customer's filter and reach
// costs SQLite (modernc) 1–5 µs of CPU, so 1,500 keep the count well
// under the 50 ms of a page.
const AudienceEstimateSample = 1_500

// AudiencePreview counts an audience and the channel each member would get.
type AudiencePreview struct {
	Total       int            `json:"total"`
	ByChannel   map[string]int `json:"by_channel"`
	Unreachable int            `json:"unreachable"`
	// Estimated is true when the counts are scaled up from a sample of the
	// business's customers (AudiencePreviewInput.Estimate).
	Estimated bool `json:"estimated,omitempty"`
	// Margin is the 95 % margin of an estimated Total: the true count is
	// within Total ± Margin 19 times in 20. Zero when exact.
	Margin int `json:"margin,omitempty"`
}

// PreviewAudience counts, per channel, the members of an audience the
// channel order would reach, and the members no channel reaches. The store
// counts the members per distinct reach (a few rows, whatever the size of
// the audience) and the channel is picked once per reach, as the campaign
// walk picks it per member. The frequency cap is not applied. With
// in.Estimate, a large business's counts are estimated from a sample.
func (s *Service) PreviewAudience(ctx context.Context, businessID string, in AudiencePreviewInput) (*AudiencePreview, error) {
	p := Problems{}
	if in.Audience == nil {
		in.Audience = json.RawMessage("null")
	}
	a, err := ParseAudience(in.Audience, "audience")
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return nil, err
		}
		maps.Copy(p, e.Fields)
	}
	if in.Channels != nil {
		checkOrder(p, "channels", in.Channels)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	out := &AudiencePreview{ByChannel: map[string]int{}}
	now := s.clock()
	err = s.read(ctx, func(tx Tx) error {
		st, err := s.settings(ctx, tx, businessID)
		if err != nil {
			return err
		}
		order := in.Channels
		if order == nil {
			order = st.Messaging.ChannelOrder
		}
		channels := ExpandOrder(order)
		configured, err := s.configuredChannels(ctx, tx, businessID)
		if err != nil {
			return err
		}
		// Only the channels pickChannel can pick are worth computing.
		wanted := []string{}
		for _, ch := range channels {
			if configured[ch] {
				wanted = append(wanted, ch)
			}
		}
		sample, err := sampleFor(ctx, tx, businessID, in.Estimate)
		if err != nil {
			return err
		}
		counts, err := tx.AudienceReach(ctx, AudienceQuery{BusinessID: businessID, Filter: a, Now: now, Channels: wanted, Sample: sample})
		if err != nil {
			return err
		}
		for _, rc := range counts {
			out.Total += rc.Count
			if ch := pickChannel(channels, rc.Reach, configured, ""); ch != "" {
				out.ByChannel[ch] += rc.Count
			} else {
				out.Unreachable += rc.Count
			}
		}
		if sample > 0 {
			out.scale(sample)
		}
		return nil
	})
	return out, err
}

// scale turns the counts of a sample of buckets into estimates of the
// whole: each customer of an audience of A is in the sample with
// probability q = sample/SampleBuckets, so every count scales by 1/q, and
// the total's variance is A(1-q)/q, estimated with the scaled total for A.
func (p *AudiencePreview) scale(sample int) {
	s := float64(SampleBuckets) / float64(sample)
	up := func(n int) int { return int(math.Round(float64(n) * s)) }
	hits := max(p.Total, 1)
	p.Estimated = true
	p.Total, p.Unreachable = up(p.Total), up(p.Unreachable)
	for ch, n := range p.ByChannel {
		p.ByChannel[ch] = up(n)
	}
	p.Margin = int(math.Ceil(1.96 * math.Sqrt(float64(hits)*s*(s-1))))
}

// sampleProbe is how many buckets sampleFor counts to size a sample.
const sampleProbe = 16

// sampleFor returns the AudienceQuery.Sample that holds about want of the
// business's customers, or 0 (everyone) when want is 0 or the business
// has no more than about twice as many. It counts the customers of a few
// buckets, a small fraction of them, from an index.
func sampleFor(ctx context.Context, tx AudienceTx, businessID string, want int) (int, error) {
	if want <= 0 {
		return 0, nil
	}
	counts, err := tx.AudienceReach(ctx, AudienceQuery{BusinessID: businessID, Channels: []string{}, Sample: sampleProbe})
	if err != nil {
		return 0, err
	}
	probed := 0
	for _, rc := range counts {
		probed += rc.Count
	}
	// The business has about probed·SampleBuckets/sampleProbe customers.
	if probed*SampleBuckets <= 2*want*sampleProbe {
		return 0, nil // about twice the sample or fewer: count them all
	}
	return min((want*sampleProbe+probed-1)/probed, SampleBuckets-1), nil
}
