package syrve

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/7loc/hub/hub"
)

// Till is the hub's Syrve adapter (hub.TillProvider). A connection's secrets
// hold the apiLogin and the webhook's authToken; its settings the
// organization, currency and terminal time zone.
type Till struct {
	// BaseURL is the API host for every connection; "" means DefaultBaseURL.
	BaseURL string
	// HTTP makes the calls; nil means the Client's default.
	HTTP *http.Client

	clients sync.Map // apiLogin + "|" + zone -> *Client (one token cache per login)
}

var _ hub.TillProvider = (*Till)(nil)

func (t *Till) client(apiLogin, zone string) *Client {
	key := apiLogin + "|" + zone
	if c, ok := t.clients.Load(key); ok {
		return c.(*Client)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	c, _ := t.clients.LoadOrStore(key, &Client{BaseURL: t.BaseURL, APILogin: apiLogin, HTTP: t.HTTP, Zone: loc})
	return c.(*Client)
}

func (t *Till) clientOf(c *hub.PosConnection) *Client {
	return t.client(c.Secrets["api_login"], c.Settings["timezone"])
}

// Connect implements hub.TillProvider: it checks the apiLogin by listing its
// organizations, picks the one named (or the only one), and registers the
// hub's webhook for closed table and delivery orders with a new authToken.
func (t *Till) Connect(ctx context.Context, c *hub.PosConnection, in map[string]string, webhookURL string) error {
	p := hub.Problems{}
	for k := range in {
		switch k {
		case "api_login", "organization_id", "currency", "timezone":
		default:
			p.Add(k, "is not a known field")
		}
	}
	login := strings.TrimSpace(in["api_login"])
	if login == "" {
		p.Add("api_login", "is required: the API login made in Syrve Office")
	}
	zone := in["timezone"]
	if zone == "" {
		zone = "UTC"
	}
	if _, err := time.LoadLocation(zone); err != nil {
		p.Add("timezone", "must be an IANA time zone such as Europe/Berlin")
	}
	if err := p.Err(); err != nil {
		return err
	}
	cl := t.client(login, zone)
	orgs, err := cl.Organizations(ctx)
	if err != nil {
		if KindOf(err) == KindAuth {
			return &hub.Error{Code: hub.EValidation, Message: "syrve refused the api_login",
				Fields: map[string]string{"api_login": "syrve refused it"}, Err: err}
		}
		return hubError(err)
	}
	var org *Organization
	for i := range orgs {
		if in["organization_id"] == "" && len(orgs) == 1 || orgs[i].ID == in["organization_id"] {
			org = &orgs[i]
		}
	}
	if org == nil {
		var ids []string
		for _, o := range orgs {
			ids = append(ids, o.ID+" ("+o.Name+")")
		}
		return hub.Problems{"organization_id": "must be one of the login's organizations: " + strings.Join(ids, ", ")}.Err()
	}
	currency := in["currency"]
	if currency == "" {
		currency = org.Currency
	}
	if len(currency) != 3 {
		return hub.Problems{"currency": "is required: Syrve did not say the organization's currency"}.Err()
	}
	var b [24]byte
	_, _ = rand.Read(b[:])
	token := base64.RawURLEncoding.EncodeToString(b[:])
	if err := cl.RegisterWebhook(ctx, org.ID, webhookURL, token); err != nil {
		return hubError(err)
	}
	c.Account = &org.ID
	c.Settings["organization_id"], c.Settings["organization"] = org.ID, org.Name
	c.Settings["currency"], c.Settings["timezone"] = strings.ToUpper(currency), zone
	c.Secrets["api_login"], c.Secrets["auth_token"] = login, token
	return nil
}

// Webhook implements hub.TillProvider: the Authorization header must carry
// the authToken registered at Connect; closed orders of the connection's
// organization are reported whole when the event carries them.
func (t *Till) Webhook(_ context.Context, c *hub.PosConnection, call hub.InboundCall) ([]hub.TillOrder, error) {
	if !CheckAuth(call.Header("Authorization"), c.Secrets["auth_token"]) {
		return nil, hub.Errorf(hub.EUnauthorized, "syrve: the webhook's authToken is wrong or missing")
	}
	events, err := ParseWebhook(call.Body)
	if err != nil {
		return nil, &hub.Error{Code: hub.EInvalidJSON, Message: err.Error(), Err: err}
	}
	org, zone := c.Settings["organization_id"], t.clientOf(c).Zone
	var out []hub.TillOrder
	for _, ev := range events {
		if ev.OrganizationID != "" && ev.OrganizationID != org {
			continue
		}
		id, order, ok := ClosedOrder(ev)
		if !ok {
			continue
		}
		if order == nil {
			out = append(out, hub.TillOrder{OrderID: id})
			continue
		}
		order.Zone = zone
		if in, ok := SaleFromOrder(org, order, c.Settings["currency"]); ok {
			out = append(out, hub.TillOrder{OrderID: id, Sale: &in})
		}
	}
	return out, nil
}

// Sale implements hub.TillProvider: one order by id.
func (t *Till) Sale(ctx context.Context, c *hub.PosConnection, orderID string) (*hub.SaleInput, error) {
	org := c.Settings["organization_id"]
	o, err := t.clientOf(c).Order(ctx, org, orderID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, hubError(err)
	}
	in, ok := SaleFromOrder(org, o, c.Settings["currency"])
	if !ok {
		return nil, nil
	}
	return &in, nil
}

// ClosedSales implements hub.TillProvider: the table and delivery orders
// closed in [from, to).
func (t *Till) ClosedSales(ctx context.Context, c *hub.PosConnection, from, to time.Time) ([]hub.SaleInput, error) {
	org := c.Settings["organization_id"]
	orders, err := t.clientOf(c).ClosedOrders(ctx, org, from, to)
	if err != nil {
		return nil, hubError(err)
	}
	var out []hub.SaleInput
	for i := range orders {
		if in, ok := SaleFromOrder(org, &orders[i], c.Settings["currency"]); ok {
			out = append(out, in)
		}
	}
	return out, nil
}

// hubError gives a Syrve failure the hub's code.
func hubError(err error) error {
	switch KindOf(err) {
	case KindAuth:
		return &hub.Error{Code: hub.EUnauthorized, Message: "syrve refused the api_login", Err: err}
	case KindRateLimited:
		return &hub.Error{Code: hub.ERateLimited, Message: "syrve is limiting the hub's calls", Err: err}
	case KindTransient:
		return &hub.Error{Code: hub.EUnavailable, Message: "syrve is not answering", Err: err}
	}
	return &hub.Error{Code: hub.EValidation, Message: "syrve: " + err.Error(), Err: err}
}
