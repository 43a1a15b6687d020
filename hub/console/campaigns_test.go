package console_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/console"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// messaging configures the business's email channel, adds n customers
// with an email and consent to it, and returns a message template.
func (h *harness) messaging(n int) *hub.MessageTemplate {
	h.t.Helper()
	if _, err := h.svc.PutChannelConfig(h.ctx, h.business.ID, "email",
		map[string]any{"host": "smtp.test", "from": "cafe@example.com"}); err != nil {
		h.t.Fatal(err)
	}
	pr := h.principal(h.business.ID, "campaigner")
	for i := range n {
		card := h.customer(pr, fmt.Sprintf("guest%02d@example.com", i), fmt.Sprintf("Guest %d", i))
		if _, err := h.svc.UpdateCustomer(h.ctx, h.business.ID, card.CustomerID,
			hub.CustomerPatch{Consent: map[string]bool{"email": true}}); err != nil {
			h.t.Fatal(err)
		}
	}
	mt, err := h.svc.CreateMessageTemplate(h.ctx, h.business.ID, hub.MessageTemplateInput{Name: ptr("Spring offer"),
		Variants: []hub.MessageVariant{
			{Language: "en", Kind: hub.KindText, Text: "Spring at {{ business.name }}"},
			{Language: "en", Kind: hub.KindEmail, Subject: "Spring", HTML: "<p>Spring at {{ business.name }}</p>"},
		}})
	if err != nil {
		h.t.Fatal(err)
	}
	return mt
}

// runCampaign steps a campaign to its end as a worker would, with a fake
// channel that accepts every message; after each message it calls each,
// when not nil.
func (h *harness) runCampaign(id string, each func()) {
	h.t.Helper()
	for range 1000 {
		step, err := h.svc.CampaignStep(h.ctx, h.business.ID, id, "test-runner")
		if err != nil {
			h.t.Error(err)
			return
		}
		for _, k := range step.Deliveries {
			out, err := h.svc.ClaimSend(h.ctx, k)
			if err != nil {
				h.t.Error(err)
				return
			}
			if out == nil {
				continue
			}
			if _, err := h.svc.FinishSend(h.ctx, out, hub.Receipt{ProviderMessageID: "fake-" + k.ID}, nil, false); err != nil {
				h.t.Error(err)
				return
			}
			if each != nil {
				each()
			}
		}
		if step.Action == hub.StepStop || step.Action == hub.StepHold {
			return
		}
	}
	h.t.Error("the campaign did not end in 1,000 steps")
}

// campaignIDRE finds the campaign of a redirect.
var campaignIDRE = regexp.MustCompile(`^/console/campaigns/(cmp_[0-9A-Za-z]+)\?done=saved$`)

// compose posts the composer and returns the new campaign's id.
func (b *browser) compose(form url.Values) string {
	b.h.t.Helper()
	p := b.post("/console/campaigns", form)
	m := campaignIDRE.FindStringSubmatch(p.header.Get("Location"))
	if p.status != http.StatusSeeOther || m == nil {
		b.h.t.Fatalf("compose: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	return m[1]
}

// noInline fails when a page has inline script or style.
func noInline(t *testing.T, name string, p page) {
	t.Helper()
	if m := inlineScript.FindString(p.body); m != "" {
		t.Errorf("%s: inline script or style %q", name, m)
	}
}

func TestCampaignsList(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		mt := h.messaging(0)
		const n = 30
		var ids []string
		for i := range n {
			name := fmt.Sprintf("Campaign %02d", i)
			if i == n-1 {
				name = "<script>alert(1)</script>"
			}
			c, err := h.svc.CreateCampaign(h.ctx, h.business.ID, hub.CampaignInput{Name: &name,
				Audience: json.RawMessage(`{"all": []}`), TemplateID: &mt.ID})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, c.ID)
		}
		if _, err := h.svc.SendCampaign(h.ctx, h.business.ID, ids[0]); err != nil {
			t.Fatal(err)
		}
		b := h.browser()
		b.login("owner@example.com")
		p := b.get("/console/campaigns")
		want(t, p, http.StatusOK)
		noInline(t, "campaigns", p)
		contains(t, p, `aria-current="page">Campaigns</a>`, `href="/console/campaigns/new">New campaign</a>`,
			"&lt;script&gt;alert(1)&lt;/script&gt;", `href="/console/campaigns/`+ids[n-1]+`"`, ">Draft</span>",
			`href="/console/campaigns?cursor=`)
		if strings.Contains(p.body, "<script>alert(1)") {
			t.Error("the campaign's name is not escaped")
		}
		if got := strings.Count(p.body, `<a href="/console/campaigns/cmp_`); got != 25 {
			t.Errorf("the first page lists %d campaigns, want 25", got)
		}
		// The oldest campaigns, the one sending among them, are on page 2.
		next := regexp.MustCompile(`href="/console/campaigns\?cursor=(cmp_[0-9A-Za-z]+)"`).FindStringSubmatch(p.body)
		p = b.get("/console/campaigns?cursor=" + next[1])
		want(t, p, http.StatusOK)
		contains(t, p, ids[0], ">Sending</span>")
		if got := strings.Count(p.body, `<a href="/console/campaigns/cmp_`); got != 5 {
			t.Errorf("the second page lists %d campaigns, want 5", got)
		}
		if strings.Contains(p.body, "?cursor=") {
			t.Error("the last page links to a next one")
		}
		contains(t, b.get("/console/campaigns?lang=th"), "<h1>แคมเปญ</h1>", ">แคมเปญใหม่</a>")
		contains(t, b.get("/console/campaigns?lang=hi"), "<h1>अभियान</h1>", ">नया अभियान</a>")
	})
}

func TestCampaignComposer(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		mt := h.messaging(2)
		b := h.browser()
		b.login("owner@example.com")

		p := b.get("/console/campaigns/new")
		want(t, p, http.StatusOK)
		noInline(t, "composer", p)
		contains(t, p, `<label for="name">Name</label>`, `<label for="template_id">Message template</label>`,
			`<option value="`+mt.ID+`">Spring offer</option>`, `<label for="match">Customers who match</label>`,
			`<label for="cond-0-field">Field</label>`, `<option value="days_since_last_stamp">Days since the last stamp</option>`,
			`<label for="channels">Channel order</label>`, `<label for="send_at">Send at</label>`, "(Asia/Bangkok)",
			`hx-post="/console/campaigns/audience"`, ">Save draft</button>")

		good := func() url.Values {
			return url.Values{"name": {"Spring"}, "template_id": {mt.ID}, "match": {"all"}, "rows": {"3"},
				"cond.0.field": {"stamps"}, "cond.0.op": {"gte"}, "cond.0.value": {"0"},
				"cond.1.field": {"consent"}, "cond.1.op": {"in"}, "cond.1.value": {"email, telegram"},
				"cond.2.field": {""}, "cond.2.op": {"eq"}, "cond.2.value": {""},
				"channels": {"email, messengers"}, "when": {"later"}, "send_at": {"2026-05-20T10:30"}}
		}
		tests := []struct {
			name   string
			change map[string]string
			status int
			want   []string
		}{
			{"a number that is not one", map[string]string{"cond.0.value": "many"}, http.StatusUnprocessableEntity,
				[]string{`id="cond-0-error">must be`, `value="many"`, `aria-invalid="true"`}},
			{"an unknown channel", map[string]string{"channels": "email, fax"}, http.StatusUnprocessableEntity,
				[]string{`id="channels-error">must be one of messengers`}},
			{"no template", map[string]string{"template_id": ""}, http.StatusUnprocessableEntity,
				[]string{`id="template_id-error">a template_id or a message is required`}},
			{"no name", map[string]string{"name": " "}, http.StatusUnprocessableEntity,
				[]string{`id="name-error">must not be empty`}},
			{"a time that is no time", map[string]string{"send_at": "next Tuesday"}, http.StatusUnprocessableEntity,
				[]string{`id="send_at-error">must be a date and time`, "The campaign was not saved"}},
			{"bad JSON filter", map[string]string{"audience_json": `{"not": {"field": "shoe_size", "op": "eq", "value": 1}}`},
				http.StatusUnprocessableEntity, []string{`id="audience-error">must be one of language`}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				form := good()
				for k, v := range tt.change {
					form.Set(k, v)
				}
				p := b.post("/console/campaigns", form)
				want(t, p, tt.status)
				contains(t, p, tt.want...)
				noInline(t, tt.name, p)
				cs, _, err := h.svc.Campaigns(h.ctx, h.business.ID, hub.Page{})
				if err != nil || len(cs) != 0 {
					t.Fatalf("a refused form created %d campaigns (%v)", len(cs), err)
				}
			})
		}

		// Adding a row or counting saves nothing.
		form := good()
		form.Set("action", "add")
		p = b.post("/console/campaigns", form)
		want(t, p, http.StatusOK)
		contains(t, p, `name="cond.3.field"`, `value="email, telegram"`)
		form.Set("action", "count")
		p = b.post("/console/campaigns", form)
		want(t, p, http.StatusOK)
		contains(t, p, "Audience: 2", "<li>Email: 2</li>", "<li>Not reachable: 0</li>")
		if cs, _, _ := h.svc.Campaigns(h.ctx, h.business.ID, hub.Page{}); len(cs) != 0 {
			t.Fatalf("adding a row or counting created %d campaigns", len(cs))
		}

		id := b.compose(good())
		c, err := h.svc.CampaignByID(h.ctx, h.business.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		audience, _ := json.Marshal(c.Audience)
		bangkok, _ := time.LoadLocation("Asia/Bangkok")
		got := map[string]any{"name": c.Name, "status": c.Status, "template": deref(c.TemplateID),
			"audience": string(audience), "channels": c.Channels, "send_at": c.SendAt.In(bangkok).Format(time.DateTime)}
		wantCampaign := map[string]any{"name": "Spring", "status": "draft", "template": mt.ID,
			"audience": `{"all":[{"field":"stamps","op":"gte","value":0},{"field":"consent","op":"in","value":["email","telegram"]}]}`,
			"channels": []string{"email", "messengers"}, "send_at": "2026-05-20 10:30:00"}
		if d := cmp.Diff(wantCampaign, got); d != "" {
			t.Errorf("stored campaign (-want +got):\n%s", d)
		}

		// The draft's page and its composer show what was saved.
		p = b.get("/console/campaigns/" + id + "?done=saved")
		want(t, p, http.StatusOK)
		contains(t, p, "Campaign saved.", "<h1>Spring</h1>", "<dd>Spring offer</dd>", "<dd>email, messengers</dd>",
			"2026-05-20 10:30 &#43;07", `href="/console/campaigns/`+id+`/edit"`, ">Send</button>")
		p = b.get("/console/campaigns/" + id + "/edit")
		want(t, p, http.StatusOK)
		contains(t, p, `action="/console/campaigns/`+id+`/edit"`, `value="Spring"`, `value="2026-05-20T10:30"`,
			`<option value="stamps" selected>`, `<option value="in" selected>`, `value="email, telegram"`,
			`value="later" checked`)

		// Edit: any of one condition, sent now.
		form = url.Values{"name": {"Spring <b>sale</b>"}, "template_id": {mt.ID}, "match": {"any"}, "rows": {"1"},
			"cond.0.field": {"language"}, "cond.0.op": {"eq"}, "cond.0.value": {"en"}, "when": {"now"}}
		p = b.post("/console/campaigns/"+id+"/edit", form)
		want(t, p, http.StatusSeeOther)
		c, _ = h.svc.CampaignByID(h.ctx, h.business.ID, id)
		audience, _ = json.Marshal(c.Audience)
		if c.Name != "Spring <b>sale</b>" || string(audience) != `{"any":[{"field":"language","op":"eq","value":"en"}]}` ||
			c.Channels != nil && len(c.Channels) != 2 || c.SendAt == nil || c.SendAt.After(c.CreatedAt) {
			t.Errorf("edited campaign: %q %s %v %v", c.Name, audience, c.Channels, c.SendAt)
		}
		p = b.get("/console/campaigns/" + id)
		contains(t, p, "<h1>Spring &lt;b&gt;sale&lt;/b&gt;</h1>", "<dd>As soon as it is sent</dd>")
		// A tree the builder cannot show is edited as JSON.
		nested := `{"not":{"field":"birthday_month","op":"in","value":[1,2]}}`
		if _, err := h.svc.UpdateCampaign(h.ctx, h.business.ID, id, hub.CampaignInput{Audience: json.RawMessage(nested)}); err != nil {
			t.Fatal(err)
		}
		p = b.get("/console/campaigns/" + id + "/edit")
		contains(t, p, `<details open>`, `{&#34;not&#34;:{&#34;field&#34;:&#34;birthday_month&#34;`)
	})
}

func TestAudienceCountFragment(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		h.messaging(3)
		b := h.browser()
		b.login("owner@example.com")
		tests := []struct {
			name string
			form url.Values
			want []string
		}{
			{"everyone", url.Values{"rows": {"1"}}, []string{"Audience: 3", "<li>Email: 3</li>", "<li>Not reachable: 0</li>"}},
			{"nobody", url.Values{"rows": {"1"}, "cond.0.field": {"stamps"}, "cond.0.op": {"gt"}, "cond.0.value": {"100"}},
				[]string{"Audience: 0", "<li>Not reachable: 0</li>"}},
			{"push only", url.Values{"rows": {"1"}, "channels": {"push"}}, []string{"Audience: 3", "<li>Not reachable: 3</li>"}},
			{"a bad filter", url.Values{"rows": {"1"}, "match": {"any"}, "cond.0.field": {"language"}, "cond.0.op": {"gt"}, "cond.0.value": {"en"}},
				[]string{`<p class="field-error">`, "<code>audience.any[0].op</code> must be one of eq, ne, in"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := b.post("/console/campaigns/audience", tt.form, "HX-Request", "true")
				want(t, p, http.StatusOK)
				contains(t, p, tt.want...)
				if strings.Contains(p.body, "<html") {
					t.Error("the count is a whole page, not a fragment")
				}
			})
		}
	})
}

// TestAudienceCountEstimate: with 600 customers and a sample of 20, the
// live count is an estimate with its margin, per channel too, and a
// "Count exactly" button; the button's full page counts every customer.
// With the sample turned off (below zero), the live count is exact.
func TestAudienceCountEstimate(t *testing.T) {
	for _, tc := range []struct {
		sample    int
		estimated bool
	}{{20, true}, {-1, false}} {
		t.Run(fmt.Sprintf("sample %d", tc.sample), func(t *testing.T) { audienceCountEstimate(t, tc.sample, tc.estimated) })
	}
}

func audienceCountEstimate(t *testing.T, sample int, estimated bool) {
	t.Helper()
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st, func(c *console.Config) { c.AudienceSample = sample })
		h.messaging(1)
		err := st.Write(h.ctx, func(tx hub.Tx) error {
			for i := range 599 {
				c := &hub.Customer{ID: hub.NewID(hub.PrefixCustomer), BusinessID: h.business.ID, Language: "en",
					Email: ptr(fmt.Sprintf("bulk%03d@example.com", i)), CreatedAt: h.clock.Now(), UpdatedAt: h.clock.Now(),
					Consent: map[string]hub.Consent{"email": {Granted: true, Source: "api", At: h.clock.Now()}}}
				if err := tx.CreateCustomer(h.ctx, c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		b := h.browser()
		b.login("owner@example.com")
		form := url.Values{"rows": {"1"}, "channels": {"email"}}
		p := b.post("/console/campaigns/audience", form, "HX-Request", "true")
		want(t, p, http.StatusOK)
		if !estimated {
			contains(t, p, "Audience: 600", "<li>Email: 600</li>")
			if strings.Contains(p.body, "Count exactly") {
				t.Error("an exact count offers to count exactly")
			}
			return
		}
		m := regexp.MustCompile(`Audience: about (\d+) \(± (\d+)\)`).FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("no estimate with a margin in:\n%s", p.body)
		}
		total, _ := strconv.Atoi(m[1])
		margin, _ := strconv.Atoi(m[2])
		if margin <= 0 || total < 600-2*margin || total > 600+2*margin {
			t.Errorf("estimate %d ± %d of 600", total, margin)
		}
		contains(t, p, "<li>Email: about ", `name="action" value="count-exact"`, ">Count exactly</button>")
		form.Set("action", "count-exact")
		p = b.post("/console/campaigns", form)
		want(t, p, http.StatusOK)
		contains(t, p, "Audience: 600", "<li>Email: 600</li>", "<li>Not reachable: 0</li>")
	})
}

// TestCampaignProgressChartReadsTheCounters polls the progress of a
// campaign that is sending: its chart shows the campaign's activity
// counters, though no message of it has ended (it reads no recipient).
func TestCampaignProgressChartReadsTheCounters(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		mt := h.messaging(2)
		b := h.browser()
		b.login("owner@example.com")
		id := b.compose(url.Values{"name": {"Spring"}, "template_id": {mt.ID}, "rows": {"1"}, "channels": {"email"}})
		c, err := h.svc.SendCampaign(h.ctx, h.business.ID, id)
		if err != nil || c.Status != hub.CampaignStatusSending {
			t.Fatalf("send: %v %v", c, err)
		}
		at := c.StartedAt.Unix()
		if err := st.Write(h.ctx, func(tx hub.Tx) error {
			return tx.AddCampaignActivity(h.ctx, []hub.ActivityDelta{
				{BusinessID: h.business.ID, CampaignID: id, Second: at, Sent: 1200, Failed: 30},
				{BusinessID: h.business.ID, CampaignID: id, Second: at + 1, Sent: 34, Failed: 26},
			})
		}); err != nil {
			t.Fatal(err)
		}
		h.clock.advance(3 * time.Second)
		p := b.get("/console/campaigns/" + id + "/progress")
		want(t, p, http.StatusOK)
		contains(t, p, `hx-trigger="every 2s"`, ">Sending</span>", "1234 sent and 56 failed so far.", `<rect class="sent"`)
	})
}

func TestCampaignSendPauseResumeCancel(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		mt := h.messaging(4)
		b := h.browser()
		b.login("owner@example.com")
		id := b.compose(url.Values{"name": {"<script>alert(1)</script>"}, "template_id": {mt.ID}, "rows": {"1"},
			"channels": {"email"}})
		p := b.get("/console/campaigns/" + id)
		contains(t, p, "<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>", `aria-valuenow="0"`, "No messages have been sent yet.")
		if strings.Contains(p.body, "<script>alert(1)") || strings.Contains(p.body, `hx-trigger="every 2s"`) {
			t.Error("a draft's page polls, or the name is not escaped")
		}

		action := func(name string, status int) page {
			t.Helper()
			p := b.post("/console/campaigns/"+id+"/"+name, url.Values{})
			want(t, p, status)
			if status == http.StatusSeeOther && p.header.Get("Location") != "/console/campaigns/"+id+"?done="+name {
				t.Errorf("%s went to %q", name, p.header.Get("Location"))
			}
			return p
		}
		campaignStatus := func() string {
			t.Helper()
			c, err := h.svc.CampaignByID(h.ctx, h.business.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			return c.Status
		}

		action("send", http.StatusSeeOther)
		if s := campaignStatus(); s != hub.CampaignStatusSending {
			t.Fatalf("after send: %s", s)
		}
		p = b.get("/console/campaigns/" + id + "?done=send")
		noInline(t, "campaign", p)
		contains(t, p, "The campaign is on its way.", `hx-get="/console/campaigns/`+id+`/progress" hx-trigger="every 2s"`,
			`role="progressbar"`, ">Sending</span>", ">Pause</button>", ">Cancel</button>")
		action("pause", http.StatusSeeOther)
		p = b.get("/console/campaigns/" + id + "/progress")
		want(t, p, http.StatusOK)
		contains(t, p, ">Paused</span>", ">Resume</button>")
		if strings.Contains(p.body, "hx-trigger") || strings.Contains(p.body, "<html") {
			t.Error("a paused campaign's fragment polls, or is a whole page")
		}
		contains(t, action("send", http.StatusConflict), `role="alert"`, "the campaign is paused; only a draft can be sent")
		action("resume", http.StatusSeeOther)
		if s := campaignStatus(); s != hub.CampaignStatusSending {
			t.Fatalf("after resume: %s", s)
		}
		p = b.get("/console/campaigns/" + id + "/progress")
		contains(t, p, `hx-trigger="every 2s"`, `aria-valuenow="0"`)

		h.runCampaign(id, func() { h.clock.advance(3 * time.Second) })
		p = b.get("/console/campaigns/" + id + "/progress")
		contains(t, p, ">Sent</span>", `aria-valuenow="100"`, "4 of 4 done (100 %)", `<rect class="sent"`,
			"4 sent and 0 failed so far.")
		if strings.Contains(p.body, "hx-trigger") {
			t.Error("a sent campaign's fragment still polls")
		}
		p = b.get("/console/campaigns/" + id)
		contains(t, p, `<span class="badge ok">Sent</span>`)
		if got := strings.Count(p.body, `<a href="/console/customers/c_`); got != 4 {
			t.Errorf("%d recipients listed, want 4", got)
		}
		contains(t, b.get("/console/campaigns/"+id+"?status=failed"), "No recipients yet.")
		p = action("cancel", http.StatusConflict)
		contains(t, p, `role="alert"`, "<h1>&lt;script&gt;")

		// A draft cancels.
		other := b.compose(url.Values{"name": {"Autumn"}, "template_id": {mt.ID}, "rows": {"1"}})
		want(t, b.post("/console/campaigns/"+other+"/cancel", url.Values{}), http.StatusSeeOther)
		contains(t, b.get("/console/campaigns/"+other+"?done=cancel"), "Campaign cancelled.", ">Cancelled</span>")
	})
}

func TestCampaignRecipientsPaged(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		mt := h.messaging(27)
		b := h.browser()
		b.login("owner@example.com")
		id := b.compose(url.Values{"name": {"Big"}, "template_id": {mt.ID}, "rows": {"1"}})
		want(t, b.post("/console/campaigns/"+id+"/send", url.Values{}), http.StatusSeeOther)
		h.runCampaign(id, nil)
		p := b.get("/console/campaigns/" + id)
		if got := strings.Count(p.body, `<a href="/console/customers/c_`); got != 25 {
			t.Errorf("first page: %d recipients, want 25", got)
		}
		next := regexp.MustCompile(`\?status=&amp;cursor=(c_[0-9A-Za-z]+)#recipients`).FindStringSubmatch(p.body)
		if next == nil {
			t.Fatal("no next page of recipients")
		}
		p = b.get("/console/campaigns/" + id + "?cursor=" + next[1])
		if got := strings.Count(p.body, `<a href="/console/customers/c_`); got != 2 {
			t.Errorf("second page: %d recipients, want 2", got)
		}
	})
}

func TestAnotherBusinessCampaignIsNotFound(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		other, _ := h.newBusiness("Other shop", "otherlogin", "other@example.com")
		c, err := h.svc.CreateCampaign(h.ctx, other.ID, hub.CampaignInput{Name: ptr("Theirs"),
			Audience: json.RawMessage(`{"all": []}`), Message: &hub.CampaignMessage{Variants: []hub.MessageVariant{
				{Language: "en", Kind: hub.KindText, Text: "Hello"}}}})
		if err != nil {
			t.Fatal(err)
		}
		b := h.browser()
		b.login("owner@example.com")
		for _, r := range []struct{ method, path string }{
			{"GET", "/console/campaigns/" + c.ID},
			{"GET", "/console/campaigns/" + c.ID + "/edit"},
			{"GET", "/console/campaigns/" + c.ID + "/progress"},
			{"POST", "/console/campaigns/" + c.ID + "/edit"},
			{"POST", "/console/campaigns/" + c.ID + "/send"},
			{"POST", "/console/campaigns/" + c.ID + "/pause"},
			{"POST", "/console/campaigns/" + c.ID + "/resume"},
			{"POST", "/console/campaigns/" + c.ID + "/cancel"},
			{"GET", "/console/campaigns/not-a-campaign"},
			{"POST", "/console/campaigns/" + c.ID + "/explode"},
		} {
			t.Run(r.method+" "+r.path, func(t *testing.T) {
				p := b.do(r.method, r.path, url.Values{"name": {"Mine now"}, "rows": {"1"}})
				want(t, p, http.StatusNotFound)
				contains(t, p, "Page not found.")
				if strings.Contains(p.body, "Theirs") {
					t.Error("the 404 page shows the other business's campaign")
				}
			})
		}
		got, err := h.svc.CampaignByID(h.ctx, other.ID, c.ID)
		if err != nil || got.Status != hub.CampaignStatusDraft || got.Name != "Theirs" {
			t.Errorf("the other business's campaign changed: %+v %v", got, err)
		}
		if strings.Contains(b.get("/console/campaigns").body, c.ID) {
			t.Error("the other business's campaign is listed")
		}
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
