package console

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
)

// numericAudience are the audience fields whose values are numbers.
var numericAudience = map[string]bool{
	hub.AudienceStamps: true, hub.AudienceStampsTotal: true, hub.AudienceDaysSinceLastStamp: true,
	hub.AudienceDaysSinceJoined: true, hub.AudienceBirthdayMonth: true, hub.AudienceOpenVouchers: true,
}

// audienceOps are the operators the builder offers, in the order shown.
var audienceOps = []string{hub.AudienceEq, hub.AudienceNe, hub.AudienceLt, hub.AudienceLte, hub.AudienceGt,
	hub.AudienceGte, hub.AudienceIn}

// maxConditions bounds the rows of the audience builder.
const maxConditions = hub.MaxAudienceNodes - 1

// sendAtLayout is the value of a datetime-local input.
const sendAtLayout = "2006-01-02T15:04"

// condition is one row of the audience builder: a leaf {field, op, value}
// as typed. Path is its JSON path in the service's input
// ("audience.all[2]"), so that the hub's problems with it show next to it.
type condition struct {
	Field, Op, Value string
	Path, Error      string
	// N numbers the builder's rows from 1.
	N int
}

// campaignForm is the composer: the values as typed, so that a refused
// form shows them again.
type campaignForm struct {
	// ID is the draft's id; "" for a new campaign.
	ID         string
	Name       string
	TemplateID string
	// Match is "all" or "any": how the conditions combine.
	Match      string
	Conditions []condition
	// AudienceJSON is the filter typed as JSON (for trees the builder
	// cannot show); it wins over the conditions when not empty.
	AudienceJSON string
	// AudienceError is the hub's problem with the filter as a whole.
	AudienceError string
	// Channels is the channel order, comma-separated; "" is the business's.
	Channels string
	// When is "now" or "later"; SendAt the time in the business's zone.
	When, SendAt string

	Templates   []*hub.MessageTemplate
	Fields, Ops []string
	// ChannelNames lists the channel order's names, for the hint.
	ChannelNames string
	// Count is the audience preview asked for without JavaScript.
	Count *hub.AudiencePreview
	// created is the draft's creation: a send_at at or before it means
	// "now" (the API cannot unset send_at).
	created time.Time
}

// formOfCampaign shows a stored draft in the composer.
func formOfCampaign(c *hub.Campaign, loc *time.Location) *campaignForm {
	f := &campaignForm{ID: c.ID, Name: c.Name, TemplateID: deref(c.TemplateID), Match: "all",
		Channels: strings.Join(c.Channels, ", "), When: "now", created: c.CreatedAt}
	if c.SendAt != nil && c.SendAt.After(c.CreatedAt) {
		f.When, f.SendAt = "later", c.SendAt.In(loc).Format(sendAtLayout)
	}
	if !f.flat(c.Audience) {
		raw, _ := json.Marshal(c.Audience)
		f.AudienceJSON = string(raw)
	}
	return f
}

// flat fills the conditions from an audience that is a flat all or any of
// leaves, and reports whether it was one.
func (f *campaignForm) flat(a *hub.Audience) bool {
	if a == nil {
		return true
	}
	list := a.All
	if a.Any != nil {
		f.Match, list = "any", a.Any
	} else if a.All == nil && (a.Not != nil || a.Field != "") {
		return false
	}
	var cs []condition
	for _, l := range list {
		if l.Field == "" {
			return false
		}
		cs = append(cs, condition{Field: l.Field, Op: l.Op, Value: formatValue(l.Value)})
	}
	f.Conditions = cs
	return true
}

// formatValue writes a leaf's value as the builder's text: a list of an
// in comma-separated.
func formatValue(v any) string {
	switch x := v.(type) {
	case []int:
		s := make([]string, len(x))
		for i, n := range x {
			s[i] = strconv.Itoa(n)
		}
		return strings.Join(s, ", ")
	case []string:
		return strings.Join(x, ", ")
	case int:
		return strconv.Itoa(x)
	case string:
		return x
	}
	raw, _ := json.Marshal(v)
	return string(raw)
}

// readCampaignForm reads the posted composer. Rows without a field are
// dropped.
func readCampaignForm(r *http.Request) *campaignForm {
	v := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	f := &campaignForm{ID: r.PathValue("id"), Name: v("name"), TemplateID: v("template_id"), Match: v("match"),
		AudienceJSON: v("audience_json"), Channels: v("channels"), When: v("when"), SendAt: v("send_at")}
	if f.Match != "any" {
		f.Match = "all"
	}
	if f.When != "later" {
		f.When = "now"
	}
	rows, _ := strconv.Atoi(r.PostFormValue("rows"))
	for i := range min(max(rows, 0), maxConditions) {
		p := "cond." + strconv.Itoa(i) + "."
		c := condition{Field: v(p + "field"), Op: v(p + "op"), Value: v(p + "value")}
		if c.Field != "" {
			f.Conditions = append(f.Conditions, c)
		}
	}
	return f
}

// audience is the filter of the form, as JSON for the service.
func (f *campaignForm) audience() json.RawMessage {
	if f.AudienceJSON != "" {
		return json.RawMessage(f.AudienceJSON)
	}
	leaves := make([]map[string]any, 0, len(f.Conditions))
	for i := range f.Conditions {
		c := &f.Conditions[i]
		c.Path = "audience." + f.Match + "[" + strconv.Itoa(i) + "]"
		var value any = c.Value
		if c.Op == hub.AudienceIn {
			var vs []any
			for _, s := range strings.Split(c.Value, ",") {
				if s = strings.TrimSpace(s); s != "" {
					vs = append(vs, c.value(s))
				}
			}
			value = vs
		} else {
			value = c.value(c.Value)
		}
		leaves = append(leaves, map[string]any{"field": c.Field, "op": c.Op, "value": value})
	}
	raw, _ := json.Marshal(map[string]any{f.Match: leaves})
	return raw
}

// value is one typed value: a number for the number fields when it is
// one, else the text, which the service refuses with its own message.
func (c *condition) value(s string) any {
	if numericAudience[c.Field] {
		return number(s)
	}
	return s
}

// channels is the form's channel order; nil is the business's.
func (f *campaignForm) channels() []string {
	var out []string
	for _, o := range strings.Split(f.Channels, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// input is the service's input of the form. A send_at that is no time is a
// problem of the console's (message id in problems).
func (f *campaignForm) input(loc *time.Location) (hub.CampaignInput, map[string]string) {
	in := hub.CampaignInput{Name: &f.Name, Audience: f.audience(), Channels: f.channels()}
	if f.TemplateID != "" {
		in.TemplateID = &f.TemplateID
	}
	problems := map[string]string{}
	switch {
	case f.When == "later":
		t, err := time.ParseInLocation(sendAtLayout, f.SendAt, loc)
		if err != nil {
			problems["send_at"] = "campaign.send_at.invalid"
			break
		}
		in.SendAt = &t
	case f.ID != "":
		// "Now" on a draft that had a time: the time it was created, which
		// has passed, so that sending starts at once.
		in.SendAt = &f.created
	}
	return in, problems
}

// showErrors puts the hub's problems next to the rows of the builder.
func (f *campaignForm) showErrors(v *view) {
	for i := range f.Conditions {
		if f.Conditions[i].Path != "" {
			f.Conditions[i].Error = v.FieldError(f.Conditions[i].Path)
		}
	}
	if f.AudienceJSON != "" {
		f.AudienceError = v.FieldError("audience")
		return
	}
	var out []string
	for _, k := range []string{"audience", "audience.all", "audience.any"} {
		if p, ok := v.Fields[k]; ok {
			out = append(out, p)
		}
	}
	f.AudienceError = strings.Join(out, "; ")
}

// Rows are the builder's rows: the conditions and blank ones to add more.
func (f *campaignForm) Rows(extra int) []condition {
	rows := append([]condition(nil), f.Conditions...)
	for range min(max(extra, 1), maxConditions-len(rows)) {
		rows = append(rows, condition{})
	}
	for i := range rows {
		rows[i].N = i + 1
	}
	return rows
}

// ByChannel is the count's channels in a stable order.
func (f *campaignForm) ByChannel() []channelCount { return byChannel(f.Count) }

// channelCount is an audience preview's count of one channel.
type channelCount struct {
	Channel string
	N       int
}

func byChannel(p *hub.AudiencePreview) []channelCount {
	if p == nil {
		return nil
	}
	var out []channelCount
	for ch, n := range p.ByChannel {
		out = append(out, channelCount{ch, n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Channel < out[j].Channel })
	return out
}

// composerView is the composer's page around a form.
func composerView(f *campaignForm, extraRows int) *view {
	title := "campaign.new"
	if f.ID != "" {
		title = "campaign.edit"
	}
	return &view{Title: title, Nav: "campaigns", Data: &composerData{Form: f, Extra: extraRows}}
}

// composerData is the composer page.
type composerData struct {
	Form *campaignForm
	// Extra is how many blank rows the builder shows.
	Extra int
}

// loadChoices fills what the form's selects offer.
func (s *server) loadChoices(r *http.Request, f *campaignForm) error {
	ts, _, err := s.svc.MessageTemplates(r.Context(), session(r).BusinessID, hub.Page{Limit: hub.MaxPageLimit})
	if err != nil {
		return err
	}
	f.Templates, f.Fields, f.Ops, f.ChannelNames = ts, hub.AudienceFields, audienceOps, channelNames()
	return nil
}

// businessZone is the session's business's time zone.
func businessZone(r *http.Request) *time.Location {
	if loc, err := time.LoadLocation(session(r).Business.Timezone); err == nil {
		return loc
	}
	return time.UTC
}

// campaignsData is the campaigns page: a page of campaigns, newest first.
type campaignsData struct {
	Campaigns []*hub.Campaign
	// Next is the cursor of the next page, "" on the last.
	Next string
}

func (s *server) campaigns(w http.ResponseWriter, r *http.Request) {
	cs, next, err := s.svc.Campaigns(r.Context(), session(r).BusinessID, cursor(r, hub.PrefixCampaign))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "campaigns", &view{Title: "campaigns.title", Nav: "campaigns",
		Data: &campaignsData{Campaigns: cs, Next: deref(next)}})
}

func (s *server) newCampaign(w http.ResponseWriter, r *http.Request) {
	f := &campaignForm{Match: "all", When: "now"}
	if err := s.loadChoices(r, f); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "campaign-form", composerView(f, 2))
}

func (s *server) editCampaign(w http.ResponseWriter, r *http.Request) {
	c, ok := s.ownCampaign(w, r)
	if !ok {
		return
	}
	if c.Status != hub.CampaignStatusDraft {
		http.Redirect(w, r, Prefix+"/campaigns/"+c.ID, http.StatusSeeOther)
		return
	}
	f := formOfCampaign(c, businessZone(r))
	if err := s.loadChoices(r, f); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "campaign-form", composerView(f, 1))
}

// saveCampaign creates a draft (POST /campaigns) or changes one (POST
// /campaigns/{id}/edit). The form's other buttons add a row to the
// builder or count the audience, saving nothing.
func (s *server) saveCampaign(w http.ResponseWriter, r *http.Request) {
	f := readCampaignForm(r)
	b := session(r).BusinessID
	if f.ID != "" {
		c, ok := s.ownCampaign(w, r)
		if !ok {
			return
		}
		f.created = c.CreatedAt
	}
	if err := s.loadChoices(r, f); err != nil {
		s.fail(w, r, err)
		return
	}
	in, problems := f.input(businessZone(r))
	v := composerView(f, 1)
	switch r.PostFormValue("action") {
	case "add":
		v.Data.(*composerData).Extra = 2
		s.render(w, r, http.StatusOK, "campaign-form", v)
		return
	case "count", "count-exact":
		estimate := s.audienceSample
		if r.PostFormValue("action") == "count-exact" {
			estimate = 0
		}
		p, err := s.svc.PreviewAudience(r.Context(), b,
			hub.AudiencePreviewInput{Audience: in.Audience, Channels: in.Channels, Estimate: estimate})
		if err != nil {
			s.refuseCampaign(w, r, v, f, err)
			return
		}
		f.Count = p
		s.render(w, r, http.StatusOK, "campaign-form", v)
		return
	}
	if len(problems) > 0 {
		sess := session(r)
		tr := s.i18n.translator(s.requestLanguage(r, sess.Owner.Language, sess.Business.DefaultLanguage))
		v.ErrorID, v.Fields = "campaign.invalid", map[string]string{}
		for k, id := range problems {
			v.Fields[k] = tr.T(id)
		}
		s.render(w, r, http.StatusUnprocessableEntity, "campaign-form", v)
		return
	}
	var c *hub.Campaign
	var err error
	if f.ID == "" {
		c, err = s.svc.CreateCampaign(r.Context(), b, in)
	} else {
		c, err = s.svc.UpdateCampaign(r.Context(), b, f.ID, in)
	}
	if err != nil {
		s.refuseCampaign(w, r, v, f, err)
		return
	}
	http.Redirect(w, r, Prefix+"/campaigns/"+c.ID+"?done=saved", http.StatusSeeOther)
}

// refuseCampaign shows the composer again with the hub's problems.
func (s *server) refuseCampaign(w http.ResponseWriter, r *http.Request, v *view, f *campaignForm, err error) {
	if status(err) >= 500 || hub.ErrorCode(err) == hub.ENotFound {
		s.fail(w, r, err)
		return
	}
	withError(v, err)
	f.showErrors(v)
	s.render(w, r, status(err), "campaign-form", v)
}

// audienceCount is the composer's live count (an htmx fragment): the
// audience and the members each channel would reach, estimated from a
// sample for a business of more than twice Config.AudienceSample
// customers (the fragment then offers the exact count, a full page).
func (s *server) audienceCount(w http.ResponseWriter, r *http.Request) {
	f := readCampaignForm(r)
	in, _ := f.input(time.UTC)
	v := &view{Fragment: "audience-count", Data: &composerData{Form: f}}
	p, err := s.svc.PreviewAudience(r.Context(), session(r).BusinessID,
		hub.AudiencePreviewInput{Audience: in.Audience, Channels: in.Channels, Estimate: s.audienceSample})
	if err != nil {
		if status(err) >= 500 {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "campaign-form", withError(v, err))
		return
	}
	f.Count = p
	s.render(w, r, http.StatusOK, "campaign-form", v)
}

// ownCampaign returns the campaign of the path's id if it is the
// session's business's; otherwise it answers (404) and returns false.
func (s *server) ownCampaign(w http.ResponseWriter, r *http.Request) (*hub.Campaign, bool) {
	id := r.PathValue("id")
	if !hub.ValidID(hub.PrefixCampaign, id) {
		s.notFound(w, r)
		return nil, false
	}
	c, err := s.svc.CampaignByID(r.Context(), session(r).BusinessID, id)
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	return c, true
}

// campaignData is a campaign's page.
type campaignData struct {
	Campaign     *hub.Campaign
	TemplateName string
	// Audience is the filter as JSON; "" for everyone.
	Audience string
	// Later says send_at is a time to wait for (after the creation).
	Later    bool
	Progress *progressData
	// Status filters the recipients; Next is the cursor of their next page.
	Status     string
	Statuses   []string
	Recipients []recipientRow
	Next       string
}

// recipientRow is a recipient; Known says Reason is a skip reason with a
// message of its own.
type recipientRow struct {
	*hub.Recipient
	Known bool
}

// skipReasons are the skip reasons with a message.
var skipReasons = map[string]bool{hub.ReasonNoChannel: true, hub.ReasonFrequencyCap: true, hub.ReasonTooLong: true,
	hub.ReasonRenderFailed: true, hub.ReasonNoVariant: true, hub.ReasonCancelled: true}

// recipientStatuses are the statuses the recipient list filters by.
var recipientStatuses = []string{hub.RecipientQueued, hub.DeliverySending, hub.DeliverySent, hub.DeliveryFailed,
	hub.DeliveryUnknown, hub.RecipientSkipped}

// progressData is the part of a campaign's page that updates while it
// sends: status, actions, progress, stats and the chart.
type progressData struct {
	Campaign *hub.Campaign
	// Percent is the share of the audience done (sent, failed or skipped).
	Percent, Done int
	// Polling says the fragment asks again (while sending or scheduled).
	Polling bool
	Skipped []channelCount
	Chart   *chart
	// Which actions the status allows.
	CanEdit, CanSend, CanPause, CanResume, CanCancel bool
}

func (s *server) progress(r *http.Request, c *hub.Campaign) (*progressData, error) {
	st := c.Stats
	p := &progressData{Campaign: c, Done: st.Sent + st.Failed + st.SkippedTotal()}
	switch {
	case c.Status == hub.CampaignStatusSent:
		p.Percent = 100
	case st.Audience > 0:
		p.Percent = min(100, p.Done*100/st.Audience)
	}
	for reason, n := range st.Skipped {
		p.Skipped = append(p.Skipped, channelCount{reason, n})
	}
	sort.Slice(p.Skipped, func(i, j int) bool { return p.Skipped[i].Channel < p.Skipped[j].Channel })
	switch c.Status {
	case hub.CampaignStatusDraft:
		p.CanEdit, p.CanSend, p.CanCancel = true, true, true
	case hub.CampaignStatusScheduled:
		p.CanPause, p.CanCancel, p.Polling = true, true, true
	case hub.CampaignStatusSending:
		p.CanPause, p.CanCancel, p.Polling = true, true, true
	case hub.CampaignStatusPaused:
		p.CanResume, p.CanCancel = true, true
	}
	if c.StartedAt != nil {
		a, err := s.svc.CampaignActivity(r.Context(), c.BusinessID, c.ID, chartBuckets)
		if err != nil {
			return nil, err
		}
		p.Chart = newChart(a)
	}
	return p, nil
}

func (s *server) campaign(w http.ResponseWriter, r *http.Request) {
	c, ok := s.ownCampaign(w, r)
	if !ok {
		return
	}
	s.showCampaign(w, r, http.StatusOK, c, &view{})
}

// showCampaign renders a campaign's page into v (which may carry an error).
func (s *server) showCampaign(w http.ResponseWriter, r *http.Request, st int, c *hub.Campaign, v *view) {
	b := session(r).BusinessID
	d := &campaignData{Campaign: c, Statuses: recipientStatuses, Later: c.SendAt != nil && c.SendAt.After(c.CreatedAt)}
	if c.TemplateID != nil {
		if t, err := s.svc.MessageTemplateByID(r.Context(), b, *c.TemplateID); err == nil {
			d.TemplateName = t.Name
		}
	}
	if raw, err := json.Marshal(c.Audience); err == nil && c.Audience != nil && string(raw) != `{"all":[]}` {
		d.Audience = string(raw)
	}
	var err error
	if d.Progress, err = s.progress(r, c); err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	pg := hub.Page{Limit: pageSize}
	if cur := q.Get("cursor"); hub.ValidID(hub.PrefixCustomer, cur) {
		pg.Cursor = cur
	}
	for _, x := range recipientStatuses {
		if q.Get("status") == x {
			d.Status = x
		}
	}
	rs, next, err := s.svc.CampaignRecipients(r.Context(), b, c.ID, d.Status, pg)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, rc := range rs {
		d.Recipients = append(d.Recipients, recipientRow{rc, rc.Status == hub.RecipientSkipped && skipReasons[rc.Reason]})
	}
	d.Next = deref(next)
	v.Title, v.Nav, v.Data = "campaign.title", "campaigns", d
	if f := "campaign.done." + q.Get("done"); campaignFlashes[f] {
		v.Flash = f
	}
	s.render(w, r, st, "campaign", v)
}

// campaignFlashes are the messages a redirect to a campaign may ask for.
var campaignFlashes = map[string]bool{"campaign.done.saved": true, "campaign.done.send": true,
	"campaign.done.pause": true, "campaign.done.resume": true, "campaign.done.cancel": true}

// campaignProgress is the campaign page's live part (an htmx fragment,
// polled every 2 s while the campaign sends).
func (s *server) campaignProgress(w http.ResponseWriter, r *http.Request) {
	c, ok := s.ownCampaign(w, r)
	if !ok {
		return
	}
	p, err := s.progress(r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "campaign", &view{Fragment: "progress", Data: &campaignData{Campaign: c, Progress: p}})
}

// campaignAction sends, pauses, resumes or cancels a campaign.
func (s *server) campaignAction(w http.ResponseWriter, r *http.Request) {
	var act func(ctx context.Context, businessID, id string) (*hub.Campaign, error)
	switch r.PathValue("action") {
	case "send":
		act = s.svc.SendCampaign
	case "pause":
		act = s.svc.PauseCampaign
	case "resume":
		act = s.svc.ResumeCampaign
	case "cancel":
		act = s.svc.CancelCampaign
	default:
		s.notFound(w, r)
		return
	}
	c, ok := s.ownCampaign(w, r)
	if !ok {
		return
	}
	if _, err := act(r.Context(), c.BusinessID, c.ID); err != nil {
		if status(err) >= 500 {
			s.fail(w, r, err)
			return
		}
		if c, ok = s.ownCampaign(w, r); ok {
			s.showCampaign(w, r, status(err), c, withError(&view{}, err))
		}
		return
	}
	http.Redirect(w, r, Prefix+"/campaigns/"+c.ID+"?done="+r.PathValue("action"), http.StatusSeeOther)
}
