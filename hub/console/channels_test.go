package console_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/console"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// principal returns a till's principal of the business (a new staff login
// with a key).
func (h *harness) principal(businessID, login string) *hub.Principal {
	h.t.Helper()
	if _, err := h.svc.CreateStaff(h.ctx, businessID, hub.StaffInput{Login: login}); err != nil {
		h.t.Fatal(err)
	}
	k, err := h.svc.CreateAPIKey(h.ctx, businessID, hub.APIKeyInput{Login: login})
	if err != nil {
		h.t.Fatal(err)
	}
	pr, err := h.svc.Authenticate(h.ctx, k.Key)
	if err != nil {
		h.t.Fatal(err)
	}
	return pr
}

// customer issues a card of a new template to a customer with the email
// and name, and returns the card.
func (h *harness) customer(pr *hub.Principal, email, name string) *hub.Card {
	h.t.Helper()
	tpl, err := h.svc.CreateCardTemplate(h.ctx, pr.Business.ID, hub.CardTemplateInput{Name: "Coffee " + email,
		Goals: []hub.GoalInput{{Stamps: 5, Reward: hub.RewardInput{Title: "Free coffee"}}}})
	if err != nil {
		h.t.Fatal(err)
	}
	c, _, err := h.svc.IssueCard(h.ctx, pr, hub.IssueCardInput{TemplateID: tpl.ID,
		Customer: hub.CustomerInput{Email: &email, Name: &name}})
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

func TestChannelsPages(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		b := h.browser()
		b.login("owner@example.com")

		p := b.get("/console/channels")
		want(t, p, http.StatusOK)
		contains(t, p, `aria-current="page">Channels</a>`, "<td>Telegram</td>", "<td>Messaging gateway</td>",
			"Not configured", `href="/console/channels/email"`)

		p = b.get("/console/channels/email")
		want(t, p, http.StatusOK)
		contains(t, p, `<label for="host">SMTP host <code>host</code> <span class="hint">(required)</span></label>`,
			`<input id="password" name="password" type="password"`, "not set", `placeholder="587"`,
			`<option value="tls">tls</option>`, ">Save channel</button>", ">Send test</button>")
		if strings.Contains(p.body, "Register webhook") {
			t.Error("email offers webhook registration")
		}

		// Refused: the service's problem at the field; the typed secret is not sent back.
		form := url.Values{"enabled": {"on"}, "host": {"smtp.example.com"}, "password": {"s3cret-pass-1"}, "tls": {"tls"}, "port": {"2525"}}
		p = b.post("/console/channels/email", form)
		want(t, p, http.StatusUnprocessableEntity)
		contains(t, p, `<p class="field-error" id="from-error">is required</p>`, `value="smtp.example.com"`)
		if strings.Contains(p.body, "s3cret-pass-1") {
			t.Error("the refused page shows the typed secret")
		}
		form.Set("port", "-1")
		form.Set("from", "shop@example.com")
		contains(t, b.post("/console/channels/email", form), `id="port-error">must be a positive number</p>`)

		// Saved.
		form.Set("port", "2525")
		p = b.post("/console/channels/email", form)
		want(t, p, http.StatusSeeOther)
		if p.header.Get("Location") != "/console/channels/email?done=channel_saved" {
			t.Fatalf("went to %q", p.header.Get("Location"))
		}
		cfg, err := h.svc.ProviderConfig(h.ctx, h.business.ID, "email")
		if err != nil || cfg.Secrets["password"] != "s3cret-pass-1" || cfg.Settings["from"] != "shop@example.com" ||
			cfg.Settings["port"] != "2525" || cfg.Settings["tls"] != "tls" {
			t.Fatalf("stored %+v, %v", cfg, err)
		}
		p = b.get(p.header.Get("Location"))
		contains(t, p, "The channel is saved.", `<span class="badge ok">set</span> Leave empty to keep it.`,
			`value="shop@example.com"`, `<option value="tls" selected>`, "Remove the stored password")
		if strings.Contains(p.body, "s3cret-pass-1") {
			t.Error("the page shows the stored secret")
		}
		contains(t, b.get("/console/channels"), "<code>password</code>", "Enabled")

		// An empty secret input keeps the stored secret; settings are replaced.
		form.Set("password", "")
		form.Set("from_name", "Café")
		form.Del("tls")
		want(t, b.post("/console/channels/email", form), http.StatusSeeOther)
		cfg, _ = h.svc.ProviderConfig(h.ctx, h.business.ID, "email")
		if cfg.Secrets["password"] != "s3cret-pass-1" || cfg.Settings["from_name"] != "Café" || cfg.Settings["tls"] != "" {
			t.Errorf("after a save without the secret: secret kept %v, settings %v", cfg.Secrets["password"] == "s3cret-pass-1", cfg.Settings)
		}
		// "Remove the stored password" clears it.
		form.Set("clear.password", "on")
		want(t, b.post("/console/channels/email", form), http.StatusSeeOther)
		cfg, _ = h.svc.ProviderConfig(h.ctx, h.business.ID, "email")
		if _, ok := cfg.Secrets["password"]; ok {
			t.Error("the cleared secret is still stored")
		}
		// Disabled.
		form.Del("clear.password")
		form.Del("enabled")
		want(t, b.post("/console/channels/email", form), http.StatusSeeOther)
		contains(t, b.get("/console/channels"), `<span class="badge bad">Disabled</span>`)
		form.Set("enabled", "on")
		want(t, b.post("/console/channels/email", form), http.StatusSeeOther)

		// A test message: the same rules and messages as the API, then its delivery.
		card := h.customer(h.principal(h.business.ID, "till"), "ann@example.com", "Ann")
		p = b.post("/console/channels/email/test", url.Values{})
		want(t, p, http.StatusUnprocessableEntity)
		contains(t, p, `id="customer_id-error">is required</p>`)
		p = b.post("/console/channels/email/test", url.Values{"customer_id": {card.CustomerID}, "subject": {"Hello"}})
		want(t, p, http.StatusSeeOther)
		loc := p.header.Get("Location")
		if !strings.HasPrefix(loc, "/console/channels/email?done=test_queued&delivery=dlv_") {
			t.Fatalf("went to %q", loc)
		}
		ds, _, err := h.svc.Deliveries(h.ctx, hub.DeliveryFilter{BusinessID: h.business.ID, CustomerID: card.CustomerID, Page: hub.Page{Limit: 10}})
		if err != nil || len(ds) != 1 || ds[0].Content.Subject != "Hello" || ds[0].Content.Text != "This is a test message from Café." ||
			!ds[0].Transactional || !strings.HasPrefix(ds[0].Source, "test:") {
			t.Fatalf("deliveries %+v, %v", ds, err)
		}
		contains(t, b.get(loc), "The test message is queued", "<code>"+ds[0].ID+"</code>", ds[0].Status)
		// By email or phone too; unknown ones and bad phones at the field.
		want(t, b.post("/console/channels/email/test", url.Values{"customer_id": {"ANN@example.com"}}), http.StatusSeeOther)
		ds, _, _ = h.svc.Deliveries(h.ctx, hub.DeliveryFilter{BusinessID: h.business.ID, CustomerID: card.CustomerID, Page: hub.Page{Limit: 10}})
		if len(ds) != 2 {
			t.Errorf("a test by email queued %d deliveries to the customer, want 2 in all", len(ds))
		}
		p = b.post("/console/channels/email/test", url.Values{"customer_id": {"nobody@example.com"}})
		want(t, p, http.StatusNotFound)
		contains(t, p, "customer not found", `id="customer_id-error">no customer has this email</p>`, `value="nobody@example.com"`)
		p = b.post("/console/channels/email/test", url.Values{"customer_id": {"12"}})
		want(t, p, http.StatusUnprocessableEntity)
		contains(t, p, `id="customer_id-error">must be a phone number in international format</p>`)
		p = b.post("/console/channels/gateway/test", url.Values{"customer_id": {card.CustomerID}})
		want(t, p, http.StatusUnprocessableEntity)
		contains(t, p, `id="channel-error">is required for the gateway: whatsapp, telegram or viber</p>`)

		// Webhooks: Telegram registers; polling mode is refused with the hub's message.
		p = b.get("/console/channels/telegram")
		contains(t, p, ">Register webhook</button>", `<label for="bot_token">Bot token <code>bot_token</code>`)
		p = b.post("/console/channels/telegram", url.Values{"enabled": {"on"}, "bot_token": {"123:abc"}, "bot_username": {"cafe_bot"}})
		want(t, p, http.StatusSeeOther)
		cfg, _ = h.svc.ProviderConfig(h.ctx, h.business.ID, "telegram")
		if cfg.Secrets["webhook_secret"] == "" {
			t.Error("no webhook secret generated")
		}
		contains(t, b.get("/console/channels/telegram"), "https://hub.test/hooks/telegram/"+h.business.ID)
		p = b.post("/console/channels/telegram/webhook", url.Values{})
		want(t, p, http.StatusSeeOther)
		contains(t, b.get(p.header.Get("Location")), "The webhook is registered with the provider.")
		if len(h.registered) != 1 || h.registered[0] != "telegram https://hub.test/hooks/telegram/"+h.business.ID {
			t.Errorf("registered %v", h.registered)
		}
		h.registerErr = &hub.SendError{Kind: hub.SendPermanent, Code: "401", Reason: "Unauthorized", Err: errors.New("bad token")}
		p = b.post("/console/channels/telegram/webhook", url.Values{})
		want(t, p, http.StatusUnprocessableEntity)
		contains(t, p, "telegram refused the webhook https://hub.test/hooks/telegram/"+h.business.ID+" (401 Unauthorized)")
		want(t, b.post("/console/channels/email/webhook", url.Values{}), http.StatusUnprocessableEntity)

		// Another business's delivery id in the link shows nothing of it.
		other, _ := h.newBusiness("Other shop", "otherlogin", "other@example.com")
		stranger := h.customer(h.principal(other.ID, "othertill"), "zed@example.com", "Zed")
		od, err := h.svc.TestChannel(h.ctx, other, "email", hub.ChannelTestInput{CustomerID: &stranger.CustomerID})
		if err != nil {
			t.Fatal(err)
		}
		p = b.get("/console/channels/email?delivery=" + od.ID)
		want(t, p, http.StatusOK)
		if strings.Contains(p.body, od.ID) {
			t.Error("another business's delivery is shown")
		}
		// Nor can its customer get a test message from this business.
		want(t, b.post("/console/channels/email/test", url.Values{"customer_id": {stranger.CustomerID}}), http.StatusNotFound)
		want(t, b.post("/console/channels/email/test", url.Values{"customer_id": {"zed@example.com"}}), http.StatusNotFound)

		// Unknown providers are not found.
		want(t, b.get("/console/channels/fax"), http.StatusNotFound)
		want(t, b.post("/console/channels/fax", url.Values{}), http.StatusNotFound)
	})
}

// TestChannelFieldLabels: every configuration field of every provider has
// a label in each catalog (the page asks for "channel.field." + its name).
func TestChannelFieldLabels(t *testing.T) {
	for _, lang := range console.Languages {
		raw, err := os.ReadFile(filepath.Join("locales", "channelfields."+lang+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var labels map[string]string
		if err := json.Unmarshal(raw, &labels); err != nil {
			t.Fatal(err)
		}
		for provider, fields := range hub.ChannelFields {
			for _, f := range fields {
				if labels["channel.field."+f.Name] == "" {
					t.Errorf("%s: no label for %s's field %s", lang, provider, f.Name)
				}
			}
		}
	}
}
