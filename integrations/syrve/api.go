package syrve

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
)

// ClosedOrdersLookback is how far before the window ClosedOrders asks for
// orders: Syrve filters table orders by creation date and deliveries by
// delivery date, not by closing time, so an order opened before the window
// and closed in it is only found by looking back.
const ClosedOrdersLookback = 24 * time.Hour

// tablesPerCall bounds the table ids sent in one /api/1/order/by_table call
// (the API states no limit; this keeps the requests small).
const tablesPerCall = 100

// Organization is one organization the apiLogin can see.
type Organization struct {
	ID   string
	Name string
	Code string
	// Currency is the ISO currency code (currencyIsoName), when Syrve gave it.
	Currency string
	// Country, when Syrve gave it.
	Country string
}

// Organizations lists the organizations of the apiLogin
// (POST /api/1/organizations with returnAdditionalInfo).
func (c *Client) Organizations(ctx context.Context) ([]Organization, error) {
	req := map[string]any{"organizationIds": nil, "returnAdditionalInfo": true, "includeDisabled": false}
	var out struct {
		Organizations []struct {
			ID              string  `json:"id"`
			Name            *string `json:"name"`
			Code            *string `json:"code"`
			CurrencyIsoName *string `json:"currencyIsoName"`
			Country         *string `json:"country"`
		} `json:"organizations"`
	}
	if err := c.call(ctx, "/api/1/organizations", req, &out); err != nil {
		return nil, err
	}
	orgs := make([]Organization, 0, len(out.Organizations))
	for _, o := range out.Organizations {
		orgs = append(orgs, Organization{ID: o.ID, Name: str(o.Name), Code: str(o.Code),
			Currency: str(o.CurrencyIsoName), Country: str(o.Country)})
	}
	return orgs, nil
}

// OrderFilter is the part of a webhook filter for one kind of order.
type OrderFilter struct {
	OrderStatuses []string `json:"orderStatuses,omitempty"`
	ItemStatuses  []string `json:"itemStatuses,omitempty"`
	Errors        bool     `json:"errors,omitempty"`
}

// WebhooksFilter says which events Syrve sends. Only the order filters are
// modelled; the other parts (reserves, stop lists, shifts…) are not read.
type WebhooksFilter struct {
	DeliveryOrderFilter *OrderFilter `json:"deliveryOrderFilter,omitempty"`
	TableOrderFilter    *OrderFilter `json:"tableOrderFilter,omitempty"`
}

// WebhookSettings are an organization's webhook settings for this apiLogin.
type WebhookSettings struct {
	APILoginName string
	URI          string
	// AuthToken is the token Syrve sends in the Authorization header.
	AuthToken string
	Filter    *WebhooksFilter
}

// RegisterWebhook points the organization's webhooks for this apiLogin at uri
// (POST /api/1/webhooks/update_settings), with authToken as the token Syrve
// sends back, for table orders and delivery orders reaching status Closed.
// Syrve keeps one handler per organization and apiLogin: this replaces any
// earlier settings, including filters for other events.
func (c *Client) RegisterWebhook(ctx context.Context, orgID, uri, authToken string) error {
	closed := &OrderFilter{OrderStatuses: []string{StatusClosed}}
	req := map[string]any{
		"organizationId": orgID,
		"webHooksUri":    uri,
		"authToken":      authToken,
		"webHooksFilter": WebhooksFilter{TableOrderFilter: closed, DeliveryOrderFilter: closed},
	}
	return c.call(ctx, "/api/1/webhooks/update_settings", req, nil)
}

// WebhookSettings reads the organization's webhook settings for this apiLogin
// (POST /api/1/webhooks/settings).
func (c *Client) WebhookSettings(ctx context.Context, orgID string) (*WebhookSettings, error) {
	var out struct {
		APILoginName *string         `json:"apiLoginName"`
		WebHooksURI  *string         `json:"webHooksUri"`
		AuthToken    *string         `json:"authToken"`
		Filter       *WebhooksFilter `json:"webHooksFilter"`
	}
	if err := c.call(ctx, "/api/1/webhooks/settings", map[string]string{"organizationId": orgID}, &out); err != nil {
		return nil, err
	}
	return &WebhookSettings{APILoginName: str(out.APILoginName), URI: str(out.WebHooksURI),
		AuthToken: str(out.AuthToken), Filter: out.Filter}, nil
}

// Order fetches one order by its Syrve id: first as a table order
// (/api/1/order/by_id), then as a delivery (/api/1/deliveries/by_id). It
// returns ErrNotFound when neither knows it.
func (c *Client) Order(ctx context.Context, orgID, orderID string) (*Order, error) {
	var table struct {
		Orders []wireOrderInfo `json:"orders"`
	}
	req := map[string]any{"organizationIds": []string{orgID}, "orderIds": []string{orderID}}
	if err := c.call(ctx, "/api/1/order/by_id", req, &table); err != nil {
		return nil, err
	}
	for i := range table.Orders {
		if table.Orders[i].ID == orderID {
			return table.Orders[i].order(KindTable, c.Zone), nil
		}
	}
	var del struct {
		Orders []wireOrderInfo `json:"orders"`
	}
	req = map[string]any{"organizationId": orgID, "orderIds": []string{orderID}}
	if err := c.call(ctx, "/api/1/deliveries/by_id", req, &del); err != nil {
		return nil, err
	}
	for i := range del.Orders {
		if del.Orders[i].ID == orderID {
			return del.Orders[i].order(KindDelivery, c.Zone), nil
		}
	}
	return nil, ErrNotFound
}

// ClosedOrders lists the table and delivery orders of the organization whose
// whenClosed is in [from, to), for reconciliation. Syrve has no listing by
// closing time, so it asks for Closed orders created (tables) or due
// (deliveries) from from-ClosedOrdersLookback to to and keeps those closed in
// the window. Table orders need the table ids: it reads the terminal groups
// (/api/1/terminal_groups), their sections' tables
// (/api/1/reserve/available_restaurant_sections), then /api/1/order/by_table
// in batches of tables; deliveries come from
// /api/1/deliveries/by_delivery_date_and_status. Syrve does not paginate these
// calls. Orders are sorted by closing time, then id.
func (c *Client) ClosedOrders(ctx context.Context, orgID string, from, to time.Time) ([]Order, error) {
	zone := c.zone()
	dFrom := from.Add(-ClosedOrdersLookback).In(zone).Format(TimeLayout)
	dTo := to.In(zone).Format(TimeLayout)
	var all []Order
	keep := func(infos []wireOrderInfo, kind string) {
		for i := range infos {
			o := infos[i].order(kind, c.Zone)
			if !o.Closed() {
				continue
			}
			at, ok := o.ClosedAt()
			if !ok || at.Before(from) || !at.Before(to) {
				continue
			}
			all = append(all, *o)
		}
	}

	tables, err := c.tableIDs(ctx, orgID)
	if err != nil {
		return nil, err
	}
	for batch := range slices.Chunk(tables, tablesPerCall) {
		var out struct {
			Orders []wireOrderInfo `json:"orders"`
		}
		req := map[string]any{"organizationIds": []string{orgID}, "tableIds": batch,
			"statuses": []string{StatusClosed}, "dateFrom": dFrom, "dateTo": dTo}
		if err := c.call(ctx, "/api/1/order/by_table", req, &out); err != nil {
			return nil, err
		}
		keep(out.Orders, KindTable)
	}

	var del struct {
		OrdersByOrganizations []struct {
			OrganizationID string          `json:"organizationId"`
			Orders         []wireOrderInfo `json:"orders"`
		} `json:"ordersByOrganizations"`
	}
	req := map[string]any{"organizationIds": []string{orgID}, "deliveryDateFrom": dFrom,
		"deliveryDateTo": dTo, "statuses": []string{StatusClosed}}
	if err := c.call(ctx, "/api/1/deliveries/by_delivery_date_and_status", req, &del); err != nil {
		return nil, err
	}
	for _, g := range del.OrdersByOrganizations {
		keep(g.Orders, KindDelivery)
	}

	// An order can be listed twice (two batches sharing it); keep one.
	seen := map[string]bool{}
	out := all[:0]
	for _, o := range all {
		if !seen[o.ID] {
			seen[o.ID] = true
			out = append(out, o)
		}
	}
	slices.SortStableFunc(out, func(a, b Order) int {
		ta, _ := a.ClosedAt()
		tb, _ := b.ClosedAt()
		if d := ta.Compare(tb); d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// tableIDs lists the ids of every table of the organization's terminal groups
// (asleep ones included).
func (c *Client) tableIDs(ctx context.Context, orgID string) ([]string, error) {
	type group struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	var tg struct {
		TerminalGroups        []group `json:"terminalGroups"`
		TerminalGroupsInSleep []group `json:"terminalGroupsInSleep"`
	}
	req := map[string]any{"organizationIds": []string{orgID}, "includeDisabled": true}
	if err := c.call(ctx, "/api/1/terminal_groups", req, &tg); err != nil {
		return nil, err
	}
	var groups []string
	for _, g := range append(tg.TerminalGroups, tg.TerminalGroupsInSleep...) {
		for _, it := range g.Items {
			groups = append(groups, it.ID)
		}
	}
	if len(groups) == 0 {
		return nil, nil
	}
	var rs struct {
		RestaurantSections []struct {
			Tables []struct {
				ID string `json:"id"`
			} `json:"tables"`
		} `json:"restaurantSections"`
	}
	req = map[string]any{"terminalGroupIds": groups, "returnSchema": false}
	if err := c.call(ctx, "/api/1/reserve/available_restaurant_sections", req, &rs); err != nil {
		return nil, err
	}
	var ids []string
	for _, s := range rs.RestaurantSections {
		for _, t := range s.Tables {
			ids = append(ids, t.ID)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// Customer is a Syrve Loyalty guest (/api/1/loyalty/iiko/customer/info).
type Customer struct {
	ID      string
	Name    string
	Surname string
	Phone   string
	Email   string
	Cards   []Card
	Wallets []Wallet
}

// Card is a loyalty card of a guest.
type Card struct {
	ID     string `json:"id"`
	Track  string `json:"track"`
	Number string `json:"number"`
}

// Wallet is one wallet balance of a guest.
type Wallet struct {
	ID      string      `json:"id"`
	Name    string      `json:"name"`
	Type    int         `json:"type"`
	Balance json.Number `json:"balance"`
}

// CustomerByPhone looks a guest up by phone in Syrve Loyalty
// (/api/1/loyalty/iiko/customer/info, type "phone"). found is false, with a
// nil error, when Syrve knows no guest with that phone.
func (c *Client) CustomerByPhone(ctx context.Context, orgID, phone string) (cust *Customer, found bool, err error) {
	var out struct {
		ID             *string  `json:"id"`
		Name           *string  `json:"name"`
		Surname        *string  `json:"surname"`
		Phone          *string  `json:"phone"`
		Email          *string  `json:"email"`
		Cards          []Card   `json:"cards"`
		WalletBalances []Wallet `json:"walletBalances"`
	}
	req := map[string]string{"type": "phone", "organizationId": orgID, "phone": phone}
	err = c.call(ctx, "/api/1/loyalty/iiko/customer/info", req, &out)
	if isCustomerNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if str(out.ID) == "" {
		return nil, false, nil
	}
	return &Customer{ID: str(out.ID), Name: str(out.Name), Surname: str(out.Surname), Phone: str(out.Phone),
		Email: str(out.Email), Cards: out.Cards, Wallets: out.WalletBalances}, true, nil
}

// isCustomerNotFound recognizes Syrve's "no such guest" answer: HTTP 400 (or
// 404) whose description says the guest is not there. Unverified: the spec
// does not document it; see the package doc.
func isCustomerNotFound(err error) bool {
	var se *Error
	if !errors.As(err, &se) || (se.Status != http.StatusBadRequest && se.Status != http.StatusNotFound) {
		return false
	}
	d := strings.ToLower(se.Description + " " + se.Code)
	return strings.Contains(d, "not found") || strings.Contains(d, "there is no user") ||
		strings.Contains(d, "notfound") || strings.Contains(d, "no customer")
}
