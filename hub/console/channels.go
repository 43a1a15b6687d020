package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/7loc/hub/hub"
)

// channelRow is a provider on the channels page; View is nil when the
// business has not configured it.
type channelRow struct {
	Provider string
	View     *hub.ChannelConfigView
}

// channelInput is one field of a provider's form. A secret's value never
// leaves the hub: the form shows only whether it is set.
type channelInput struct {
	hub.ChannelField
	Value string
	Set   bool
	Error string
}

// channelTest is the test message form's values.
type channelTest struct {
	CustomerID, Channel, Subject, Text string
}

// channelData is one provider's page: its configuration form, the test
// message form and, for Telegram and Viber, webhook registration.
type channelData struct {
	Provider string
	// View is the stored configuration, nil before the first save.
	View    *hub.ChannelConfigView
	Enabled bool
	Fields  []channelInput
	// Webhook says the hub registers this provider's webhook itself.
	Webhook bool
	// Gateway asks the test form for the messenger.
	Gateway    bool
	Messengers []string
	Test       channelTest
	// Delivery is the test message just queued.
	Delivery *hub.Delivery
}

func (s *server) channels(w http.ResponseWriter, r *http.Request) {
	views, err := s.svc.ChannelConfigs(r.Context(), session(r).BusinessID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var rows []channelRow
	for _, p := range hub.Providers {
		row := channelRow{Provider: p}
		for _, v := range views {
			if v.Provider == p {
				row.View = v
			}
		}
		rows = append(rows, row)
	}
	s.render(w, r, http.StatusOK, "channels", &view{Title: "channels.title", Nav: "channels", Data: rows})
}

// channelPage loads a provider's page with the stored values; an unknown
// provider is not found.
func (s *server) channelPage(r *http.Request) (*channelData, error) {
	provider := r.PathValue("provider")
	if !hub.ValidProvider(provider) {
		return nil, hub.NotFound("channel")
	}
	v, err := s.svc.ChannelConfig(r.Context(), session(r).BusinessID, provider)
	switch {
	case hub.ErrorCode(err) == hub.ENotFound:
		v = nil
	case err != nil:
		return nil, err
	}
	d := &channelData{Provider: provider, View: v, Enabled: v == nil || v.Enabled,
		Webhook: provider == hub.ChannelTelegram || provider == hub.ChannelViber,
		Gateway: provider == hub.ProviderGateway, Messengers: hub.Messengers}
	for _, f := range hub.ChannelFields[provider] {
		in := channelInput{ChannelField: f}
		if v != nil {
			in.Value = v.Settings[f.Name]
			in.Set = slices.Contains(v.SecretsSet, f.Name)
		}
		d.Fields = append(d.Fields, in)
	}
	return d, nil
}

func (s *server) renderChannel(w http.ResponseWriter, r *http.Request, st int, d *channelData, err error) {
	v := &view{Title: "channel.title", Nav: "channels", Data: d}
	if err != nil {
		withError(v, err)
		for i := range d.Fields {
			d.Fields[i].Error = v.FieldError(d.Fields[i].Name)
		}
	}
	s.render(w, r, st, "channel", v)
}

func (s *server) channel(w http.ResponseWriter, r *http.Request) {
	d, err := s.channelPage(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if id := r.URL.Query().Get("delivery"); hub.ValidID(hub.PrefixDelivery, id) {
		// Another business's delivery is not found and not shown.
		if dl, err := s.svc.DeliveryByID(r.Context(), session(r).BusinessID, id); err == nil {
			d.Delivery = dl
		}
	}
	s.renderChannel(w, r, http.StatusOK, d, nil)
}

// saveChannel stores the provider's configuration through
// hub.Service.PutChannelConfig, which replaces the settings and keeps every
// secret the body leaves out. So the form sends every setting as shown
// (empty clears it) and only the secrets that were typed; a ticked "clear"
// box sends null for that secret. Secrets are never read back.
func (s *server) saveChannel(w http.ResponseWriter, r *http.Request) {
	d, err := s.channelPage(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	body := map[string]any{"enabled": r.PostFormValue("enabled") != ""}
	for i, f := range d.Fields {
		v := r.PostFormValue(f.Name)
		switch {
		case !f.Secret:
			body[f.Name] = v
			d.Fields[i].Value = v
		case strings.TrimSpace(v) != "":
			body[f.Name] = v
		case r.PostFormValue("clear."+f.Name) != "":
			body[f.Name] = nil
		}
	}
	_, err = s.svc.PutChannelConfig(r.Context(), session(r).BusinessID, d.Provider, body)
	if err == nil {
		s.log.InfoContext(r.Context(), "channel configured in the console", "provider", d.Provider,
			"owner_id", session(r).OwnerID)
		http.Redirect(w, r, Prefix+"/channels/"+d.Provider+"?done=channel_saved", http.StatusSeeOther)
		return
	}
	if status(err) >= 500 {
		s.fail(w, r, err)
		return
	}
	d.Enabled = body["enabled"].(bool)
	s.renderChannel(w, r, status(err), d, err)
}

// testChannel queues a test message through hub.Service.TestChannel, as
// POST /v1/channels/{provider}/test does, and shows its delivery.
func (s *server) testChannel(w http.ResponseWriter, r *http.Request) {
	d, err := s.channelPage(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Test = channelTest{CustomerID: strings.TrimSpace(r.PostFormValue("customer_id")), Channel: r.PostFormValue("channel"),
		Subject: r.PostFormValue("subject"), Text: r.PostFormValue("text")}
	customerID, err := s.findCustomer(r, d.Test.CustomerID)
	if err != nil {
		if status(err) >= 500 {
			s.fail(w, r, err)
			return
		}
		s.renderChannel(w, r, status(err), d, err)
		return
	}
	in := hub.ChannelTestInput{}
	for _, p := range []struct {
		dst **string
		v   string
	}{{&in.CustomerID, customerID}, {&in.Channel, d.Test.Channel}, {&in.Subject, d.Test.Subject}, {&in.Text, d.Test.Text}} {
		if p.v != "" {
			v := p.v
			*p.dst = &v
		}
	}
	dl, err := s.svc.TestChannel(r.Context(), session(r).Business, d.Provider, in)
	if err == nil {
		http.Redirect(w, r, Prefix+"/channels/"+d.Provider+"?done=test_queued&delivery="+url.QueryEscape(dl.ID), http.StatusSeeOther)
		return
	}
	if status(err) >= 500 {
		s.fail(w, r, err)
		return
	}
	s.renderChannel(w, r, status(err), d, err)
}

// findCustomer reads the test form's customer: a customer id as it is, an
// email or a phone number found with hub.Service.Customers (the service's
// problem with it, or none found, is a problem of the customer_id field).
func (s *server) findCustomer(r *http.Request, typed string) (string, error) {
	if typed == "" || hub.ValidID(hub.PrefixCustomer, typed) {
		return typed, nil
	}
	f := hub.CustomerFilter{BusinessID: session(r).BusinessID, Page: hub.Page{Limit: 1}}
	field := "phone"
	if strings.Contains(typed, "@") {
		f.Email, field = typed, "email"
	} else {
		f.Phone = typed
	}
	cs, _, err := s.svc.Customers(r.Context(), f)
	if err != nil {
		if problem := hub.ErrorFields(err)[field]; problem != "" {
			return "", &hub.Error{Code: hub.EValidation, Message: hub.ErrorMessage(err),
				Fields: map[string]string{"customer_id": problem}, Err: err}
		}
		return "", err
	}
	if len(cs) == 0 {
		e := hub.NotFound("customer")
		e.Fields = map[string]string{"customer_id": "no customer has this " + field}
		return "", e
	}
	return cs[0].ID, nil
}

// registerWebhook registers the channel's inbound URL with Telegram or
// Viber (hub.Service.RegisterChannelWebhook).
func (s *server) registerWebhook(w http.ResponseWriter, r *http.Request) {
	d, err := s.channelPage(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.svc.RegisterChannelWebhook(r.Context(), session(r).BusinessID, d.Provider); err != nil {
		if status(err) >= 500 && status(err) != http.StatusServiceUnavailable {
			s.fail(w, r, err)
			return
		}
		s.renderChannel(w, r, status(err), d, err)
		return
	}
	http.Redirect(w, r, Prefix+"/channels/"+d.Provider+"?done=webhook_registered", http.StatusSeeOther)
}
