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

// settingsForm is a complete settings form as the page posts it.
func settingsForm() url.Values {
	return url.Values{
		"timezone": {"Asia/Kolkata"}, "default_language": {"hi"},
		"messaging.channel_order": {"telegram, email"},
		"messaging.quiet_hours":   {"on"}, "messaging.quiet_hours.start": {"21:00"}, "messaging.quiet_hours.end": {"09:00"},
		"messaging.frequency_cap": {"on"}, "messaging.frequency_cap.max": {"3"}, "messaging.frequency_cap.per_days": {"7"},
		"triggers.birthday.enabled": {"on"}, "triggers.birthday.days_before": {"2"}, "triggers.birthday.local_time": {"09:30"},
		"triggers.inactivity.days": {"45"}, "triggers.inactivity.local_time": {"11:00"},
		"triggers.voucher_expiring.days_before": {"5"}, "triggers.voucher_expiring.local_time": {"12:30"},
	}
}

func TestSettingsPage(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		b := h.browser()
		b.login("owner@example.com")

		p := b.get("/console/settings")
		want(t, p, http.StatusOK)
		contains(t, p, `<a href="/console/settings" aria-current="page">Settings</a>`,
			`<label for="timezone">Time zone</label>`, `id="timezone" name="timezone" type="text" value="Asia/Bangkok"`,
			`name="messaging.channel_order" type="text" value="messengers, push, email"`,
			`name="triggers.birthday.enabled" value="on" checked>`, `name="triggers.inactivity.local_time" type="time" value="11:00"`,
			`<button type="submit">Save settings</button>`)
		contains(t, b.get("/console/settings?lang=th"), `<html lang="th">`, "<h1>การตั้งค่า</h1>", ">บันทึกการตั้งค่า</button>")
		contains(t, b.get("/console/settings?lang=hi"), `<html lang="hi">`, "<h1>सेटिंग्स</h1>", ">समय क्षेत्र</label>")
		if strings.Contains(p.body, `name="messaging.quiet_hours" value="on" checked`) {
			t.Error("quiet hours shown as set by default")
		}

		// Saved: post, redirect, get.
		p = b.post("/console/settings", settingsForm())
		want(t, p, http.StatusSeeOther)
		if p.header.Get("Location") != "/console/settings?done=settings_saved" {
			t.Fatalf("went to %q", p.header.Get("Location"))
		}
		got, err := h.svc.Settings(h.ctx, h.business.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantSettings := &hub.Settings{Timezone: "Asia/Kolkata", DefaultLanguage: "hi",
			Messaging: hub.MessagingSettings{ChannelOrder: []string{"telegram", "email"},
				QuietHours: &hub.QuietHours{Start: "21:00", End: "09:00"}, FrequencyCap: &hub.FrequencyCap{Max: 3, PerDays: 7}},
			Triggers: hub.TriggerSettings{
				Birthday:        hub.BirthdaySweep{Enabled: true, DaysBefore: 2, LocalTime: "09:30"},
				Inactivity:      hub.InactivitySweep{Enabled: false, Days: 45, LocalTime: "11:00"},
				VoucherExpiring: hub.VoucherExpiringSweep{DaysBefore: 5, LocalTime: "12:30"}}}
		if diff := cmp.Diff(wantSettings, got); diff != "" {
			t.Errorf("saved settings (-want +got):\n%s", diff)
		}
		p = b.get("/console/settings?done=settings_saved", "Accept-Language", "en")
		contains(t, p, "Settings saved.", `value="Asia/Kolkata"`, `value="telegram, email"`,
			`name="messaging.quiet_hours" value="on" checked>`, `name="messaging.frequency_cap.per_days" type="number" value="7"`)

		// Unticking quiet hours and the cap clears them.
		form := settingsForm()
		form.Del("messaging.quiet_hours")
		form.Del("messaging.frequency_cap")
		want(t, b.post("/console/settings", form), http.StatusSeeOther)
		got, _ = h.svc.Settings(h.ctx, h.business.ID)
		if got.Messaging.QuietHours != nil || got.Messaging.FrequencyCap != nil {
			t.Errorf("quiet hours %v and cap %v after unticking", got.Messaging.QuietHours, got.Messaging.FrequencyCap)
		}

		// Refused: the service's problems next to their fields, the typed values kept, nothing saved.
		form = settingsForm()
		form.Set("timezone", "Mars/Olympus")
		form.Set("messaging.channel_order", "telegram, fax")
		form.Set("messaging.frequency_cap.max", "0")
		form.Set("triggers.birthday.local_time", "25:99")
		p = b.post("/console/settings", form)
		want(t, p, http.StatusUnprocessableEntity)
		contains(t, p, "the request has invalid fields",
			`value="Mars/Olympus" aria-invalid="true" aria-describedby="timezone-error">`,
			`<p class="field-error" id="timezone-error">must be an IANA time zone such as Europe/Kyiv</p>`,
			`id="messaging.channel_order-error">must be one of messengers, email, push, telegram, whatsapp, viber</p>`,
			`id="messaging.frequency_cap.max-error">must be between 1 and 1000</p>`,
			`id="triggers.birthday.local_time-error">must be a time of day as HH:MM</p>`,
			`value="telegram, fax"`)
		after, _ := h.svc.Settings(h.ctx, h.business.ID)
		if diff := cmp.Diff(got, after); diff != "" {
			t.Errorf("a refused form changed the settings (-before +after):\n%s", diff)
		}

		// Not a number: the service's own message about the type.
		form = settingsForm()
		form.Set("triggers.inactivity.days", "many")
		p = b.post("/console/settings", form)
		want(t, p, http.StatusUnprocessableEntity)
		contains(t, p, "a field has the wrong type", `id="triggers.inactivity.days-error">must be a number</p>`)
		form.Set("triggers.inactivity.days", "30")
		form.Set("messaging.channel_order", " ")
		contains(t, b.post("/console/settings", form), `id="messaging.channel_order-error">must name 1 to 6 channels</p>`)
	})
}
