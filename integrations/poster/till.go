package poster

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
)

// Till is the hub's Poster adapter (hub.TillProvider and hub.OAuthTill): the
// connection's secrets hold the access token, its settings the currency.
type Till struct {
	Client *Client
	// DefaultCurrency is used when a connection names none.
	DefaultCurrency string
}

var (
	_ hub.TillProvider = (*Till)(nil)
	_ hub.OAuthTill    = (*Till)(nil)
)

// Connect implements hub.TillProvider; Poster connects through OAuth only.
func (t *Till) Connect(context.Context, *hub.PosConnection, map[string]string, string) error {
	return hub.Errorf(hub.EValidation, "poster connects through OAuth: PUT /v1/pos/poster answers with a connect_url")
}

// AuthorizeURL implements hub.OAuthTill.
func (t *Till) AuthorizeURL(redirectURI, state string) string {
	return t.Client.AuthorizeURL(redirectURI, state)
}

// Exchange implements hub.OAuthTill: the code becomes the access token.
func (t *Till) Exchange(ctx context.Context, c *hub.PosConnection, code, account, redirectURI string) error {
	tok, err := t.Client.ExchangeCode(ctx, account, code, redirectURI)
	if err != nil {
		return hubError(err)
	}
	acc := tok.Account
	if acc == "" {
		acc = account
	}
	c.Account = &acc
	c.Secrets["access_token"] = tok.AccessToken
	if tok.AccountNumber != "" {
		c.Settings["account_number"] = tok.AccountNumber
	}
	return nil
}

// WebhookAccount implements hub.OAuthTill: the account of a webhook body.
func (t *Till) WebhookAccount(body []byte) string {
	var w struct {
		Account string `json:"account"`
	}
	_ = json.Unmarshal(body, &w)
	return w.Account
}

// Webhook implements hub.TillProvider: it checks the md5 signature with the
// application secret and reports a closed check's id (Poster's webhooks are
// thin: the check is fetched by Sale).
func (t *Till) Webhook(_ context.Context, c *hub.PosConnection, call hub.InboundCall) ([]hub.TillOrder, error) {
	w, err := ParseWebhook(call.Body, t.Client.AppSecret)
	if err != nil {
		return nil, err
	}
	if c.Account != nil && w.Account != *c.Account {
		return nil, ErrBadSignature
	}
	id, ok := w.ClosedCheck()
	if !ok {
		return nil, nil
	}
	return []hub.TillOrder{{OrderID: id}}, nil
}

// Sale implements hub.TillProvider: dash.getTransaction with its products
// and, when the check has a client, the client's phone.
func (t *Till) Sale(ctx context.Context, c *hub.PosConnection, orderID string) (*hub.SaleInput, error) {
	token := c.Secrets["access_token"]
	tx, err := t.Client.Transaction(ctx, token, orderID)
	if err != nil {
		if IsNotFound(err) {
			return nil, nil
		}
		return nil, hubError(err)
	}
	if !tx.Closed() {
		return nil, nil
	}
	var client *PosterClient
	if tx.HasClient() {
		if client, err = t.Client.ClientByID(ctx, token, string(tx.ClientID)); err != nil && !IsNotFound(err) {
			return nil, hubError(err)
		}
	}
	currency := c.Settings["currency"]
	if currency == "" {
		currency = t.DefaultCurrency
	}
	in, err := SaleFromTransaction(tx, client, currency)
	if err != nil {
		return nil, err
	}
	return &in, nil
}

// ClosedSales implements hub.TillProvider. Poster retries a webhook 15
// times over two days, so the hub does not reconcile it: nothing here.
func (t *Till) ClosedSales(context.Context, *hub.PosConnection, time.Time, time.Time) ([]hub.SaleInput, error) {
	return nil, nil
}

// hubError gives a Poster failure the hub's code: a refused token is
// unauthorized, a retryable failure unavailable or rate_limited, anything
// else validation_failed (trying again will not help).
func hubError(err error) error {
	var he *hub.Error
	if errors.As(err, &he) {
		return err
	}
	msg := strings.TrimSpace(err.Error())
	switch KindOf(err) {
	case KindAuthRevoked:
		return &hub.Error{Code: hub.EUnauthorized, Message: "poster refused the access token", Err: err}
	case KindRateLimited:
		return &hub.Error{Code: hub.ERateLimited, Message: "poster is limiting the hub's calls", Err: err}
	case KindTransient:
		return &hub.Error{Code: hub.EUnavailable, Message: "poster is not answering", Err: err}
	}
	return &hub.Error{Code: hub.EValidation, Message: "poster: " + msg, Err: err}
}

// ClientGroupName is the Poster client group the hub's customers go in
// (0% discount: the group only marks them).
const ClientGroupName = "7loc loyalty"

var _ hub.TillCustomers = (*Till)(nil)

// EnsureCustomer implements hub.TillCustomers: the customer becomes a Poster
// client (found by phone, else created in ClientGroupName), so the cashier
// finds them at the till.
func (t *Till) EnsureCustomer(ctx context.Context, c *hub.PosConnection, cust *hub.Customer) error {
	if cust.Phone == nil {
		return nil
	}
	token := c.Secrets["access_token"]
	found, err := t.Client.FindClientByPhone(ctx, token, *cust.Phone)
	if err != nil {
		return hubError(err)
	}
	if found != nil {
		return nil
	}
	group, err := t.Client.EnsureGroup(ctx, token, ClientGroupName)
	if err != nil {
		return hubError(err)
	}
	name := *cust.Phone
	if cust.Name != nil && *cust.Name != "" {
		name = *cust.Name
	}
	nc := NewClient{Name: name, Phone: *cust.Phone, GroupID: group}
	if cust.Email != nil {
		nc.Email = *cust.Email
	}
	if cust.Birthday != nil {
		nc.Birthday = *cust.Birthday
	}
	if _, err := t.Client.CreateClient(ctx, token, nc); err != nil {
		return hubError(err)
	}
	return nil
}
