package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// TriggerVoucherExpiring is the automation trigger that is not an event:
// the voucher-expiring sweep starts it a configured number of days before a
// voucher expires.
const TriggerVoucherExpiring = "voucher_expiring"

// Automation action types.
const (
	ActionSendMessage  = "send_message"
	ActionIssueVoucher = "issue_voucher"
)

// Automation run statuses.
const (
	RunPending = "pending"
	RunDone    = "done"
	RunSkipped = "skipped"
)

// Automation reacts to a trigger (au_…): after an optional delay, when the
// customer matches its condition, it runs its actions once per triggering
// event.
type Automation struct {
	ID           string             `json:"id"`
	BusinessID   string             `json:"-"`
	Name         string             `json:"name"`
	Enabled      bool               `json:"enabled"`
	Trigger      AutomationTrigger  `json:"trigger"`
	DelaySeconds int                `json:"delay_seconds"`
	Condition    *Audience          `json:"condition"`
	Actions      []AutomationAction `json:"actions"`
	CreatedAt    time.Time          `json:"created_at"`
	UpdatedAt    time.Time          `json:"updated_at"`
}

// AutomationTrigger names what starts an automation: one of the fourteen
// events or voucher_expiring.
type AutomationTrigger struct {
	Event string `json:"event"`
}

// AutomationAction is one step of an automation: issue_voucher (from a
// voucher template) or send_message (a message template, on the channel
// order given or the business's).
type AutomationAction struct {
	Type              string   `json:"type"`
	VoucherTemplateID *string  `json:"voucher_template_id,omitempty"`
	TemplateID        *string  `json:"template_id,omitempty"`
	Channels          []string `json:"channels,omitempty"`
}

// AutomationInput creates an automation or, in a PATCH, changes the fields
// given.
type AutomationInput struct {
	Name         *string            `json:"name"`
	Enabled      *bool              `json:"enabled"`
	Trigger      *AutomationTrigger `json:"trigger"`
	DelaySeconds *int               `json:"delay_seconds"`
	Condition    json.RawMessage    `json:"condition"`
	Actions      []AutomationAction `json:"actions"`
}

// AutomationRun is one firing of an automation for one trigger (an event
// id, or "voucher_expiring:<voucher id>"); its primary key makes an
// automation fire once per trigger.
type AutomationRun struct {
	AutomationID string
	TriggerKey   string
	BusinessID   string
	CustomerID   string
	Status       string
	Reason       string
	VoucherID    *string
	RunAt        time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// AutomationKey names a run.
type AutomationKey struct {
	BusinessID   string    `json:"business_id"`
	AutomationID string    `json:"automation_id"`
	TriggerKey   string    `json:"trigger_key"`
	RunAt        time.Time `json:"run_at"`
}

// AutomationQueue schedules automation runs.
type AutomationQueue interface {
	// EnqueueAutomations schedules each run at its RunAt.
	EnqueueAutomations(ctx context.Context, keys []AutomationKey) error
}

// AutomationTx is the store access of automations.
type AutomationTx interface {
	CreateAutomation(ctx context.Context, a *Automation) error
	Automation(ctx context.Context, businessID, id string) (*Automation, error)
	// Automations lists a business's automations newest first (at most page.Size()+1).
	Automations(ctx context.Context, businessID string, page Page) ([]*Automation, error)
	// UpdateAutomation stores every field but ID, BusinessID and CreatedAt.
	UpdateAutomation(ctx context.Context, a *Automation) error
	// DeleteAutomation deletes an automation and its runs; one already gone
	// is not an error.
	DeleteAutomation(ctx context.Context, businessID, id string) error
	// EnabledAutomations lists a business's enabled automations.
	EnabledAutomations(ctx context.Context, businessID string) ([]*Automation, error)
	// CreateAutomationRuns inserts runs; one that exists is left alone.
	CreateAutomationRuns(ctx context.Context, runs []*AutomationRun) error
	AutomationRun(ctx context.Context, automationID, triggerKey string, forUpdate bool) (*AutomationRun, error)
	// UpdateAutomationRun stores Status, Reason, VoucherID and UpdatedAt.
	UpdateAutomationRun(ctx context.Context, r *AutomationRun) error
	// DueAutomationRuns lists pending runs of any business due at or before t.
	DueAutomationRuns(ctx context.Context, t time.Time, limit int) ([]*AutomationRun, error)
}

// Bounds of automations.
const (
	MaxAutomationDelay   = 90 * 24 * 3600
	MaxAutomationActions = 5
	automationsCacheTTL  = 2 * time.Second
)

// AutomationTriggers lists what may start an automation.
func AutomationTriggers() []string {
	out := make([]string, 0, len(EventTypes)+1)
	for _, t := range EventTypes {
		out = append(out, string(t))
	}
	return append(out, TriggerVoucherExpiring)
}

// applyAutomationInput validates the fields given and sets them.
func (s *Service) applyAutomationInput(ctx context.Context, tx Tx, a *Automation, in AutomationInput, create bool) error {
	p := Problems{}
	if in.Name != nil || create {
		name := ""
		if in.Name != nil {
			name = *in.Name
		}
		a.Name = checkText(p, "name", name, 200)
	}
	if in.Enabled != nil {
		a.Enabled = *in.Enabled
	}
	if in.Trigger != nil {
		if !slices.Contains(AutomationTriggers(), in.Trigger.Event) {
			p.Add("trigger.event", "must be one of the event names or voucher_expiring")
		}
		a.Trigger = *in.Trigger
	} else if create {
		p.Add("trigger", "is required")
	}
	if in.DelaySeconds != nil {
		if *in.DelaySeconds < 0 || *in.DelaySeconds > MaxAutomationDelay {
			p.Add("delay_seconds", fmt.Sprintf("must be between 0 and %d", MaxAutomationDelay))
		}
		a.DelaySeconds = *in.DelaySeconds
	}
	if in.Condition != nil {
		c, err := ParseAudience(in.Condition, "condition")
		var e *Error
		switch {
		case err == nil:
			a.Condition = c
		case errors.As(err, &e):
			maps.Copy(p, e.Fields)
		default:
			return err
		}
	}
	if in.Actions != nil || create {
		if len(in.Actions) == 0 || len(in.Actions) > MaxAutomationActions {
			p.Add("actions", fmt.Sprintf("must have 1 to %d actions", MaxAutomationActions))
		}
		for i, act := range in.Actions {
			f := fmt.Sprintf("actions[%d]", i)
			switch act.Type {
			case ActionIssueVoucher:
				if act.VoucherTemplateID == nil || !ValidID(PrefixVoucherTemplate, *act.VoucherTemplateID) {
					p.Add(f+".voucher_template_id", "must be a voucher template id")
				} else if _, err := tx.VoucherTemplate(ctx, a.BusinessID, *act.VoucherTemplateID); ErrorCode(err) == ENotFound {
					p.Add(f+".voucher_template_id", "is not a voucher template of this business")
				} else if err != nil {
					return err
				}
				if act.TemplateID != nil || act.Channels != nil {
					p.Add(f, "issue_voucher takes only voucher_template_id")
				}
			case ActionSendMessage:
				if act.TemplateID == nil || !ValidID(PrefixMessageTemplate, *act.TemplateID) {
					p.Add(f+".template_id", "must be a message template id")
				} else if _, err := tx.MessageTemplate(ctx, a.BusinessID, *act.TemplateID); ErrorCode(err) == ENotFound {
					p.Add(f+".template_id", "is not a message template of this business")
				} else if err != nil {
					return err
				}
				if act.Channels != nil {
					checkOrder(p, f+".channels", act.Channels)
				}
				if act.VoucherTemplateID != nil {
					p.Add(f+".voucher_template_id", "is only for issue_voucher")
				}
			default:
				p.Add(f+".type", "must be send_message or issue_voucher")
			}
		}
		a.Actions = in.Actions
	}
	if a.Condition == nil {
		a.Condition = &Audience{}
	}
	return p.Err()
}

// CreateAutomation validates and stores an automation.
func (s *Service) CreateAutomation(ctx context.Context, businessID string, in AutomationInput) (*Automation, error) {
	now := s.clock()
	a := &Automation{ID: NewID(PrefixAutomation), BusinessID: businessID, CreatedAt: now, UpdatedAt: now}
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		if _, err := tx.Business(ctx, businessID); err != nil {
			return err
		}
		if err := s.applyAutomationInput(ctx, tx, a, in, true); err != nil {
			return err
		}
		return tx.CreateAutomation(ctx, a)
	})
	if err != nil {
		return nil, err
	}
	s.automationsCache.Delete(businessID)
	return a, nil
}

// UpdateAutomation changes the fields given.
func (s *Service) UpdateAutomation(ctx context.Context, businessID, id string, in AutomationInput) (*Automation, error) {
	var a *Automation
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		var err error
		if a, err = tx.Automation(ctx, businessID, id); err != nil {
			return err
		}
		if err := s.applyAutomationInput(ctx, tx, a, in, false); err != nil {
			return err
		}
		a.UpdatedAt = s.clock()
		return tx.UpdateAutomation(ctx, a)
	})
	if err != nil {
		return nil, err
	}
	s.automationsCache.Delete(businessID)
	return a, nil
}

// AutomationByID returns one of a business's automations.
func (s *Service) AutomationByID(ctx context.Context, businessID, id string) (*Automation, error) {
	var a *Automation
	err := s.read(ctx, func(tx Tx) error {
		var err error
		a, err = tx.Automation(ctx, businessID, id)
		return err
	})
	return a, err
}

// Automations lists a business's automations, newest first.
func (s *Service) Automations(ctx context.Context, businessID string, pg Page) ([]*Automation, *string, error) {
	if err := CheckPage(pg, PrefixAutomation); err != nil {
		return nil, nil, err
	}
	var as []*Automation
	err := s.read(ctx, func(tx Tx) error {
		var err error
		as, err = tx.Automations(ctx, businessID, pg)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	items, next := page(as, pg, func(a *Automation) string { return a.ID })
	return items, next, nil
}

// DeleteAutomation deletes an automation; its pending runs go with it.
func (s *Service) DeleteAutomation(ctx context.Context, businessID, id string) error {
	err := s.write(ctx, func(tx Tx, _ *outbox) error { return tx.DeleteAutomation(ctx, businessID, id) })
	s.automationsCache.Delete(businessID)
	return err
}

// cachedAutomations are a business's enabled automations as dispatch sees them.
type cachedAutomations struct {
	list    []*Automation
	expires time.Time
}

// enabledAutomations returns a business's enabled automations, cached for
// two seconds (a change through this process is seen at once).
func (s *Service) enabledAutomations(ctx context.Context, tx Tx, businessID string) ([]*Automation, error) {
	now := time.Now()
	if v, ok := s.automationsCache.Load(businessID); ok && now.Before(v.(cachedAutomations).expires) {
		return v.(cachedAutomations).list, nil
	}
	list, err := tx.EnabledAutomations(ctx, businessID)
	if err != nil {
		return nil, err
	}
	s.automationsCache.Store(businessID, cachedAutomations{list: list, expires: now.Add(automationsCacheTTL)})
	return list, nil
}

// startAutomations records a run of every enabled automation whose trigger
// is the event's type (events without a customer start none), in the
// caller's transaction; it returns the runs to schedule.
func (s *Service) startAutomations(ctx context.Context, tx Tx, businessID string, events []*EventRecord, now time.Time) ([]AutomationKey, error) {
	autos, err := s.enabledAutomations(ctx, tx, businessID)
	if err != nil || len(autos) == 0 {
		return nil, err
	}
	var runs []*AutomationRun
	for _, e := range events {
		if e.CustomerID == nil {
			continue
		}
		for _, a := range autos {
			if a.Trigger.Event == string(e.Type) {
				runs = append(runs, newRun(a, e.ID, *e.CustomerID, now))
			}
		}
	}
	return s.recordRuns(ctx, tx, runs)
}

func newRun(a *Automation, key, customerID string, now time.Time) *AutomationRun {
	return &AutomationRun{AutomationID: a.ID, TriggerKey: key, BusinessID: a.BusinessID, CustomerID: customerID,
		Status: RunPending, RunAt: now.Add(time.Duration(a.DelaySeconds) * time.Second), CreatedAt: now, UpdatedAt: now}
}

func (s *Service) recordRuns(ctx context.Context, tx Tx, runs []*AutomationRun) ([]AutomationKey, error) {
	if len(runs) == 0 {
		return nil, nil
	}
	if err := tx.CreateAutomationRuns(ctx, runs); err != nil {
		return nil, err
	}
	keys := make([]AutomationKey, len(runs))
	for i, r := range runs {
		keys[i] = AutomationKey{BusinessID: r.BusinessID, AutomationID: r.AutomationID, TriggerKey: r.TriggerKey, RunAt: r.RunAt}
	}
	return keys, nil
}

// scheduleAutomations hands runs to the queue; a failure is logged, the
// automation relay finds them.
func (s *Service) scheduleAutomations(ctx context.Context, keys []AutomationKey) {
	if s.automations == nil || len(keys) == 0 {
		return
	}
	if err := s.automations.EnqueueAutomations(context.WithoutCancel(ctx), keys); err != nil {
		s.log.WarnContext(ctx, "automation runs recorded but not enqueued; the relay will enqueue them", "runs", len(keys), "err", err)
	}
}

// RunOutcome is what RunAutomation did.
type RunOutcome struct {
	// Status is pending (not due yet: run again at RunAt), done or skipped.
	Status string
	RunAt  time.Time
	Reason string
}

// Reasons an automation run is skipped or a step left out.
const (
	ReasonDisabled  = "disabled"
	ReasonDeleted   = "automation_deleted"
	ReasonCondition = "condition_not_met"
)

// RunAutomation runs one automation run, exactly once: the run row is
// locked and its status moves from pending in the same transaction as the
// voucher and the deliveries it creates.
func (s *Service) RunAutomation(ctx context.Context, k AutomationKey) (RunOutcome, error) {
	var outcome RunOutcome
	var deliveries []DeliveryKey
	err := s.write(ctx, func(tx Tx, out *outbox) error {
		outcome, deliveries = RunOutcome{}, nil
		now := s.clock()
		run, err := tx.AutomationRun(ctx, k.AutomationID, k.TriggerKey, true)
		if ErrorCode(err) == ENotFound {
			outcome.Status = RunSkipped
			return nil // deleted with its automation
		}
		if err != nil {
			return err
		}
		if run.Status != RunPending {
			outcome.Status = run.Status
			return nil
		}
		if run.RunAt.After(now) {
			outcome = RunOutcome{Status: RunPending, RunAt: run.RunAt}
			return nil
		}
		finish := func(status, reason string) error {
			run.Status, run.Reason, run.UpdatedAt = status, reason, now
			outcome = RunOutcome{Status: status, Reason: reason}
			return tx.UpdateAutomationRun(ctx, run)
		}
		a, err := tx.Automation(ctx, run.BusinessID, run.AutomationID)
		if ErrorCode(err) == ENotFound {
			return finish(RunSkipped, ReasonDeleted)
		}
		if err != nil {
			return err
		}
		if !a.Enabled {
			return finish(RunSkipped, ReasonDisabled)
		}
		members, err := tx.AudienceMembers(ctx, AudienceQuery{BusinessID: run.BusinessID, Filter: a.Condition, Now: now,
			CustomerID: run.CustomerID, Limit: 1})
		if err != nil {
			return err
		}
		if len(members) == 0 {
			return finish(RunSkipped, ReasonCondition)
		}
		rc, err := s.runContext(ctx, tx, run, members[0].Customer)
		if err != nil {
			return err
		}
		var notes []string
		for i, act := range a.Actions {
			switch act.Type {
			case ActionIssueVoucher:
				v, err := s.automationVoucher(ctx, tx, out, run, rc, *act.VoucherTemplateID, now)
				if err != nil {
					return err
				}
				rc.Voucher, run.VoucherID = v, &v.ID
			case ActionSendMessage:
				d, reason, err := s.automationMessage(ctx, tx, run, a, i, act, members[0], rc, now)
				if err != nil {
					return err
				}
				if d != nil {
					deliveries = append(deliveries, DeliveryKey{BusinessID: d.BusinessID, ID: d.ID})
				} else {
					notes = append(notes, fmt.Sprintf("actions[%d]: %s", i, reason))
				}
			}
		}
		return finish(RunDone, strings.Join(notes, "; "))
	})
	if err != nil {
		return RunOutcome{}, err
	}
	if len(deliveries) > 0 && s.messages != nil {
		if err := s.messages.EnqueueDeliveries(context.WithoutCancel(ctx), deliveries); err != nil {
			s.log.WarnContext(ctx, "automation deliveries recorded but not enqueued; the relay will enqueue them", "err", err)
		}
	}
	return outcome, nil
}

// runContext gathers what a run's messages may mention: the business, the
// customer, the triggering event's card and voucher (or the expiring
// voucher), else the customer's newest card.
func (s *Service) runContext(ctx context.Context, tx Tx, run *AutomationRun, cust *Customer) (RenderContext, error) {
	rc := RenderContext{Customer: cust}
	var err error
	if rc.Business, err = tx.Business(ctx, run.BusinessID); err != nil {
		return rc, err
	}
	var cardID, voucherID *string
	if id, ok := strings.CutPrefix(run.TriggerKey, TriggerVoucherExpiring+":"); ok {
		voucherID = &id
	} else if e, err := tx.Event(ctx, run.BusinessID, run.TriggerKey); err == nil {
		cardID, voucherID = e.CardID, e.VoucherID
	} else if ErrorCode(err) != ENotFound {
		return rc, err
	}
	if voucherID != nil {
		v, err := tx.Voucher(ctx, run.BusinessID, *voucherID, false)
		if err != nil && ErrorCode(err) != ENotFound {
			return rc, err
		}
		rc.Voucher = v
		if v != nil && cardID == nil {
			cardID = v.CardID
		}
	}
	if cardID != nil {
		c, err := tx.Card(ctx, run.BusinessID, *cardID, false)
		if err == nil {
			t, err := s.cardTemplate(ctx, tx, run.BusinessID, c.TemplateID)
			if err != nil {
				return rc, err
			}
			s.decorate(c, t)
			rc.Card = c
			return rc, nil
		}
		if ErrorCode(err) != ENotFound {
			return rc, err
		}
	}
	rc.Card, err = s.newestCard(ctx, tx, run.BusinessID, cust.ID)
	return rc, err
}

// automationVoucher issues a voucher of the template to the run's customer,
// with its voucher_issued event.
func (s *Service) automationVoucher(ctx context.Context, tx Tx, out *outbox, run *AutomationRun, rc RenderContext, templateID string, now time.Time) (*Voucher, error) {
	t, err := tx.VoucherTemplate(ctx, run.BusinessID, templateID)
	if err != nil {
		return nil, err
	}
	v := &Voucher{ID: NewID(PrefixVoucher), BusinessID: run.BusinessID, Type: VoucherTypeVoucher, Status: VoucherIssued,
		TemplateID: &t.ID, Title: t.Title, Description: t.Description, RedeemCodeFormats: t.RedeemCodeFormats,
		CustomerID: run.CustomerID, CreatedAt: now}
	if v.RedeemCodeFormats == nil {
		v.RedeemCodeFormats = append([]string(nil), RedeemCodeFormats...)
	}
	if t.ValidDays != nil {
		exp := now.AddDate(0, 0, *t.ValidDays)
		v.ExpiresAt = &exp
	}
	if err := s.createVoucher(ctx, tx, v, false); err != nil {
		return nil, err
	}
	e := s.newEvent(VoucherIssuedEv, run.BusinessID, nil, now)
	e.Customer, e.Voucher = eventCustomer(rc.Customer), eventVoucher(v, now)
	out.add(e)
	return v, nil
}

// automationMessage renders and records a run's message on the first
// channel that reaches the customer; nil with a reason when none does, the
// cap is reached, or the template is gone.
func (s *Service) automationMessage(ctx context.Context, tx Tx, run *AutomationRun, a *Automation, i int, act AutomationAction, m AudienceMember, rc RenderContext, now time.Time) (*Delivery, string, error) {
	st, err := s.settings(ctx, tx, run.BusinessID)
	if err != nil {
		return nil, "", err
	}
	order := act.Channels
	if order == nil {
		order = st.Messaging.ChannelOrder
	}
	configured, err := s.configuredChannels(ctx, tx, run.BusinessID)
	if err != nil {
		return nil, "", err
	}
	channel := pickChannel(ExpandOrder(order), m.Reach, configured, "")
	if channel == "" {
		return nil, ReasonNoChannel, nil
	}
	if cap := st.Messaging.FrequencyCap; cap != nil {
		recent, err := tx.RecentDeliveries(ctx, run.BusinessID, []string{run.CustomerID}, now.AddDate(0, 0, -cap.PerDays))
		if err != nil {
			return nil, "", err
		}
		if recent[run.CustomerID] >= cap.Max {
			return nil, ReasonFrequencyCap, nil
		}
	}
	t, err := tx.MessageTemplate(ctx, run.BusinessID, *act.TemplateID)
	if ErrorCode(err) == ENotFound {
		return nil, "template_deleted", nil
	}
	if err != nil {
		return nil, "", err
	}
	kind := KindText
	if channel == ChannelEmail {
		kind = KindEmail
	}
	v, ok := SelectVariant(t.Variants, kind, m.Customer.Language, st.DefaultLanguage)
	if !ok {
		return nil, ReasonNoVariant, nil
	}
	r, err := s.renderVariant(ctx, v, rc.Vars())
	if errors.Is(err, ErrTooLong) {
		return nil, ReasonTooLong, nil
	}
	if err != nil {
		return nil, ReasonRenderFailed, nil
	}
	d := &Delivery{ID: NewID(PrefixDelivery), BusinessID: run.BusinessID,
		Source:     fmt.Sprintf("automation:%s:%s:%d", a.ID, run.TriggerKey, i),
		CustomerID: run.CustomerID, Channel: channel, Status: DeliveryPending, CreatedAt: now, UpdatedAt: now,
		Content: MessageContent{Subject: r.Subject, Text: r.Text, HTML: r.HTML}}
	if rc.Card != nil && channel == ChannelPush {
		d.Content.CardID = rc.Card.ID
	}
	return d, "", tx.CreateDelivery(ctx, d)
}

// RelayDueAutomations enqueues pending runs due more than minAge ago (their
// task was lost, or never enqueued) and returns how many.
func (s *Service) RelayDueAutomations(ctx context.Context, minAge time.Duration, batch int) (int, error) {
	if s.automations == nil {
		return 0, nil
	}
	var runs []*AutomationRun
	if err := s.read(ctx, func(tx Tx) error {
		var err error
		runs, err = tx.DueAutomationRuns(ctx, s.clock().Add(-minAge), batch)
		return err
	}); err != nil || len(runs) == 0 {
		return 0, err
	}
	keys := make([]AutomationKey, len(runs))
	for i, r := range runs {
		keys[i] = AutomationKey{BusinessID: r.BusinessID, AutomationID: r.AutomationID, TriggerKey: r.TriggerKey}
	}
	return len(keys), s.automations.EnqueueAutomations(ctx, keys)
}

// DefaultTemplate is a ready-made message template of the embedded set
// (package templates), keyed by the automation it serves.
type DefaultTemplate struct {
	Key      string           `json:"key"`
	Name     string           `json:"name"`
	Variants []MessageVariant `json:"variants"`
}

// defaultAutomations are the four ready-made automations of a new business,
// by the key of their default template.
var defaultAutomations = []struct {
	key, name, trigger string
	voucher            bool
}{
	{"birthday", "Birthday greeting with a gift", string(BirthdayReached), true},
	{"inactivity", "We miss you", string(InactivityTrigger), false},
	{"goal_reached", "Goal reached: congratulations", string(GoalReached), false},
	{"voucher_expiring", "Voucher expiring in 3 days", TriggerVoucherExpiring, false},
}

// seedAutomations gives a new business the default message templates and
// the four ready-made automations, disabled until the business enables
// them; the birthday one issues a "Birthday gift" voucher (valid 30 days).
func (s *Service) seedAutomations(ctx context.Context, tx Tx, b *Business) error {
	if len(s.defaults) == 0 {
		return nil
	}
	now := s.clock()
	byKey := map[string]DefaultTemplate{}
	for _, d := range s.defaults {
		byKey[d.Key] = d
	}
	for _, da := range defaultAutomations {
		d, ok := byKey[da.key]
		if !ok {
			continue
		}
		mt := &MessageTemplate{ID: NewID(PrefixMessageTemplate), BusinessID: b.ID, Name: d.Name, Variants: d.Variants,
			CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateMessageTemplate(ctx, mt); err != nil {
			return err
		}
		a := &Automation{ID: NewID(PrefixAutomation), BusinessID: b.ID, Name: da.name, Trigger: AutomationTrigger{Event: da.trigger},
			Condition: &Audience{}, CreatedAt: now, UpdatedAt: now,
			Actions: []AutomationAction{{Type: ActionSendMessage, TemplateID: &mt.ID}}}
		if da.voucher {
			days := 30
			vt := &VoucherTemplate{ID: NewID(PrefixVoucherTemplate), BusinessID: b.ID, Title: "Birthday gift",
				RedeemCodeFormats: append([]string(nil), RedeemCodeFormats...), ValidDays: &days, CreatedAt: now}
			if err := tx.CreateVoucherTemplate(ctx, vt); err != nil {
				return err
			}
			a.Actions = append([]AutomationAction{{Type: ActionIssueVoucher, VoucherTemplateID: &vt.ID}}, a.Actions...)
		}
		if err := tx.CreateAutomation(ctx, a); err != nil {
			return err
		}
	}
	return nil
}
