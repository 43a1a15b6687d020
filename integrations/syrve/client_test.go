package syrve_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/integrations/syrve"
	"github.com/7loc/hub/integrations/syrve/syrvefake"
)

const org = syrvefake.DefaultOrganizationID

// newPair starts a fake and a client for it.
func newPair(t *testing.T, cfg syrvefake.Config) (*syrvefake.Server, *syrve.Client) {
	t.Helper()
	fake := syrvefake.New(cfg)
	t.Cleanup(fake.Close)
	return fake, &syrve.Client{BaseURL: fake.URL, APILogin: fake.Config().APILogin, HTTP: fake.Client(),
		Zone: cfg.Zone}
}

// clock is a settable clock safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestTokenExpiresMidRun(t *testing.T) {
	fake, c := newPair(t, syrvefake.Config{})
	ctx := context.Background()
	if _, err := c.Organizations(ctx); err != nil {
		t.Fatal(err)
	}
	if n := fake.Calls("/api/1/access_token"); n != 1 {
		t.Fatalf("access_token calls %d, want 1", n)
	}
	fake.ExpireTokens()
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			orgs, err := c.Organizations(ctx)
			if err == nil && (len(orgs) != 1 || orgs[0].ID != org) {
				err = errors.New("wrong organizations")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("call after expiry: %v", err)
		}
	}
	if n := fake.Calls("/api/1/access_token"); n != 2 {
		t.Errorf("access_token calls %d, want 2 (one refresh shared by 10 callers)", n)
	}
}

func TestTokenRefreshedBeforeItsHour(t *testing.T) {
	fake, c := newPair(t, syrvefake.Config{})
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	c.Now = clk.Now
	ctx := context.Background()
	tests := []struct {
		advance time.Duration
		want    int
	}{
		{0, 1},
		{30 * time.Minute, 1},
		{16 * time.Minute, 2}, // 46 min after the first token
		{44 * time.Minute, 2},
		{2 * time.Minute, 3},
	}
	for i, tt := range tests {
		clk.Add(tt.advance)
		if _, err := c.Organizations(ctx); err != nil {
			t.Fatal(err)
		}
		if n := fake.Calls("/api/1/access_token"); n != tt.want {
			t.Errorf("step %d: access_token calls %d, want %d", i, n, tt.want)
		}
	}
}

func TestWrongAPILogin(t *testing.T) {
	fake, c := newPair(t, syrvefake.Config{})
	c.APILogin = "wrong"
	_, err := c.Organizations(context.Background())
	var se *syrve.Error
	if !errors.As(err, &se) || se.Kind != syrve.KindAuth || se.Retryable() {
		t.Fatalf("err = %v, want a non-retryable auth error", err)
	}
	if se.Op != "/api/1/access_token" || se.Status != 401 || se.CorrelationID == "" {
		t.Errorf("error %+v", se)
	}
	if n := fake.Calls("/api/1/organizations"); n != 0 {
		t.Errorf("organizations called %d times without a token", n)
	}
}

func TestErrorKinds(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter string
		kind       syrve.Kind
		wait       time.Duration
	}{
		{"429 without Retry-After", 429, "", syrve.KindRateLimited, syrve.DefaultRetryAfter},
		{"429 with Retry-After", 429, "3", syrve.KindRateLimited, 3 * time.Second},
		{"500", 500, "", syrve.KindTransient, 0},
		{"503 with Retry-After", 503, "7", syrve.KindTransient, 7 * time.Second},
		{"408", 408, "", syrve.KindTransient, 0},
		{"400", 400, "", syrve.KindPermanent, 0},
		{"403", 403, "", syrve.KindAuth, 0},
		{"404", 404, "", syrve.KindPermanent, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, c := newPair(t, syrvefake.Config{})
			fake.FailNext(1, tt.status, tt.retryAfter)
			_, err := c.Organizations(context.Background())
			var se *syrve.Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *syrve.Error", err)
			}
			got := struct {
				Kind   syrve.Kind
				Status int
				Wait   time.Duration
			}{se.Kind, se.Status, se.RetryAfter}
			want := struct {
				Kind   syrve.Kind
				Status int
				Wait   time.Duration
			}{tt.kind, tt.status, tt.wait}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("error (-want +got):\n%s", d)
			}
			if syrve.KindOf(err) != tt.kind {
				t.Errorf("KindOf = %s", syrve.KindOf(err))
			}
			if se.Description == "" || se.CorrelationID == "" {
				t.Errorf("error body not read: %+v", se)
			}
			// The next call succeeds.
			if _, err := c.Organizations(context.Background()); err != nil {
				t.Errorf("next call: %v", err)
			}
		})
	}
}

func TestTransportErrorIsTransient(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c := &syrve.Client{BaseURL: url, APILogin: "x"}
	_, err := c.Organizations(context.Background())
	if syrve.KindOf(err) != syrve.KindTransient {
		t.Errorf("err = %v, want transient", err)
	}
}

func TestCancelledContext(t *testing.T) {
	_, c := newPair(t, syrvefake.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Organizations(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestOrganizations(t *testing.T) {
	_, c := newPair(t, syrvefake.Config{})
	got, err := c.Organizations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []syrve.Organization{{ID: org, Name: syrvefake.DefaultOrgName, Currency: "EUR", Country: "Germany"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("organizations (-want +got):\n%s", d)
	}
}

func TestWebhookSettings(t *testing.T) {
	fake, c := newPair(t, syrvefake.Config{})
	ctx := context.Background()
	ws, err := c.WebhookSettings(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	if ws.URI != "" || ws.AuthToken != "" || ws.Filter != nil {
		t.Errorf("settings before registration: %+v", ws)
	}
	if err := c.RegisterWebhook(ctx, org, "https://hub.example/pos/syrve/b1", "s3cret"); err != nil {
		t.Fatal(err)
	}
	ws, err = c.WebhookSettings(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	closed := &syrve.OrderFilter{OrderStatuses: []string{"Closed"}}
	want := &syrve.WebhookSettings{APILoginName: "test", URI: "https://hub.example/pos/syrve/b1", AuthToken: "s3cret",
		Filter: &syrve.WebhooksFilter{TableOrderFilter: closed, DeliveryOrderFilter: closed}}
	if d := cmp.Diff(want, ws); d != "" {
		t.Errorf("settings (-want +got):\n%s", d)
	}
	if got := string(fake.Webhook().Filter); got !=
		`{"deliveryOrderFilter":{"orderStatuses":["Closed"]},"tableOrderFilter":{"orderStatuses":["Closed"]}}` {
		t.Errorf("filter on the wire %s", got)
	}
	if err := c.RegisterWebhook(ctx, "other-org", "https://x", "t"); syrve.KindOf(err) != syrve.KindPermanent {
		t.Errorf("unknown org: err = %v, want permanent", err)
	}
}

func TestOrderByID(t *testing.T) {
	fake, c := newPair(t, syrvefake.Config{})
	at := time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)
	fake.AddOrder(syrvefake.Order{ID: "t1", Sum: "350.5", Phone: "+4915112345678", WhenCreated: at,
		Items: []syrvefake.Item{{ProductID: "p1", Name: "Latte", Amount: "2", Price: "175.25"}}})
	fake.AddOrder(syrvefake.Order{ID: "d1", Kind: "delivery", Sum: "10", WhenCreated: at})
	if err := fake.CloseOrder("t1", at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	o, err := c.Order(ctx, org, "t1")
	if err != nil {
		t.Fatal(err)
	}
	want := &syrve.Order{ID: "t1", OrganizationID: org, Kind: syrve.KindTable, CreationStatus: "Success",
		Timestamp: o.Timestamp, Status: "Closed", Sum: "350.5", Phone: "+4915112345678",
		WhenCreated: "2026-03-01 12:30:00.000", WhenClosed: "2026-03-01 13:30:00.000",
		Items: []syrve.Item{{Type: "Product", ProductID: "p1", ProductName: "Latte", Amount: "2", Price: "175.25",
			ResultSum: "175.25"}}}
	if d := cmp.Diff(want, o); d != "" {
		t.Errorf("order (-want +got):\n%s", d)
	}
	d, err := c.Order(ctx, org, "d1")
	if err != nil || d.Kind != syrve.KindDelivery || d.Status != "New" {
		t.Errorf("delivery = %+v, %v", d, err)
	}
	if _, err := c.Order(ctx, org, "nope"); !errors.Is(err, syrve.ErrNotFound) {
		t.Errorf("unknown order: err = %v, want ErrNotFound", err)
	}
}

func TestClosedOrders(t *testing.T) {
	zone := time.FixedZone("MSK", 3*3600)
	fake, c := newPair(t, syrvefake.Config{Zone: zone})
	from := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	to := from.Add(2 * time.Hour)
	add := func(id, kind, table string, created, closed time.Time) {
		t.Helper()
		fake.AddOrder(syrvefake.Order{ID: id, Kind: kind, TableID: table, Sum: "1", WhenCreated: created})
		if !closed.IsZero() {
			if err := fake.CloseOrder(id, closed); err != nil {
				t.Fatal(err)
			}
		}
	}
	add("a-in", "table", "", from.Add(-10*time.Minute), from.Add(30*time.Minute))
	add("b-in-table2", "table", syrvefake.Tables[1], from.Add(10*time.Minute), from.Add(90*time.Minute))
	add("c-opened-yesterday", "table", "", from.Add(-20*time.Hour), from.Add(time.Minute))
	add("d-delivery-in", "delivery", "", from.Add(-time.Hour), from.Add(time.Hour))
	add("e-before", "table", "", from.Add(-3*time.Hour), from.Add(-time.Minute))
	add("f-at-to", "table", "", from, to)
	add("g-open", "table", "", from, time.Time{})
	add("h-delivery-after", "delivery", "", from, to.Add(time.Minute))
	add("i-at-from", "delivery", "", from.Add(-time.Minute), from)

	got, err := c.ClosedOrders(context.Background(), org, from, to)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, o := range got {
		ids = append(ids, o.ID)
		if o.Zone != zone {
			t.Errorf("order %s zone %v", o.ID, o.Zone)
		}
	}
	want := []string{"i-at-from", "c-opened-yesterday", "a-in", "d-delivery-in", "b-in-table2"}
	if d := cmp.Diff(want, ids); d != "" {
		t.Errorf("closed orders (-want +got):\n%s", d)
	}
	for _, p := range []string{"/api/1/terminal_groups", "/api/1/reserve/available_restaurant_sections",
		"/api/1/order/by_table", "/api/1/deliveries/by_delivery_date_and_status"} {
		if n := fake.Calls(p); n != 1 {
			t.Errorf("%s called %d times", p, n)
		}
	}
}

func TestCustomerByPhone(t *testing.T) {
	fake, c := newPair(t, syrvefake.Config{})
	fake.AddCustomer(syrvefake.Customer{ID: "g1", Name: "Anna", Phone: "+4915112345678", Email: "a@example.com"})
	ctx := context.Background()
	tests := []struct {
		phone string
		found bool
		want  *syrve.Customer
	}{
		{"+4915112345678", true, &syrve.Customer{ID: "g1", Name: "Anna", Phone: "+4915112345678",
			Email: "a@example.com", Cards: []syrve.Card{},
			Wallets: []syrve.Wallet{{ID: "w1", Name: "Bonus", Type: 1, Balance: "12.5"}}}},
		{"+4915199999999", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.phone, func(t *testing.T) {
			got, found, err := c.CustomerByPhone(ctx, org, tt.phone)
			if err != nil {
				t.Fatal(err)
			}
			if found != tt.found {
				t.Errorf("found = %v", found)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("customer (-want +got):\n%s", d)
			}
		})
	}
	fake.FailNext(1, 500, "")
	if _, _, err := c.CustomerByPhone(ctx, org, "+4915112345678"); syrve.KindOf(err) != syrve.KindTransient {
		t.Errorf("500: err = %v, want transient", err)
	}
}

// TestWebhookToSale runs the whole path: register, close, webhook, sale; then
// a lost webhook found again by reconciliation.
func TestWebhookToSale(t *testing.T) {
	fake, c := newPair(t, syrvefake.Config{})
	const token = "hook-secret"
	var mu sync.Mutex
	var sales []hub.SaleInput
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !syrve.CheckAuth(r.Header.Get("Authorization"), token) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var body []byte
		body, _ = readAll(r)
		events, err := syrve.ParseWebhook(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, ev := range events {
			id, o, ok := syrve.ClosedOrder(ev)
			if !ok {
				continue
			}
			if o == nil {
				if o, err = c.Order(r.Context(), ev.OrganizationID, id); err != nil {
					http.Error(w, err.Error(), http.StatusServiceUnavailable)
					return
				}
			}
			if in, ok := syrve.SaleFromOrder(org, o, "EUR"); ok {
				mu.Lock()
				sales = append(sales, in)
				mu.Unlock()
			}
		}
	})
	hook := httptest.NewServer(handler)
	defer hook.Close()
	ctx := context.Background()
	if err := c.RegisterWebhook(ctx, org, hook.URL, token); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fake.AddOrder(syrvefake.Order{ID: "o1", Sum: "0.3", Phone: "+4915112345678", WhenCreated: at})
	fake.AddOrder(syrvefake.Order{ID: "o2", Sum: "12", Thin: true, WhenCreated: at})
	fake.AddOrder(syrvefake.Order{ID: "o3", Sum: "7.5", WhenCreated: at})
	if err := fake.SendWebhook(ctx, "o1"); err != nil { // still New: no sale
		t.Fatal(err)
	}
	for _, id := range []string{"o1", "o2", "o3"} {
		if err := fake.CloseOrder(id, at.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"o1", "o2"} {
		if err := fake.SendWebhook(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	fake.LoseWebhooks(true)
	if err := fake.SendWebhook(ctx, "o3"); err != nil {
		t.Fatal(err)
	}
	closedAt := "2026-03-01T12:01:00Z"
	phone := "+4915112345678"
	want := []hub.SaleInput{
		{Source: "syrve", OrderID: "o1", Total: "0.30", Currency: "EUR", Items: []hub.SaleItem{},
			ClosedAt: &closedAt, Customer: hub.SaleCustomer{Phone: &phone}},
		{Source: "syrve", OrderID: "o2", Total: "12.00", Currency: "EUR", Items: []hub.SaleItem{},
			ClosedAt: &closedAt},
	}
	if d := cmp.Diff(want, sales); d != "" {
		t.Errorf("sales from webhooks (-want +got):\n%s", d)
	}
	if sent, lost := fake.WebhookCounts(); sent != 3 || lost != 1 {
		t.Errorf("webhooks sent %d lost %d", sent, lost)
	}
	orders, err := c.ClosedOrders(ctx, org, at, at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, o := range orders {
		ids = append(ids, o.ID)
	}
	if d := cmp.Diff([]string{"o1", "o2", "o3"}, ids); d != "" {
		t.Errorf("reconciliation (-want +got):\n%s", d)
	}
	// A wrong token is refused by the handler.
	fake.LoseWebhooks(false)
	if err := c.RegisterWebhook(ctx, org, hook.URL, "wrong"); err != nil {
		t.Fatal(err)
	}
	if err := fake.SendWebhook(ctx, "o3"); err == nil {
		t.Error("webhook with a wrong token was accepted")
	}
}

// TestRefusedAfterRefresh: a 401 that survives the refresh is an auth error,
// after exactly one retry.
func TestRefusedAfterRefresh(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.URL.Path]++
		mu.Unlock()
		if r.URL.Path == "/api/1/access_token" {
			_, _ = w.Write([]byte(`{"correlationId":"c","token":"t"}`))
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"correlationId":"c","errorDescription":"Token is expired or invalid","error":null}`))
	}))
	defer srv.Close()
	c := &syrve.Client{BaseURL: srv.URL, APILogin: "x", HTTP: srv.Client()}
	_, err := c.Organizations(context.Background())
	var se *syrve.Error
	if !errors.As(err, &se) || se.Kind != syrve.KindAuth || se.Description != "Token is expired or invalid" {
		t.Fatalf("err = %v, want auth", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if d := cmp.Diff(map[string]int{"/api/1/access_token": 2, "/api/1/organizations": 2}, calls); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
}

// TestConcurrentRefreshByAge: ten callers after the token's 45 minutes make
// one access_token call between them.
func TestConcurrentRefreshByAge(t *testing.T) {
	fake, c := newPair(t, syrvefake.Config{})
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	c.Now = clk.Now
	ctx := context.Background()
	if _, err := c.Organizations(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Add(syrve.TokenRefreshAfter)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := c.Organizations(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := fake.Calls("/api/1/access_token"); n != 2 {
		t.Errorf("access_token calls %d, want 2", n)
	}
}

// TestFailedRefreshIsNotCached: a transient access_token failure reaches the
// caller and the next call asks again.
func TestFailedRefreshIsNotCached(t *testing.T) {
	var mu sync.Mutex
	fail := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		f := fail
		mu.Unlock()
		if r.URL.Path == "/api/1/access_token" && f {
			w.Header().Set("Retry-After", "5")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"correlationId":"c","errorDescription":"down"}`))
			return
		}
		if r.URL.Path == "/api/1/access_token" {
			_, _ = w.Write([]byte(`{"correlationId":"c","token":"t"}`))
			return
		}
		_, _ = w.Write([]byte(`{"correlationId":"c","organizations":[]}`))
	}))
	defer srv.Close()
	c := &syrve.Client{BaseURL: srv.URL, APILogin: "x", HTTP: srv.Client()}
	_, err := c.Organizations(context.Background())
	var se *syrve.Error
	if !errors.As(err, &se) || se.Kind != syrve.KindTransient || se.RetryAfter != 5*time.Second {
		t.Fatalf("err = %v, want transient with Retry-After 5 s", err)
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	if _, err := c.Organizations(context.Background()); err != nil {
		t.Errorf("after recovery: %v", err)
	}
}

// TestWaiterCancelled: a caller waiting for a shared refresh can give up.
func TestWaiterCancelled(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		_, _ = w.Write([]byte(`{"correlationId":"c","token":"t"}`))
	}))
	defer srv.Close()
	defer close(release)
	c := &syrve.Client{BaseURL: srv.URL, APILogin: "x", HTTP: srv.Client()}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Organizations(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's deadline", err)
	}
}
