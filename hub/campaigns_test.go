package hub_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
	"github.com/7loc/hub/templates"
)

// messagingFixture is a fixture whose service renders templates and has a
// secret key, with email and Telegram configured.
type messagingFixture struct {
	*fixture
	biz string
}

func newMessagingFixture(t *testing.T, st *sqlstore.Store) *messagingFixture {
	t.Helper()
	f := newFixture(t, st)
	m := &messagingFixture{fixture: f, biz: f.pr.Business.ID}
	m.useStore(st)
	for provider, cfg := range map[string]map[string]any{
		"email":    {"host": "smtp.test", "from": "cafe@example.com"},
		"telegram": {"bot_token": "123:abc", "bot_username": "cafe_bot"},
	} {
		if _, err := m.svc.PutChannelConfig(f.ctx, m.biz, provider, cfg); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// messagingConfig is the messaging fixture's service configuration over st.
func (m *messagingFixture) messagingConfig(st hub.Store) hub.Config {
	return hub.Config{Store: st, Publisher: m.pub, Now: m.clock, PublicURL: "https://hub.test",
		SecretKey: make([]byte, 32), Renderer: templates.New(templates.Options{})}
}

// useStore makes the fixture's service work on st (the fixture's store, or
// one that watches it).
func (m *messagingFixture) useStore(st hub.Store) {
	m.t.Helper()
	svc, err := hub.NewService(m.messagingConfig(st))
	if err != nil {
		m.t.Fatal(err)
	}
	m.svc = svc
}

// customer creates a customer with an email; consent lists the channels
// granted; telegram links a chat.
func (m *messagingFixture) customer(i int, consent []string, telegram bool) *hub.Customer {
	m.t.Helper()
	card := m.card(fmt.Sprintf("c%05d@example.com", i))
	grant := map[string]bool{}
	for _, ch := range consent {
		grant[ch] = true
	}
	name := fmt.Sprintf("Customer %d", i)
	c, err := m.svc.UpdateCustomer(m.ctx, m.biz, card.Customer.ID, hub.CustomerPatch{Name: &name, Consent: grant})
	if err != nil {
		m.t.Fatal(err)
	}
	if telegram {
		err := m.store.Write(m.ctx, func(tx hub.Tx) error {
			return tx.PutContact(m.ctx, &hub.Contact{BusinessID: m.biz, CustomerID: c.ID, Channel: hub.ChannelTelegram,
				Address: fmt.Sprint(1000 + i), LinkedAt: m.clock(), Reachable: true})
		})
		if err != nil {
			m.t.Fatal(err)
		}
	}
	return c
}

// deliver settles a delivery as a provider would: sent, or refused for good
// when fail says so.
func (m *messagingFixture) deliver(k hub.DeliveryKey, fail func(*hub.Outgoing) bool) {
	m.t.Helper()
	out, err := m.svc.ClaimSend(m.ctx, k)
	if err != nil {
		m.t.Fatal(err)
	}
	if out == nil {
		return
	}
	var sendErr error
	if fail != nil && fail(out) {
		sendErr = &hub.SendError{Kind: hub.SendPermanent, Reason: "blocked", Unreachable: true, Err: errors.New("blocked")}
	}
	if _, err := m.svc.FinishSend(m.ctx, out, hub.Receipt{ProviderMessageID: "p-" + k.ID}, sendErr, false); err != nil {
		m.t.Fatal(err)
	}
}

// run steps a campaign as owner until it stops, delivering what each step
// hands out; it returns the steps taken.
func (m *messagingFixture) run(id, owner string, fail func(*hub.Outgoing) bool, maxSteps int) []hub.StepAction {
	m.t.Helper()
	var actions []hub.StepAction
	for range maxSteps {
		step, err := m.svc.CampaignStep(m.ctx, m.biz, id, owner)
		if err != nil {
			m.t.Fatal(err)
		}
		actions = append(actions, step.Action)
		for _, k := range step.Deliveries {
			m.deliver(k, fail)
		}
		if step.Action == hub.StepStop || step.Action == hub.StepHold {
			return actions
		}
	}
	m.t.Fatalf("campaign still running after %d steps", maxSteps)
	return nil
}

func (m *messagingFixture) campaign(order []string, variants []hub.MessageVariant) *hub.Campaign {
	m.t.Helper()
	c, err := m.svc.CreateCampaign(m.ctx, m.biz, hub.CampaignInput{Name: ptr("Spring"), Audience: json.RawMessage(`{"all": []}`),
		Channels: order, Message: &hub.CampaignMessage{Variants: variants}})
	if err != nil {
		m.t.Fatal(err)
	}
	return c
}

var textAndEmail = []hub.MessageVariant{
	{Language: "en", Kind: hub.KindText, Text: "Hi {{ customer.name | default: \"friend\" }}, {{ card.stamps_left }} to go"},
	{Language: "en", Kind: hub.KindEmail, Subject: "Spring at {{ business.name }}", HTML: "<p>Hi {{ customer.name }}</p>"},
}

// campaignDeliveries lists every delivery of a campaign.
func (m *messagingFixture) campaignDeliveries(id string) []*hub.Delivery {
	m.t.Helper()
	var all []*hub.Delivery
	pg := hub.Page{Limit: 100}
	for {
		ds, next, err := m.svc.Deliveries(m.ctx, hub.DeliveryFilter{BusinessID: m.biz, Source: hub.CampaignSource(id), Page: pg})
		if err != nil {
			m.t.Fatal(err)
		}
		all = append(all, ds...)
		if next == nil {
			return all
		}
		pg.Cursor = *next
	}
}

func TestCampaignSendsOnceWithFallbackCapAndOneEvent(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		m := newMessagingFixture(t, st)
		const n = 1150 // more than two walk batches
		var blocked = map[string]bool{}
		for i := range n {
			switch {
			case i%23 == 0: // no consent anywhere: no channel
				m.customer(i, nil, false)
			case i%5 == 0: // Telegram, which refuses some of them: they fall back to email
				c := m.customer(i, []string{"telegram", "email"}, true)
				if i%10 == 0 {
					blocked[c.ID] = true
				}
			default:
				m.customer(i, []string{"email"}, false)
			}
		}
		// A customer already messaged this week is over a cap of one.
		capped := m.customer(n, []string{"email"}, false)
		if _, _, err := m.svc.QueueMessage(m.ctx, hub.MessageRequest{BusinessID: m.biz, Source: "earlier", CustomerID: capped.ID,
			Channel: hub.ChannelEmail, Content: hub.MessageContent{Text: "earlier"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.svc.UpdateSettings(m.ctx, m.biz, json.RawMessage(`{"messaging": {"frequency_cap": {"max": 1, "per_days": 7}}}`)); err != nil {
			t.Fatal(err)
		}
		c := m.campaign([]string{"telegram", "email"}, textAndEmail)
		if c, err := m.svc.SendCampaign(m.ctx, m.biz, c.ID); err != nil || c.Status != hub.CampaignStatusSending {
			t.Fatalf("send: %v %v", c, err)
		}
		fail := func(o *hub.Outgoing) bool {
			return o.Delivery.Channel == hub.ChannelTelegram && blocked[o.Delivery.CustomerID]
		}
		m.run(c.ID, "runner-1", fail, 100)

		got, err := m.svc.CampaignByID(m.ctx, m.biz, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		noChannel := (n + 22) / 23
		want := hub.CampaignStats{Audience: n + 1, Sent: n - noChannel, Failed: 0,
			Skipped: map[string]int{hub.ReasonNoChannel: noChannel, hub.ReasonFrequencyCap: 1}}
		if d := cmp.Diff(want, got.Stats); d != "" || got.Status != hub.CampaignStatusSent {
			t.Fatalf("status %s, stats (-want +got):\n%s", got.Status, d)
		}
		// Every customer got the campaign at most once; the blocked ones on email.
		sent := map[string]string{}
		for _, d := range m.campaignDeliveries(c.ID) {
			if d.Status != hub.DeliverySent {
				if !(d.Status == hub.DeliveryFailed && blocked[d.CustomerID] && d.Channel == hub.ChannelTelegram) {
					t.Errorf("delivery %s to %s on %s is %s (%s)", d.ID, d.CustomerID, d.Channel, d.Status, d.Error)
				}
				continue
			}
			if prev, dup := sent[d.CustomerID]; dup {
				t.Errorf("customer %s got the campaign twice (%s and %s)", d.CustomerID, prev, d.Channel)
			}
			sent[d.CustomerID] = d.Channel
		}
		for id := range blocked {
			if sent[id] != hub.ChannelEmail {
				t.Errorf("blocked customer %s: sent on %q, want the email fallback", id, sent[id])
			}
		}
		// One campaign_sent event with the totals; stepping again adds nothing.
		m.run(c.ID, "runner-2", nil, 3)
		evs, _, err := m.svc.Events(m.ctx, hub.EventFilter{BusinessID: m.biz, Type: hub.CampaignSent, Page: hub.Page{Limit: 10}})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 {
			t.Fatalf("%d campaign_sent events, want 1", len(evs))
		}
		var ev hub.Event
		if err := json.Unmarshal(evs[0].Payload, &ev); err != nil {
			t.Fatal(err)
		}
		wantEv := &hub.EventCampaign{ID: c.ID, Name: "Spring", Channels: []string{"telegram", "email"}, Audience: "all customers",
			Sent: want.Sent, Failed: 0, Skipped: noChannel + 1}
		if d := cmp.Diff(wantEv, ev.Campaign); d != "" {
			t.Errorf("campaign_sent (-want +got):\n%s", d)
		}
		// The recipient list shows each reason.
		rs, _, err := m.svc.CampaignRecipients(m.ctx, m.biz, c.ID, hub.RecipientSkipped, hub.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != noChannel+1 {
			t.Errorf("%d skipped recipients, want %d", len(rs), noChannel+1)
		}
	})
}

func TestCampaignRunnerTakeoverAfterCrashDuplicatesNothing(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		m := newMessagingFixture(t, st)
		for i := range 1200 {
			m.customer(i, []string{"email"}, false)
		}
		c := m.campaign(nil, textAndEmail)
		if _, err := m.svc.SendCampaign(m.ctx, m.biz, c.ID); err != nil {
			t.Fatal(err)
		}
		// Runner A walks one batch and "dies" with its deliveries unsent.
		step, err := m.svc.CampaignStep(m.ctx, m.biz, c.ID, "A")
		if err != nil || step.Action != hub.StepSend || len(step.Deliveries) != hub.CampaignBatch {
			t.Fatalf("first step: %v %d deliveries, %v", step.Action, len(step.Deliveries), err)
		}
		lost := step.Deliveries
		// While A's lease holds, another runner does nothing.
		if step, err := m.svc.CampaignStep(m.ctx, m.biz, c.ID, "B"); err != nil || step.Action != hub.StepStop || len(step.Deliveries) != 0 {
			t.Fatalf("second runner during the lease: %v %v", step, err)
		}
		refs, err := m.svc.CampaignsToRun(m.ctx, 10)
		if err != nil || len(refs) != 0 {
			t.Fatalf("campaigns to run during the lease: %v %v", refs, err)
		}
		m.advance(hub.CampaignLease + time.Second)
		refs, err = m.svc.CampaignsToRun(m.ctx, 10)
		if err != nil || len(refs) != 1 || refs[0].ID != c.ID {
			t.Fatalf("campaigns to run after the lease: %v %v", refs, err)
		}
		// B takes over: the lost deliveries are pending and handed out again.
		keys, err := m.svc.RequeueCampaign(m.ctx, m.biz, c.ID)
		if err != nil || len(keys) != len(lost) {
			t.Fatalf("requeue: %d keys, %v", len(keys), err)
		}
		for _, k := range keys {
			m.deliver(k, nil)
		}
		// A's late send of a delivery B already sent is refused by the ledger.
		if out, err := m.svc.ClaimSend(m.ctx, lost[0]); err != nil || out != nil {
			t.Fatalf("claim of a sent delivery: %v %v", out, err)
		}
		m.run(c.ID, "B", nil, 20)
		got, err := m.svc.CampaignByID(m.ctx, m.biz, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != hub.CampaignStatusSent || got.Stats.Audience != 1200 || got.Stats.Sent != 1200 {
			t.Fatalf("after takeover: %s %+v", got.Status, got.Stats)
		}
		if ds := m.campaignDeliveries(c.ID); len(ds) != 1200 {
			t.Fatalf("%d deliveries, want one per customer (1200)", len(ds))
		}
	})
}

func TestCampaignPauseResumeCancel(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		m := newMessagingFixture(t, st)
		for i := range 1100 {
			m.customer(i, []string{"email"}, false)
		}
		c := m.campaign(nil, textAndEmail)
		if _, err := m.svc.SendCampaign(m.ctx, m.biz, c.ID); err != nil {
			t.Fatal(err)
		}
		step, err := m.svc.CampaignStep(m.ctx, m.biz, c.ID, "A")
		if err != nil || step.Action != hub.StepSend {
			t.Fatalf("first step: %v %v", step.Action, err)
		}
		if _, err := m.svc.PauseCampaign(m.ctx, m.biz, c.ID); err != nil {
			t.Fatal(err)
		}
		// Paused: deliveries already handed out wait, the runner stops.
		out, err := m.svc.PeekSend(m.ctx, step.Deliveries[0])
		if err != nil || out == nil || !out.HoldUntil.After(m.clock()) {
			t.Fatalf("peek of a paused campaign's delivery: %+v %v", out, err)
		}
		if s, err := m.svc.CampaignStep(m.ctx, m.biz, c.ID, "A"); err != nil || s.Action != hub.StepStop {
			t.Fatalf("step while paused: %v %v", s.Action, err)
		}
		if _, err := m.svc.SendCampaign(m.ctx, m.biz, c.ID); hub.ErrorCode(err) != hub.EConflict {
			t.Fatalf("send of a paused campaign: %v, want conflict", err)
		}
		if _, err := m.svc.ResumeCampaign(m.ctx, m.biz, c.ID); err != nil {
			t.Fatal(err)
		}
		out, err = m.svc.PeekSend(m.ctx, step.Deliveries[0])
		if err != nil || out == nil || !out.HoldUntil.IsZero() {
			t.Fatalf("peek after resume: %+v %v", out, err)
		}
		for _, k := range step.Deliveries[:100] {
			m.deliver(k, nil)
		}
		got, err := m.svc.CancelCampaign(m.ctx, m.biz, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Cancelled: the 400 handed out but unsent fail as cancelled, the
		// rest of the audience is never walked, nothing more is sent.
		want := hub.CampaignStats{Audience: hub.CampaignBatch, Sent: 100, Failed: hub.CampaignBatch - 100, Skipped: map[string]int{}}
		if d := cmp.Diff(want, got.Stats); d != "" || got.Status != hub.CampaignStatusCancelled {
			t.Fatalf("status %s, stats (-want +got):\n%s", got.Status, d)
		}
		if out, err := m.svc.ClaimSend(m.ctx, step.Deliveries[200]); err != nil || out != nil {
			t.Fatalf("claim after cancel: %+v %v", out, err)
		}
		if s, err := m.svc.CampaignStep(m.ctx, m.biz, c.ID, "A"); err != nil || s.Action != hub.StepStop || len(s.Deliveries) != 0 {
			t.Fatalf("step after cancel: %+v %v", s, err)
		}
		if _, err := m.svc.ResumeCampaign(m.ctx, m.biz, c.ID); hub.ErrorCode(err) != hub.EConflict {
			t.Fatalf("resume after cancel: %v, want conflict", err)
		}
	})
}

func TestQuietHoursHoldCampaignsAndMessagesButNotTransactional(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		m := newMessagingFixture(t, st)
		cust := m.customer(1, []string{"email"}, false)
		// 12:00 UTC is 19:00 in Bangkok: inside 18:00-08:00 quiet hours, which end at 01:00 UTC.
		if _, err := m.svc.UpdateSettings(m.ctx, m.biz, json.RawMessage(
			`{"timezone": "Asia/Bangkok", "messaging": {"quiet_hours": {"start": "18:00", "end": "08:00"}}}`)); err != nil {
			t.Fatal(err)
		}
		end := time.Date(2026, 5, 12, 1, 0, 0, 0, time.UTC)
		c := m.campaign(nil, textAndEmail)
		if _, err := m.svc.SendCampaign(m.ctx, m.biz, c.ID); err != nil {
			t.Fatal(err)
		}
		step, err := m.svc.CampaignStep(m.ctx, m.biz, c.ID, "A")
		if err != nil || step.Action != hub.StepHold || !step.Until.Equal(end) {
			t.Fatalf("step in quiet hours: %+v %v, want hold until %s", step, err, end)
		}
		// The held lease keeps the tick from starting runners meanwhile.
		if refs, err := m.svc.CampaignsToRun(m.ctx, 10); err != nil || len(refs) != 0 {
			t.Fatalf("campaigns to run in quiet hours: %v %v", refs, err)
		}
		for _, tc := range []struct {
			transactional bool
			hold          time.Time
		}{{false, end}, {true, time.Time{}}} {
			d, err := m.svc.SendMessage(m.ctx, m.biz, hub.MessageInput{CustomerID: &cust.ID, Text: ptr("Your code is 1234"),
				Transactional: &tc.transactional})
			if err != nil {
				t.Fatal(err)
			}
			out, err := m.svc.PeekSend(m.ctx, hub.DeliveryKey{BusinessID: m.biz, ID: d.ID})
			if err != nil || out == nil || !out.HoldUntil.Equal(tc.hold) {
				t.Errorf("transactional %v: hold until %v (%v), want %v", tc.transactional, out, err, tc.hold)
			}
		}
		m.advance(13 * time.Hour) // 01:00 UTC, 08:00 in Bangkok
		if actions := m.run(c.ID, "B", nil, 10); actions[len(actions)-1] != hub.StepStop {
			t.Fatalf("after quiet hours: %v", actions)
		}
		got, err := m.svc.CampaignByID(m.ctx, m.biz, c.ID)
		if err != nil || got.Status != hub.CampaignStatusSent || got.Stats.Sent != 1 {
			t.Fatalf("after quiet hours: %+v %v", got, err)
		}
	})
}

func TestSendMessagePicksTheFirstReachableChannelAndRenders(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		m := newMessagingFixture(t, st)
		both := m.customer(1, []string{"telegram", "email"}, true)
		emailOnly := m.customer(2, []string{"email"}, false)
		nothing := m.customer(3, nil, false)
		tpl, err := m.svc.CreateMessageTemplate(m.ctx, m.biz, hub.MessageTemplateInput{Name: ptr("Code"), Variants: []hub.MessageVariant{
			{Language: "en", Kind: hub.KindText, Text: "{{ customer.name }}: {{ data.code }}"},
			{Language: "en", Kind: hub.KindEmail, Subject: "Code {{ data.code }}", HTML: "<b>{{ customer.name }}</b> {{ data.code }}"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name    string
			in      hub.MessageInput
			channel string
			content hub.MessageContent
			code    hub.Code
		}{
			{"messengers first", hub.MessageInput{CustomerID: &both.ID, TemplateID: &tpl.ID, Data: json.RawMessage(`{"code": "X1"}`)},
				hub.ChannelTelegram, hub.MessageContent{Text: "Customer 1: X1"}, ""},
			{"explicit order", hub.MessageInput{CustomerID: &both.ID, TemplateID: &tpl.ID, Channels: []string{"email"}, Data: json.RawMessage(`{"code": "<X2>"}`)},
				hub.ChannelEmail, hub.MessageContent{Subject: "Code <X2>", HTML: "<b>Customer 1</b> &lt;X2&gt;", Text: "Customer 1 <X2>"}, ""},
			{"falls through to email", hub.MessageInput{Customer: &hub.ContactInput{Email: ptr("C00002@example.com")}, Text: ptr("hello")},
				hub.ChannelEmail, hub.MessageContent{Subject: "Café", Text: "hello"}, ""},
			{"no channel", hub.MessageInput{CustomerID: &nothing.ID, Text: ptr("hello")}, "", hub.MessageContent{}, hub.EValidation},
			{"both text and template", hub.MessageInput{CustomerID: &emailOnly.ID, Text: ptr("x"), TemplateID: &tpl.ID}, "", hub.MessageContent{}, hub.EValidation},
			{"unknown customer", hub.MessageInput{CustomerID: ptr("c_01JTZ6W1Q9M3N4R5S6T7V8W9XY"), Text: ptr("x")}, "", hub.MessageContent{}, hub.ENotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				d, err := m.svc.SendMessage(m.ctx, m.biz, tc.in)
				if tc.code != "" {
					wantCode(t, err, tc.code)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if d.Channel != tc.channel || d.Status != hub.DeliveryPending {
					t.Errorf("channel %s status %s, want %s pending", d.Channel, d.Status, tc.channel)
				}
				if diff := cmp.Diff(tc.content, d.Content); diff != "" {
					t.Errorf("content (-want +got):\n%s", diff)
				}
			})
		}
	})
}
