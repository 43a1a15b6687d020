package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// automation finds a business's automation by the start of its name.
func (h *harness) automation(businessID, prefix string) *hub.Automation {
	h.t.Helper()
	as, _, err := h.svc.Automations(h.ctx, businessID, hub.Page{Limit: 100})
	if err != nil {
		h.t.Fatal(err)
	}
	for _, a := range as {
		if strings.HasPrefix(a.Name, prefix) {
			return a
		}
	}
	h.t.Fatalf("no automation %q", prefix)
	return nil
}

func TestAutomationsList(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		birthday := h.automation(h.business.ID, "Birthday")
		b := h.browser()
		b.login("owner@example.com")

		// The four ready-made automations, off.
		p := b.get("/console/automations")
		want(t, p, http.StatusOK)
		contains(t, p, `aria-current="page">Automations</a>`, "Birthday greeting with a gift", "We miss you",
			"Goal reached: congratulations", "Voucher expiring in 3 days", "<td>Birthday</td>", "Issue a voucher: <code>vt_",
			"Send a message: Birthday greeting</li>",
			`<form method="post" action="/console/automations/`+birthday.ID+`/enabled" hx-post="/console/automations/`+birthday.ID+`/enabled" hx-target="#automation-`+birthday.ID+`" hx-swap="outerHTML">`,
			`role="switch" aria-checked="false" class="switch"><span class="visually-hidden">Run “Birthday greeting with a gift”</span><span aria-hidden="true">Off</span></button>`)
		if n := strings.Count(p.body, `aria-checked="false"`); n != 4 {
			t.Errorf("%d switches off, want 4", n)
		}
		contains(t, b.get("/console/automations?lang=th"), "<h1>ระบบอัตโนมัติ</h1>", "<td>วันเกิด</td>", ">ปิด</span></button>")
		contains(t, b.get("/console/automations?lang=hi"), "<h1>ऑटोमेशन</h1>", "<td>जन्मदिन</td>", ">बंद</span></button>")

		// On without JavaScript: the list comes back, and the service has it on.
		p = b.post("/console/automations/"+birthday.ID+"/enabled", url.Values{"enabled": {"true"}})
		want(t, p, http.StatusSeeOther)
		if got := h.automation(h.business.ID, "Birthday"); !got.Enabled {
			t.Fatal("the automation is not on in the service")
		}
		p = b.get(p.header.Get("Location"))
		contains(t, p, "The automation is on.", `aria-checked="true" class="switch on"><span class="visually-hidden">Run “Birthday greeting with a gift”</span><span aria-hidden="true">On</span></button>`,
			`<input type="hidden" name="enabled" value="false">`)

		// Off with htmx: the row alone comes back, switched.
		p = b.post("/console/automations/"+birthday.ID+"/enabled", url.Values{"enabled": {"false"}}, "HX-Request", "true")
		want(t, p, http.StatusOK)
		if !strings.HasPrefix(strings.TrimSpace(p.body), `<tr id="automation-`+birthday.ID+`">`) || strings.Contains(p.body, "<html") {
			t.Errorf("the answer is not the row\n%s", p.body)
		}
		contains(t, p, `aria-checked="false"`, ">Off</span></button>", `<input type="hidden" name="enabled" value="true">`)
		if got := h.automation(h.business.ID, "Birthday"); got.Enabled {
			t.Fatal("the automation is still on in the service")
		}
		// Nothing else changed.
		got := h.automation(h.business.ID, "Birthday")
		if diff := cmp.Diff(birthday.Actions, got.Actions); diff != "" || got.Trigger != birthday.Trigger {
			t.Errorf("switching changed the automation (-before +after):\n%s", diff)
		}
	})
}

func TestAutomationEditor(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		miss := h.automation(h.business.ID, "We miss you")
		b := h.browser()
		b.login("owner@example.com")

		p := b.get("/console/automations/" + miss.ID)
		want(t, p, http.StatusOK)
		contains(t, p, `value="We miss you"`, `<option value="inactivity_trigger" selected>Inactive customer</option>`,
			`<input id="delay_seconds" name="delay_seconds"`, `<option value="days" selected>days</option>`,
			`<textarea id="condition" name="condition"`, "{\n  &#34;all&#34;: []\n}</textarea>",
			`<select id="actions[0].type" name="actions[0].type">`, `<option value="send_message" selected>Send a message</option>`,
			`<option value="`+*miss.Actions[0].TemplateID+`" selected>We miss you</option>`,
			`<select id="actions[1].type" name="actions[1].type">`, `<option value="" selected>No action</option>`,
			">Save automation</button>", ">Confirm</button>")

		form := url.Values{"name": {"Come back"}, "enabled": {"on"}, "trigger.event": {"inactivity_trigger"},
			"delay_seconds": {"abc"}, "delay_unit": {"hours"},
			"condition":       {`{"all": [{"field": "stamps", "op": "gte", "value": 2}]}`},
			"actions[0].type": {""}, "actions[1].type": {"send_message"}, "actions[1].template_id": {*miss.Actions[0].TemplateID},
			"actions[1].channels": {"email, push"}}
		// Bad delays: the problem at the delay field; nothing saved.
		for _, tt := range []struct{ amount, unit, problem string }{
			{"abc", "hours", "must be a whole number"},
			{"91", "days", "must be between 0 and 7776000"},
			{"-1", "minutes", "must be between 0 and 7776000"},
			{"99999999999", "days", "must be between 0 and 7776000"},
		} {
			form.Set("delay_seconds", tt.amount)
			form.Set("delay_unit", tt.unit)
			p = b.post("/console/automations/"+miss.ID, form)
			want(t, p, http.StatusUnprocessableEntity)
			contains(t, p, `<p class="field-error" id="delay_seconds-error">`+tt.problem+`</p>`, `value="`+tt.amount+`"`,
				`aria-describedby="delay_seconds-hint delay_seconds-error" aria-invalid="true"`, `value="Come back"`)
		}
		if got := h.automation(h.business.ID, "We miss you"); got.DelaySeconds != miss.DelaySeconds {
			t.Fatal("a refused form was saved")
		}
		// Other problems at their fields, the action's at its slot.
		form.Set("delay_seconds", "2")
		form.Set("delay_unit", "hours")
		form.Set("condition", `{"all": [{"field": "stamps", "op": "nope", "value": 2}]}`)
		form.Set("actions[1].channels", "email, fax")
		p = b.post("/console/automations/"+miss.ID, form)
		want(t, p, http.StatusUnprocessableEntity)
		contains(t, p, `id="condition-error">must be one of`, `<p class="field-error" id="actions[1].channels-error">must be one of messengers`)
		form.Set("condition", `{"all": [`)
		contains(t, b.post("/console/automations/"+miss.ID, form), `id="condition-error">is not valid JSON</p>`)

		// Saved: every field through the service.
		form.Set("condition", `{"all": [{"field": "stamps", "op": "gte", "value": 2}]}`)
		form.Set("actions[1].channels", "email, push")
		p = b.post("/console/automations/"+miss.ID, form)
		want(t, p, http.StatusSeeOther)
		if loc := p.header.Get("Location"); loc != "/console/automations/"+miss.ID+"?saved=1" {
			t.Fatalf("went to %q", loc)
		}
		got := h.automation(h.business.ID, "Come back")
		if !got.Enabled || got.DelaySeconds != 7200 || got.Trigger.Event != "inactivity_trigger" ||
			len(got.Condition.All) != 1 || got.Condition.All[0].Field != "stamps" {
			t.Errorf("stored %+v", got)
		}
		wantActions := []hub.AutomationAction{{Type: "send_message", TemplateID: miss.Actions[0].TemplateID, Channels: []string{"email", "push"}}}
		if diff := cmp.Diff(wantActions, got.Actions); diff != "" {
			t.Errorf("actions (-want +got):\n%s", diff)
		}
		p = b.get("/console/automations/" + miss.ID + "?saved=1")
		contains(t, p, "The automation is saved.", `value="2"`, `<option value="hours" selected>hours</option>`, `value="email, push"`)
		contains(t, b.get("/console/automations"), "after 2 hours", `aria-checked="true"`)

		// A new automation.
		p = b.get("/console/automations/new")
		want(t, p, http.StatusOK)
		contains(t, p, `action="/console/automations"`, "<h1>New automation</h1>")
		p = b.post("/console/automations", url.Values{"name": {"Welcome"}, "trigger.event": {"card_issued"},
			"delay_seconds": {"0"}, "delay_unit": {"minutes"}, "condition": {""}})
		want(t, p, http.StatusUnprocessableEntity)
		contains(t, p, `<p class="field-error" role="alert">must have 1 to 5 actions</p>`)
		p = b.post("/console/automations", url.Values{"name": {"Welcome"}, "trigger.event": {"card_issued"},
			"delay_seconds": {"0"}, "delay_unit": {"minutes"}, "condition": {""}, "actions[0].type": {"send_message"},
			"actions[0].template_id": {*miss.Actions[0].TemplateID}})
		want(t, p, http.StatusSeeOther)
		welcome := h.automation(h.business.ID, "Welcome")
		if welcome.Enabled || welcome.Trigger.Event != "card_issued" || len(welcome.Actions) != 1 {
			t.Errorf("created %+v", welcome)
		}

		// Delete after a confirmation.
		p = b.get("/console/automations/" + welcome.ID + "/delete")
		contains(t, p, "Delete the automation?", ">Confirm</button>")
		p = b.post("/console/automations/"+welcome.ID+"/delete", url.Values{})
		want(t, p, http.StatusSeeOther)
		contains(t, b.get(p.header.Get("Location")), "The automation is deleted.")
		if _, err := h.svc.AutomationByID(h.ctx, h.business.ID, welcome.ID); hub.ErrorCode(err) != hub.ENotFound {
			t.Errorf("the deleted automation: %v", err)
		}
	})
}

// TestAnotherBusinessAutomationIsNotFound checks that another business's
// automation, and ids that are none, are the 404 page on every route, and
// that it is left as it was.
func TestAnotherBusinessAutomationIsNotFound(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		other, _ := h.newBusiness("Other shop", "otherlogin", "other@example.com")
		theirs := h.automation(other.ID, "Birthday")
		b := h.browser()
		b.login("owner@example.com")
		form := url.Values{"name": {"Mine now"}, "enabled": {"on"}, "trigger.event": {"card_issued"}, "delay_seconds": {"0"},
			"delay_unit": {"minutes"}, "actions[0].type": {"issue_voucher"}, "actions[0].voucher_template_id": {"vt_x"}}
		for _, id := range []string{theirs.ID, "au_nonsense", "nonsense"} {
			for _, p := range []page{
				b.get("/console/automations/" + id),
				b.post("/console/automations/"+id, form),
				b.post("/console/automations/"+id+"/enabled", url.Values{"enabled": {"true"}}),
				b.post("/console/automations/"+id+"/enabled", url.Values{"enabled": {"true"}}, "HX-Request", "true"),
				b.get("/console/automations/" + id + "/delete"),
				b.post("/console/automations/"+id+"/delete", url.Values{}),
			} {
				want(t, p, http.StatusNotFound)
				contains(t, p, "Page not found.")
			}
		}
		got := h.automation(other.ID, "Birthday")
		if diff := cmp.Diff(theirs, got); diff != "" {
			t.Errorf("another business's automation changed (-before +after):\n%s", diff)
		}
	})
}
