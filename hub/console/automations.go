package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/7loc/hub/hub"
)

// automationsData is the automations list: a page of automations with
// the names of the message templates their actions send.
type automationsData struct {
	Rows []*automationRow
	// Next is the cursor of the next page, "" on the last.
	Next string
}

// automationRow is one automation in the list.
type automationRow struct {
	*hub.Automation
	// Templates names the message templates by id.
	Templates map[string]string
}

// automationRowView is what the "automation-row" template gets.
type automationRowView struct {
	*view
	A *automationRow
}

// AutomationRow pairs a row of the automations list with the page's view,
// for the "automation-row" template.
func (v *view) AutomationRow(a *automationRow) *automationRowView {
	return &automationRowView{view: v, A: a}
}

// Delay is the row's delay in words ("2 hours"); "" when it has none.
func (x *automationRowView) Delay() string {
	n, unit := delayParts(x.A.DelaySeconds)
	if n == 0 {
		return ""
	}
	form := "other"
	if n == 1 {
		form = "one"
	}
	return x.T("automation.delay."+unit+"."+form, "Count", n)
}

// TemplateName names the message template a send_message action sends,
// or gives its id when the template is gone or not among the first page.
func (x *automationRowView) TemplateName(act hub.AutomationAction) string {
	id := deref(act.TemplateID)
	if name, ok := x.A.Templates[id]; ok {
		return name
	}
	return id
}

// VoucherTemplate is the voucher template an issue_voucher action issues.
func (x *automationRowView) VoucherTemplate(act hub.AutomationAction) string {
	return deref(act.VoucherTemplateID)
}

// delayUnits are the units of the delay field, in seconds.
var delayUnits = []struct {
	Name    string
	Seconds int
}{{"days", 86400}, {"hours", 3600}, {"minutes", 60}, {"seconds", 1}}

// delayParts writes seconds in the largest unit that divides them.
func delayParts(seconds int) (int, string) {
	for _, u := range delayUnits {
		if seconds%u.Seconds == 0 {
			return seconds / u.Seconds, u.Name
		}
	}
	return seconds, "seconds"
}

// automationForm is the automation editor's form, as typed, so that a
// refused form shows it again. Its inputs are named by the service's JSON
// paths ("trigger.event", "actions[0].template_id"), so each problem shows
// next to its input.
type automationForm struct {
	// ID is the automation's, "" for a new one.
	ID                     string
	Name                   string
	Enabled                bool
	Trigger                string
	DelayAmount, DelayUnit string
	// Condition is the audience filter as JSON.
	Condition string
	Actions   []*actionForm
	// Choices.
	Triggers  []string
	Units     []string
	Templates []*hub.MessageTemplate
	Channels  string
}

// actionForm is one action slot of the editor; an empty Type is no action.
type actionForm struct {
	Index                                         int
	Type, TemplateID, VoucherTemplateID, Channels string
}

// Field is the form name of one of the action's fields, the service's
// JSON path of it.
func (a *actionForm) Field(name string) string { return fmt.Sprintf("actions[%d].%s", a.Index, name) }

// Number is the action's place, counted from 1.
func (a *actionForm) Number() int { return a.Index + 1 }

// automationFormOf shows a stored automation in the editor, with one empty
// action slot while there is room for another action.
func automationFormOf(a *hub.Automation) *automationForm {
	f := &automationForm{ID: a.ID, Name: a.Name, Enabled: a.Enabled, Trigger: a.Trigger.Event, Condition: `{"all": []}`}
	n, unit := delayParts(a.DelaySeconds)
	f.DelayAmount, f.DelayUnit = strconv.Itoa(n), unit
	if a.Condition != nil {
		if raw, err := json.Marshal(a.Condition); err == nil {
			f.Condition = prettyJSON(string(raw))
		}
	}
	for i, act := range a.Actions {
		f.Actions = append(f.Actions, &actionForm{Index: i, Type: act.Type, TemplateID: deref(act.TemplateID),
			VoucherTemplateID: deref(act.VoucherTemplateID), Channels: strings.Join(act.Channels, ", ")})
	}
	f.fillSlots()
	return f
}

// fillSlots adds the empty action slot, up to hub.MaxAutomationActions.
func (f *automationForm) fillSlots() {
	if len(f.Actions) < hub.MaxAutomationActions {
		f.Actions = append(f.Actions, &actionForm{Index: len(f.Actions)})
	}
}

// readAutomationForm reads the posted editor.
func readAutomationForm(r *http.Request, id string) *automationForm {
	v := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	f := &automationForm{ID: id, Name: r.PostFormValue("name"), Enabled: r.PostFormValue("enabled") != "",
		Trigger: v("trigger.event"), DelayAmount: v("delay_seconds"), DelayUnit: v("delay_unit"), Condition: v("condition")}
	for i := range hub.MaxAutomationActions {
		a := &actionForm{Index: i}
		a.Type, a.TemplateID = v(a.Field("type")), v(a.Field("template_id"))
		a.VoucherTemplateID, a.Channels = v(a.Field("voucher_template_id")), v(a.Field("channels"))
		f.Actions = append(f.Actions, a)
	}
	return f
}

// input is the service's input of the whole form, with the slots each
// action came from; problems the console finds itself (a delay or a
// condition that cannot be read) are returned as a validation error.
func (f *automationForm) input() (hub.AutomationInput, []int, error) {
	p := map[string]string{}
	in := hub.AutomationInput{Name: &f.Name, Enabled: &f.Enabled, Trigger: &hub.AutomationTrigger{Event: f.Trigger}}
	seconds := 0
	for _, u := range delayUnits {
		if u.Name == f.DelayUnit {
			seconds = u.Seconds
		}
	}
	n, err := strconv.Atoi(f.DelayAmount)
	switch {
	case f.DelayAmount == "":
		n = 0
	case err != nil:
		p["delay_seconds"] = "must be a whole number"
	}
	if seconds == 0 {
		p["delay_seconds"] = "must be in seconds, minutes, hours or days"
	}
	if n > hub.MaxAutomationDelay || n < -hub.MaxAutomationDelay {
		n = hub.MaxAutomationDelay + 1 // out of range whatever the unit; the service says so
		seconds = 1
	}
	delay := n * seconds
	in.DelaySeconds = &delay
	cond := f.Condition
	if cond == "" {
		cond = `{"all": []}`
	}
	if !json.Valid([]byte(cond)) {
		p["condition"] = "is not valid JSON"
	}
	in.Condition = json.RawMessage(cond)
	in.Actions = []hub.AutomationAction{}
	var slots []int
	for _, a := range f.Actions {
		if a.Type == "" {
			continue
		}
		act := hub.AutomationAction{Type: a.Type}
		switch a.Type {
		case hub.ActionSendMessage:
			act.TemplateID = &a.TemplateID
			for _, c := range strings.Split(a.Channels, ",") {
				if c = strings.TrimSpace(c); c != "" {
					act.Channels = append(act.Channels, c)
				}
			}
		case hub.ActionIssueVoucher:
			act.VoucherTemplateID = &a.VoucherTemplateID
		}
		in.Actions = append(in.Actions, act)
		slots = append(slots, a.Index)
	}
	if len(p) > 0 {
		return in, slots, &hub.Error{Code: hub.EValidation, Message: "validation failed", Fields: p}
	}
	return in, slots, nil
}

// atSlots moves the service's problems with actions[i] to the form slot
// the action came from.
func atSlots(err error, slots []int) error {
	fields := hub.ErrorFields(err)
	if len(fields) == 0 {
		return err
	}
	moved := map[string]string{}
	for k, p := range fields {
		var i int
		if n, _ := fmt.Sscanf(k, "actions[%d]", &i); n == 1 && i >= 0 && i < len(slots) {
			k = fmt.Sprintf("actions[%d]", slots[i]) + strings.TrimPrefix(k, fmt.Sprintf("actions[%d]", i))
		}
		moved[k] = p
	}
	return &hub.Error{Code: hub.ErrorCode(err), Message: hub.ErrorMessage(err), Fields: moved, Err: err}
}

// templateChoices are a business's message templates (the first hundred,
// newest first): the choices of a send_message action.
func (s *server) templateChoices(r *http.Request) ([]*hub.MessageTemplate, error) {
	ts, _, err := s.svc.MessageTemplates(r.Context(), session(r).BusinessID, hub.Page{Limit: hub.MaxPageLimit})
	return ts, err
}

func (s *server) automations(w http.ResponseWriter, r *http.Request) {
	as, next, err := s.svc.Automations(r.Context(), session(r).BusinessID, cursor(r, hub.PrefixAutomation))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ts, err := s.templateChoices(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	names := map[string]string{}
	for _, t := range ts {
		names[t.ID] = t.Name
	}
	d := &automationsData{Next: deref(next)}
	for _, a := range as {
		d.Rows = append(d.Rows, &automationRow{Automation: a, Templates: names})
	}
	v := &view{Title: "automations.title", Nav: "automations", Data: d}
	switch r.URL.Query().Get("done") {
	case "on":
		v.Flash = "automation.switched_on"
	case "off":
		v.Flash = "automation.switched_off"
	case "deleted":
		v.Flash = "automation.deleted"
	}
	s.render(w, r, http.StatusOK, "automations", v)
}

// storedAutomation loads the path's automation of the owner's business;
// another business's, and ids that are none, are not found.
func (s *server) storedAutomation(r *http.Request) (*hub.Automation, error) {
	id := r.PathValue("id")
	if !hub.ValidID(hub.PrefixAutomation, id) {
		return nil, hub.NotFound("automation")
	}
	return s.svc.AutomationByID(r.Context(), session(r).BusinessID, id)
}

// switchAutomation turns an automation on or off (enabled=true|false)
// through hub.Service.UpdateAutomation. htmx swaps the answer's row in;
// without JavaScript the list comes back.
func (s *server) switchAutomation(w http.ResponseWriter, r *http.Request) {
	if _, err := s.storedAutomation(r); err != nil {
		s.fail(w, r, err)
		return
	}
	on := r.PostFormValue("enabled") == "true"
	a, err := s.svc.UpdateAutomation(r.Context(), session(r).BusinessID, r.PathValue("id"), hub.AutomationInput{Enabled: &on})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "automation switched in the console", "automation_id", a.ID, "enabled", a.Enabled,
		"owner_id", session(r).OwnerID)
	if htmxPart(r) {
		ts, err := s.templateChoices(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		names := map[string]string{}
		for _, t := range ts {
			names[t.ID] = t.Name
		}
		s.render(w, r, http.StatusOK, "automations",
			&view{Fragment: "automation-row-part", Data: &automationRow{Automation: a, Templates: names}})
		return
	}
	done := "off"
	if a.Enabled {
		done = "on"
	}
	http.Redirect(w, r, Prefix+"/automations?done="+done, http.StatusSeeOther)
}

func (s *server) renderAutomation(w http.ResponseWriter, r *http.Request, st int, f *automationForm, err error) {
	ts, terr := s.templateChoices(r)
	if terr != nil {
		s.fail(w, r, terr)
		return
	}
	f.Templates, f.Triggers = ts, hub.AutomationTriggers()
	f.Channels = channelNames()
	for _, u := range delayUnits {
		f.Units = append(f.Units, u.Name)
	}
	v := &view{Title: "automation.title", Nav: "automations", Data: f}
	if f.ID == "" {
		v.Title = "automation.new"
	}
	if err != nil {
		withError(v, err)
	}
	if err == nil && r.URL.Query().Get("saved") != "" {
		v.Flash = "automation.saved"
	}
	s.render(w, r, st, "automation", v)
}

func (s *server) automation(w http.ResponseWriter, r *http.Request) {
	a, err := s.storedAutomation(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderAutomation(w, r, http.StatusOK, automationFormOf(a), nil)
}

func (s *server) newAutomation(w http.ResponseWriter, r *http.Request) {
	f := &automationForm{Trigger: string(hub.CardIssued), DelayAmount: "0", DelayUnit: "minutes", Condition: `{"all": []}`}
	f.fillSlots()
	s.renderAutomation(w, r, http.StatusOK, f, nil)
}

// saveAutomation creates an automation (POST /console/automations) or sets
// every field of a stored one, through the service as the API does; a
// refused form shows each problem at its field.
func (s *server) saveAutomation(w http.ResponseWriter, r *http.Request) {
	id := ""
	if r.PathValue("id") != "" {
		a, err := s.storedAutomation(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		id = a.ID
	}
	f := readAutomationForm(r, id)
	in, slots, err := f.input()
	var a *hub.Automation
	if err == nil {
		if id == "" {
			a, err = s.svc.CreateAutomation(r.Context(), session(r).BusinessID, in)
		} else {
			a, err = s.svc.UpdateAutomation(r.Context(), session(r).BusinessID, id, in)
		}
		err = atSlots(err, slots)
	}
	if err != nil {
		if status(err) >= 500 {
			s.fail(w, r, err)
			return
		}
		s.renderAutomation(w, r, status(err), f, err)
		return
	}
	s.log.InfoContext(r.Context(), "automation saved in the console", "automation_id", a.ID, "owner_id", session(r).OwnerID)
	http.Redirect(w, r, Prefix+"/automations/"+a.ID+"?saved=1", http.StatusSeeOther)
}

// confirmDeleteAutomation is the confirmation page of Delete without
// JavaScript (with it, a dialog on the editor asks).
func (s *server) confirmDeleteAutomation(w http.ResponseWriter, r *http.Request) {
	a, err := s.storedAutomation(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "automation-delete", &view{Title: "automation.delete.title", Nav: "automations", Data: a})
}

func (s *server) deleteAutomation(w http.ResponseWriter, r *http.Request) {
	a, err := s.storedAutomation(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.svc.DeleteAutomation(r.Context(), session(r).BusinessID, a.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "automation deleted in the console", "automation_id", a.ID, "owner_id", session(r).OwnerID)
	http.Redirect(w, r, Prefix+"/automations?done=deleted", http.StatusSeeOther)
}

// prettyJSON indents a condition for the editor; text that is not JSON is
// left as typed.
func prettyJSON(s string) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(s), "", "  "); err != nil {
		return s
	}
	return buf.String()
}
