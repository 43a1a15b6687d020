package syrvefake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of Config.
const (
	DefaultAPILogin       = "test-api-login"
	DefaultOrganizationID = "7bc05553-4b68-44e8-b7bc-37be63c6d9e9"
	DefaultOrgName        = "Test Cafe"
	DefaultCurrency       = "EUR"
	// TerminalGroupID is the one terminal group of the organization.
	TerminalGroupID = "c3bd2d23-0bd1-44d0-b4ab-0c8e4aa7c4a1"
	// SectionID is the one restaurant section.
	SectionID = "5ad9b3d5-4c6f-4e5e-9a5c-1d3bc8b4c7a0"
)

// Tables are the table ids of the section.
var Tables = []string{
	"11111111-1111-4111-8111-111111111111",
	"22222222-2222-4222-8222-222222222222",
}

// TimeLayout is Syrve's date-time format.
const TimeLayout = "2006-01-02 15:04:05.000"

// Config sets up a Server; zero fields take the defaults.
type Config struct {
	APILogin       string
	OrganizationID string
	// Zone is the terminals' time zone of the times on the wire; nil means UTC.
	Zone *time.Location
	// Now is the clock of event times; nil means time.Now.
	Now func() time.Time
}

// Item is one line of a fake order.
type Item struct {
	ProductID string
	Name      string
	// Amount and Price are JSON number literals ("1", "350.5").
	Amount string
	Price  string
}

// Order is a fake order.
type Order struct {
	ID string
	// Kind is "table" (default) or "delivery".
	Kind string
	// Status: New by default; CloseOrder sets Closed.
	Status string
	// Sum is a JSON number literal ("350.5").
	Sum   string
	Phone string
	// CustomerID and CustomerName attach a regular guest when CustomerID is set.
	CustomerID   string
	CustomerName string
	// TableID is the table of a table order; "" means Tables[0].
	TableID     string
	Number      int
	WhenCreated time.Time
	WhenClosed  time.Time
	Items       []Item
	// Thin makes webhooks for this order carry no order details
	// (creationStatus InProgress, order null) while by-id calls still give them.
	Thin bool
}

// Customer is a fake Syrve Loyalty guest.
type Customer struct {
	ID, Name, Phone, Email string
}

// Webhook is the stored webhook settings of the organization.
type Webhook struct {
	URI, AuthToken string
	// Filter is the webHooksFilter as sent.
	Filter json.RawMessage
}

type failure struct {
	status     int
	retryAfter string
}

// Server is a fake Syrve API. Close it when done.
type Server struct {
	// URL is the base URL to give the client (Client.BaseURL).
	URL string
	srv *httptest.Server
	cfg Config

	mu        sync.Mutex
	seq       int
	tokens    map[string]bool
	calls     map[string]int
	orders    map[string]*Order
	customers map[string]Customer
	webhook   *Webhook
	failNext  []failure
	lose      bool
	lost      int
	sent      int
}

// New starts a fake Syrve API.
func New(cfg Config) *Server {
	if cfg.APILogin == "" {
		cfg.APILogin = DefaultAPILogin
	}
	if cfg.OrganizationID == "" {
		cfg.OrganizationID = DefaultOrganizationID
	}
	if cfg.Zone == nil {
		cfg.Zone = time.UTC
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, tokens: map[string]bool{}, calls: map[string]int{}, orders: map[string]*Order{},
		customers: map[string]Customer{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Config returns the configuration with defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// ExpireTokens makes every token issued so far expire: the next call with one
// is answered 401, as when a token dies before its hour is up.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// FailNext answers the next n calls (access_token excluded) with HTTP status
// and an error body; retryAfter, when not "", is sent as Retry-After.
func (s *Server) FailNext(n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, failure{status, retryAfter})
	}
}

// Calls returns how many calls were made to path (e.g. "/api/1/access_token"),
// failed ones included.
func (s *Server) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// AddOrder adds or replaces an order.
func (s *Server) AddOrder(o Order) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.Kind == "" {
		o.Kind = "table"
	}
	if o.Status == "" {
		o.Status = "New"
	}
	if o.Kind == "table" && o.TableID == "" {
		o.TableID = Tables[0]
	}
	if o.WhenCreated.IsZero() {
		o.WhenCreated = s.cfg.Now()
	}
	s.orders[o.ID] = &o
}

// CloseOrder sets an order's status to Closed, closed at at.
func (s *Server) CloseOrder(id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return fmt.Errorf("syrvefake: no order %s", id)
	}
	o.Status, o.WhenClosed = "Closed", at
	return nil
}

// AddCustomer adds a guest to Syrve Loyalty.
func (s *Server) AddCustomer(c Customer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.customers[c.Phone] = c
}

// Webhook returns the stored webhook settings, nil before registration.
func (s *Server) Webhook() *Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.webhook == nil {
		return nil
	}
	w := *s.webhook
	return &w
}

// LoseWebhooks makes SendWebhook drop (lose = true) or send webhooks.
func (s *Server) LoseWebhooks(lose bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lose = lose
}

// WebhookCounts returns how many webhooks were sent and how many were lost.
func (s *Server) WebhookCounts() (sent, lost int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent, s.lost
}

// WebhookBody returns the body Syrve would send for the order's current
// state: a JSON array with one TableOrderUpdate or DeliveryOrderUpdate.
func (s *Server) WebhookBody(orderID string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[orderID]
	if !ok {
		return nil, fmt.Errorf("syrvefake: no order %s", orderID)
	}
	typ := "TableOrderUpdate"
	if o.Kind == "delivery" {
		typ = "DeliveryOrderUpdate"
	}
	info := s.orderInfo(o)
	if o.Thin {
		info["creationStatus"], info["order"] = "InProgress", nil
	}
	ev := []map[string]any{{
		"eventType":      typ,
		"eventTime":      s.cfg.Now().UTC().Format(TimeLayout),
		"organizationId": s.cfg.OrganizationID,
		"correlationId":  s.newID(),
		"eventInfo":      info,
	}}
	return json.Marshal(ev)
}

// SendWebhook POSTs the order's webhook to the registered URI with the
// registered authToken as the Authorization header (raw, as Syrve sends it),
// and fails unless the handler answers 2xx. With LoseWebhooks it sends
// nothing and returns nil.
func (s *Server) SendWebhook(ctx context.Context, orderID string) error {
	body, err := s.WebhookBody(orderID)
	if err != nil {
		return err
	}
	s.mu.Lock()
	wh, lose := s.webhook, s.lose
	if lose {
		s.lost++
	}
	s.mu.Unlock()
	if lose {
		return nil
	}
	if wh == nil {
		return fmt.Errorf("syrvefake: no webhook registered")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, wh.URI, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if wh.AuthToken != "" {
		req.Header.Set("Authorization", wh.AuthToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("syrvefake: webhook answered %d", resp.StatusCode)
	}
	s.mu.Lock()
	s.sent++
	s.mu.Unlock()
	return nil
}

// newID returns a fresh UUID-shaped id. Call with s.mu held.
func (s *Server) newID() string {
	s.seq++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", s.seq)
}

func (s *Server) local(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.In(s.cfg.Zone).Format(TimeLayout)
}

// orderInfo renders an order as TableOrderInfo or OrderInfo. Call with s.mu held.
func (s *Server) orderInfo(o *Order) map[string]any {
	items := []map[string]any{}
	for _, it := range o.Items {
		items = append(items, map[string]any{
			"type": "Product", "status": "Added", "deleted": nil,
			"amount":  json.Number(it.Amount),
			"product": map[string]any{"id": it.ProductID, "name": it.Name},
			"price":   json.Number(it.Price), "cost": json.Number(it.Price), "pricePredefined": false,
			"resultSum": json.Number(it.Price), "positionId": s.newID(),
		})
	}
	var cust any
	if o.CustomerID != "" {
		cust = map[string]any{"type": "regular", "id": o.CustomerID, "name": o.CustomerName,
			"gender": "NotSpecified", "inBlacklist": false}
	}
	sum := o.Sum
	if sum == "" {
		sum = "0"
	}
	var phone any
	if o.Phone != "" {
		phone = o.Phone
	}
	d := map[string]any{
		"customer": cust, "phone": phone, "status": o.Status, "sum": json.Number(sum), "number": o.Number,
		"whenCreated": s.local(o.WhenCreated), "whenClosed": s.local(o.WhenClosed), "items": items,
		"payments": []any{}, "discounts": []any{}, "terminalGroupId": TerminalGroupID,
	}
	if o.Kind == "table" {
		d["tableIds"] = []string{o.TableID}
	} else {
		d["completeBefore"] = s.local(o.WhenCreated)
	}
	return map[string]any{"id": o.ID, "posId": nil, "organizationId": s.cfg.OrganizationID,
		"timestamp": s.cfg.Now().UnixMilli(), "creationStatus": "Success", "errorInfo": nil, "order": d}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[r.URL.Path]++
	if r.Method != http.MethodPost {
		s.fail(w, http.StatusMethodNotAllowed, "", "Method not allowed")
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil {
		s.fail(w, http.StatusBadRequest, "", "Invalid request body")
		return
	}
	if r.URL.Path == "/api/1/access_token" {
		var login string
		_ = json.Unmarshal(req["apiLogin"], &login)
		if login != s.cfg.APILogin {
			s.fail(w, http.StatusUnauthorized, "", "Login '"+login+"' is not authorized")
			return
		}
		s.seq++
		tok := "tok-" + strconv.Itoa(s.seq)
		s.tokens[tok] = true
		s.ok(w, map[string]any{"token": tok})
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !s.tokens[tok] {
		s.fail(w, http.StatusUnauthorized, "", "Unauthorized")
		return
	}
	if len(s.failNext) > 0 {
		f := s.failNext[0]
		s.failNext = s.failNext[1:]
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		s.fail(w, f.status, "", http.StatusText(f.status))
		return
	}
	str := func(k string) string {
		var v string
		_ = json.Unmarshal(req[k], &v)
		return v
	}
	strs := func(k string) []string {
		var v []string
		_ = json.Unmarshal(req[k], &v)
		return v
	}
	org := s.cfg.OrganizationID
	switch r.URL.Path {
	case "/api/1/organizations":
		s.ok(w, map[string]any{"organizations": []map[string]any{{
			"responseType": "Extended", "id": org, "name": DefaultOrgName, "code": nil,
			"country": "Germany", "currencyIsoName": DefaultCurrency,
		}}})
	case "/api/1/webhooks/update_settings":
		if str("organizationId") != org || str("webHooksUri") == "" {
			s.fail(w, http.StatusBadRequest, "", "Invalid organizationId or webHooksUri")
			return
		}
		s.webhook = &Webhook{URI: str("webHooksUri"), AuthToken: str("authToken"), Filter: req["webHooksFilter"]}
		s.ok(w, map[string]any{})
	case "/api/1/webhooks/settings":
		if str("organizationId") != org {
			s.fail(w, http.StatusBadRequest, "", "Invalid organizationId")
			return
		}
		out := map[string]any{"apiLoginName": "test", "webHooksUri": nil, "authToken": nil, "webHooksFilter": nil}
		if wh := s.webhook; wh != nil {
			out["webHooksUri"], out["authToken"], out["webHooksFilter"] = wh.URI, wh.AuthToken, wh.Filter
		}
		s.ok(w, out)
	case "/api/1/order/by_id", "/api/1/deliveries/by_id":
		kind, orgOK := "table", slices.Contains(strs("organizationIds"), org)
		if r.URL.Path == "/api/1/deliveries/by_id" {
			kind, orgOK = "delivery", str("organizationId") == org
		}
		if !orgOK {
			s.fail(w, http.StatusBadRequest, "", "Invalid organization")
			return
		}
		orders := []any{}
		for _, id := range strs("orderIds") {
			if o, ok := s.orders[id]; ok && o.Kind == kind {
				orders = append(orders, s.orderInfo(o))
			}
		}
		s.ok(w, map[string]any{"orders": orders})
	case "/api/1/terminal_groups":
		s.ok(w, map[string]any{"terminalGroups": []any{map[string]any{"organizationId": org,
			"items": []any{map[string]any{"id": TerminalGroupID, "organizationId": org, "name": "Main",
				"timeZone": s.cfg.Zone.String()}}}}, "terminalGroupsInSleep": []any{}})
	case "/api/1/reserve/available_restaurant_sections":
		tables := []any{}
		if slices.Contains(strs("terminalGroupIds"), TerminalGroupID) {
			for i, id := range Tables {
				tables = append(tables, map[string]any{"id": id, "number": i + 1, "name": strconv.Itoa(i + 1),
					"seatingCapacity": 4, "revision": 1, "isDeleted": false, "posId": id})
			}
		}
		s.ok(w, map[string]any{"restaurantSections": []any{map[string]any{"id": SectionID,
			"terminalGroupId": TerminalGroupID, "name": "Hall", "tables": tables}}, "revision": 1})
	case "/api/1/order/by_table":
		if len(strs("tableIds")) == 0 {
			s.fail(w, http.StatusBadRequest, "", "tableIds is required")
			return
		}
		s.ok(w, map[string]any{"orders": s.list("table", strs("tableIds"), strs("statuses"),
			str("dateFrom"), str("dateTo"))})
	case "/api/1/deliveries/by_delivery_date_and_status":
		if str("deliveryDateFrom") == "" {
			s.fail(w, http.StatusBadRequest, "", "deliveryDateFrom is required")
			return
		}
		s.ok(w, map[string]any{"maxRevision": 1, "ordersByOrganizations": []any{map[string]any{
			"organizationId": org, "orders": s.list("delivery", nil, strs("statuses"),
				str("deliveryDateFrom"), str("deliveryDateTo"))}}})
	case "/api/1/loyalty/iiko/customer/info":
		if str("type") != "phone" {
			s.fail(w, http.StatusBadRequest, "", "Unsupported type")
			return
		}
		c, ok := s.customers[str("phone")]
		if !ok {
			// Unverified wording: Syrve's real "not found" answer is not in the spec.
			s.fail(w, http.StatusBadRequest, "", "Customer with phone "+str("phone")+" not found")
			return
		}
		s.ok(w, map[string]any{"id": c.ID, "name": c.Name, "surname": nil, "phone": c.Phone, "email": c.Email,
			"cards": []any{}, "walletBalances": []any{map[string]any{"id": "w1", "name": "Bonus", "type": 1,
				"balance": json.Number("12.5")}}, "whenRegistered": "2024-01-01 00:00:00.000"})
	default:
		s.fail(w, http.StatusNotFound, "", "Not found")
	}
}

// list filters orders by kind, tables, statuses and a creation-date range
// (local terminal times). Call with s.mu held.
func (s *Server) list(kind string, tables, statuses []string, from, to string) []any {
	parse := func(v string) (time.Time, bool) {
		t, err := time.ParseInLocation(TimeLayout, v, s.cfg.Zone)
		return t, err == nil
	}
	fromT, hasFrom := parse(from)
	toT, hasTo := parse(to)
	ids := make([]string, 0, len(s.orders))
	for id := range s.orders {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := []any{}
	for _, id := range ids {
		o := s.orders[id]
		if o.Kind != kind || (tables != nil && !slices.Contains(tables, o.TableID)) ||
			(len(statuses) > 0 && !slices.Contains(statuses, o.Status)) ||
			(hasFrom && o.WhenCreated.Before(fromT)) || (hasTo && o.WhenCreated.After(toT)) {
			continue
		}
		out = append(out, s.orderInfo(o))
	}
	return out
}

// ok writes a 200 answer with a correlationId. Call with s.mu held.
func (s *Server) ok(w http.ResponseWriter, v map[string]any) {
	v["correlationId"] = s.newID()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

// fail writes Syrve's error answer. Call with s.mu held.
func (s *Server) fail(w http.ResponseWriter, status int, code, desc string) {
	var c any
	if code != "" {
		c = code
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errorDescription": desc, "error": c, "correlationId": s.newID()})
}
