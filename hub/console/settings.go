package console

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/7loc/hub/hub"
)

// settingsForm is the settings page's form: the values as typed, so that a
// refused form shows them again.
type settingsForm struct {
	Timezone, DefaultLanguage string
	// ChannelOrder is the order, comma-separated ("messengers, push, email").
	ChannelOrder                   string
	Quiet                          bool
	QuietStart, QuietEnd           string
	Cap                            bool
	CapMax, CapDays                string
	Birthday                       bool
	BirthdayDaysBefore, BirthdayAt string
	Inactivity                     bool
	InactivityDays, InactivityAt   string
	VoucherDaysBefore, VoucherAt   string
	// Channels are the channel order's possible names, for the hint.
	Channels string
}

func channelNames() string {
	return strings.Join(append([]string{hub.OrderMessengers}, hub.Channels...), ", ")
}

// formOf shows stored settings in the form.
func formOf(st *hub.Settings) *settingsForm {
	f := &settingsForm{Timezone: st.Timezone, DefaultLanguage: st.DefaultLanguage,
		ChannelOrder: strings.Join(st.Messaging.ChannelOrder, ", "), Channels: channelNames()}
	if q := st.Messaging.QuietHours; q != nil {
		f.Quiet, f.QuietStart, f.QuietEnd = true, q.Start, q.End
	}
	if c := st.Messaging.FrequencyCap; c != nil {
		f.Cap, f.CapMax, f.CapDays = true, strconv.Itoa(c.Max), strconv.Itoa(c.PerDays)
	}
	t := st.Triggers
	f.Birthday, f.BirthdayDaysBefore, f.BirthdayAt = t.Birthday.Enabled, strconv.Itoa(t.Birthday.DaysBefore), t.Birthday.LocalTime
	f.Inactivity, f.InactivityDays, f.InactivityAt = t.Inactivity.Enabled, strconv.Itoa(t.Inactivity.Days), t.Inactivity.LocalTime
	f.VoucherDaysBefore, f.VoucherAt = strconv.Itoa(t.VoucherExpiring.DaysBefore), t.VoucherExpiring.LocalTime
	return f
}

// readSettingsForm reads the posted form, whose names are the settings'
// JSON paths.
func readSettingsForm(r *http.Request) *settingsForm {
	v := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	on := func(name string) bool { return r.PostFormValue(name) != "" }
	return &settingsForm{Timezone: v("timezone"), DefaultLanguage: v("default_language"),
		ChannelOrder: v("messaging.channel_order"), Quiet: on("messaging.quiet_hours"),
		QuietStart: v("messaging.quiet_hours.start"), QuietEnd: v("messaging.quiet_hours.end"),
		Cap: on("messaging.frequency_cap"), CapMax: v("messaging.frequency_cap.max"),
		CapDays:  v("messaging.frequency_cap.per_days"),
		Birthday: on("triggers.birthday.enabled"), BirthdayDaysBefore: v("triggers.birthday.days_before"),
		BirthdayAt: v("triggers.birthday.local_time"),
		Inactivity: on("triggers.inactivity.enabled"), InactivityDays: v("triggers.inactivity.days"),
		InactivityAt:      v("triggers.inactivity.local_time"),
		VoucherDaysBefore: v("triggers.voucher_expiring.days_before"), VoucherAt: v("triggers.voucher_expiring.local_time"),
		Channels: channelNames()}
}

// number is a form's number for the patch: an integer when it is one, else
// the text as typed, which the service refuses with its own message.
func number(s string) any {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return s
}

// patch is the JSON merge patch of hub.Service.UpdateSettings that sets
// everything the form shows; an unticked box clears quiet hours or the cap.
func (f *settingsForm) patch() (json.RawMessage, error) {
	order := []string{}
	for _, o := range strings.Split(f.ChannelOrder, ",") {
		if o = strings.TrimSpace(o); o != "" {
			order = append(order, o)
		}
	}
	var quiet, limit any
	if f.Quiet {
		quiet = map[string]any{"start": f.QuietStart, "end": f.QuietEnd}
	}
	if f.Cap {
		limit = map[string]any{"max": number(f.CapMax), "per_days": number(f.CapDays)}
	}
	return json.Marshal(map[string]any{
		"timezone": f.Timezone, "default_language": f.DefaultLanguage,
		"messaging": map[string]any{"channel_order": order, "quiet_hours": quiet, "frequency_cap": limit},
		"triggers": map[string]any{
			"birthday":         map[string]any{"enabled": f.Birthday, "days_before": number(f.BirthdayDaysBefore), "local_time": f.BirthdayAt},
			"inactivity":       map[string]any{"enabled": f.Inactivity, "days": number(f.InactivityDays), "local_time": f.InactivityAt},
			"voucher_expiring": map[string]any{"days_before": number(f.VoucherDaysBefore), "local_time": f.VoucherAt},
		},
	})
}

func (s *server) settings(w http.ResponseWriter, r *http.Request) {
	st, err := s.svc.Settings(r.Context(), session(r).BusinessID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "settings", &view{Title: "settings.title", Nav: "settings", Data: formOf(st)})
}

func (s *server) saveSettings(w http.ResponseWriter, r *http.Request) {
	f := readSettingsForm(r)
	patch, err := f.patch()
	if err == nil {
		_, err = s.svc.UpdateSettings(r.Context(), session(r).BusinessID, patch)
	}
	if err == nil {
		http.Redirect(w, r, Prefix+"/settings?done=settings_saved", http.StatusSeeOther)
		return
	}
	if status(err) >= 500 {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, status(err), "settings", withError(&view{Title: "settings.title", Nav: "settings", Data: f}, err))
}
