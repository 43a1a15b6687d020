package poster_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/integrations/poster"
	"github.com/7loc/hub/integrations/poster/posterfake"
)

// newFake starts a fake Poster and a client for it.
func newFake(t *testing.T) (*posterfake.Server, *poster.Client) {
	t.Helper()
	fake := posterfake.New(posterfake.Config{})
	t.Cleanup(fake.Close)
	cfg := fake.Config()
	return fake, &poster.Client{BaseURL: fake.APIURL(), AppID: cfg.AppID, AppSecret: cfg.AppSecret, HTTP: fake.Client()}
}

func TestAuthorizeURL(t *testing.T) {
	c := &poster.Client{AppID: "76"}
	got, err := url.Parse(c.AuthorizeURL("https://hub.example/pos/poster/callback", "st-1"))
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{"client_id": {"76"}, "application_id": {"76"}, "response_type": {"code"},
		"redirect_uri": {"https://hub.example/pos/poster/callback"}, "state": {"st-1"}}
	if got.Scheme+"://"+got.Host+got.Path != "https://joinposter.com/api/auth" {
		t.Errorf("endpoint %s", got)
	}
	if d := cmp.Diff(want, got.Query()); d != "" {
		t.Errorf("query (-want +got):\n%s", d)
	}
}

func TestOAuthFlow(t *testing.T) {
	fake, c := newFake(t)
	ctx := context.Background()
	const redirect = "https://hub.example/pos/poster/callback"
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(c.AuthorizeURL(redirect, "st-1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize status %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	q := loc.Query()
	if q.Get("account") != posterfake.DefaultAccount || q.Get("state") != "st-1" || len(q.Get("code")) != 32 {
		t.Fatalf("redirect %s", loc)
	}
	tok, err := c.ExchangeCode(ctx, q.Get("account"), q.Get("code"), redirect)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Account != posterfake.DefaultAccount || tok.AccountNumber != posterfake.DefaultAccountNumber ||
		!strings.HasPrefix(tok.AccessToken, posterfake.DefaultAccountNumber+":") || tok.UserID != 4 ||
		tok.CompanyName != "dev-example" {
		t.Errorf("token %+v", tok)
	}
	id := fake.AddTransaction(posterfake.Transaction{PayedSum: 100})
	if _, err := c.Transaction(ctx, tok.AccessToken, strconv.FormatInt(id, 10)); err != nil {
		t.Errorf("new token does not work: %v", err)
	}
	// A code works once.
	_, err = c.ExchangeCode(ctx, q.Get("account"), q.Get("code"), redirect)
	if poster.KindOf(err) != poster.KindPermanent {
		t.Errorf("reused code: %v", err)
	}
	// A wrong secret is permanent with Poster's code.
	bad := *c
	bad.AppSecret = "nope"
	_, err = bad.ExchangeCode(ctx, "api-demo", "whatever", redirect)
	var pe *poster.Error
	if !errors.As(err, &pe) || pe.Kind != poster.KindPermanent || pe.Code != 142 {
		t.Errorf("wrong secret: %v", err)
	}
}

func TestTransactionToSale(t *testing.T) {
	fake, c := newFake(t)
	ctx := context.Background()
	group := fake.AddGroup(posterfake.Group{Name: "Regulars"})
	clientID := fake.AddClient(posterfake.Client{Firstname: "Olena", Phone: "+380 50 11-11-111", GroupID: group})
	closed := time.Date(2024, 8, 31, 9, 20, 22, 123e6, time.UTC)
	withClient := fake.AddTransaction(posterfake.Transaction{
		ClosedAt: closed, PayedSum: 12345, PayedCash: 345, PayedBonus: 500, Sum: 12845, ClientID: clientID,
		Products: []posterfake.Product{{ProductID: 162, Num: "2", Price: 5000}, {ProductID: 7, ModificationID: 3, Num: "0.5", Price: 4690}},
	})
	anonymous := fake.AddTransaction(posterfake.Transaction{ClosedAt: closed, PayedSum: 1,
		Products: []posterfake.Product{{ProductID: 1, Price: 1}}})

	tests := []struct {
		name string
		id   int64
		want hub.SaleInput
	}{
		{"with a client", withClient, hub.SaleInput{
			Source: "poster", OrderID: strconv.FormatInt(withClient, 10), Total: "123.45", Currency: "UAH",
			ClosedAt: ptr("2024-08-31T09:20:22Z"), Customer: hub.SaleCustomer{Phone: ptr("+380501111111")},
			Items: []hub.SaleItem{{SKU: "162", Quantity: "2", Price: "50.00"}, {SKU: "7", Quantity: "0.5", Price: "46.90"}},
		}},
		{"no client", anonymous, hub.SaleInput{
			Source: "poster", OrderID: strconv.FormatInt(anonymous, 10), Total: "0.01", Currency: "UAH",
			ClosedAt: ptr("2024-08-31T09:20:22Z"),
			Items:    []hub.SaleItem{{SKU: "1", Quantity: "1", Price: "0.01"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := c.Transaction(ctx, fake.Token(), strconv.FormatInt(tt.id, 10))
			if err != nil {
				t.Fatal(err)
			}
			var pc *poster.PosterClient
			if tx.HasClient() {
				if pc, err = c.ClientByID(ctx, fake.Token(), string(tx.ClientID)); err != nil {
					t.Fatal(err)
				}
			}
			got, err := poster.SaleFromTransaction(tx, pc, "UAH")
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("sale (-want +got):\n%s", d)
			}
		})
	}

	open := fake.AddTransaction(posterfake.Transaction{Status: 1, PayedSum: 100})
	tx, err := c.Transaction(ctx, fake.Token(), strconv.FormatInt(open, 10))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := poster.SaleFromTransaction(tx, nil, "UAH"); !errors.Is(err, poster.ErrNotClosed) {
		t.Errorf("open check: %v", err)
	}
	_, err = c.Transaction(ctx, fake.Token(), "999999")
	if hub.ErrorCode(err) != hub.ENotFound || !poster.IsNotFound(err) || poster.IsRetryable(err) {
		t.Errorf("missing transaction: %v", err)
	}
	if _, err := c.Transaction(ctx, fake.Token(), "1;drop"); hub.ErrorCode(err) != hub.EValidation {
		t.Errorf("bad id: %v", err)
	}
}

func TestTokenRevoked(t *testing.T) {
	fake, c := newFake(t)
	ctx := context.Background()
	id := strconv.FormatInt(fake.AddTransaction(posterfake.Transaction{PayedSum: 100}), 10)
	if _, err := c.Transaction(ctx, fake.Token(), id); err != nil {
		t.Fatal(err)
	}
	fake.RevokeToken(fake.Token())
	_, err := c.Transaction(ctx, fake.Token(), id)
	var pe *poster.Error
	if !errors.As(err, &pe) || pe.Kind != poster.KindAuthRevoked || pe.Code != 11 || pe.HTTPStatus != http.StatusOK {
		t.Fatalf("revoked token: %#v", err)
	}
	if !poster.IsAuthRevoked(err) || poster.IsRetryable(err) || pe.Retryable() {
		t.Errorf("revoked token must be auth_revoked and not retryable")
	}
	if strings.Contains(err.Error(), fake.Token()) {
		t.Errorf("error leaks the token: %v", err)
	}
	if _, err := c.Transaction(ctx, "", id); !poster.IsAuthRevoked(err) {
		t.Errorf("no token: %v", err)
	}
}

func TestErrorClassification(t *testing.T) {
	tests := []struct {
		name       string
		fail       posterfake.Failure
		kind       poster.Kind
		retryable  bool
		retryAfter time.Duration
	}{
		{"bad token, HTTP 200", posterfake.ErrBadToken, poster.KindAuthRevoked, false, 0},
		{"no token", posterfake.ErrNoToken, poster.KindAuthRevoked, false, 0},
		{"expired token", posterfake.ErrExpired, poster.KindAuthRevoked, false, 0},
		{"rate restriction 700", posterfake.ErrRateLimited, poster.KindRateLimited, true, 0},
		{"HTTP 429 with Retry-After", posterfake.Failure{HTTPStatus: 429, Message: "Too Many Requests", RetryAfter: 7 * time.Second},
			poster.KindRateLimited, true, 7 * time.Second},
		{"HTTP 500", posterfake.ErrServer, poster.KindTransient, true, 0},
		{"HTTP 502 with JSON", posterfake.Failure{HTTPStatus: 502, Code: 0, Message: "Bad Gateway"}, poster.KindTransient, true, 0},
		{"HTTP 503 with a permanent code", posterfake.Failure{HTTPStatus: 503, Code: 34, Message: "x"}, poster.KindTransient, true, 0},
		{"HTTP 503 with code 11", posterfake.Failure{HTTPStatus: 503, Code: 11, Message: "Bad access token"}, poster.KindAuthRevoked, false, 0},
		{"error saving data 44", posterfake.Failure{Code: 44, Message: "Error saving data"}, poster.KindTransient, true, 0},
		{"not authorized for method 20", posterfake.Failure{Code: 20, Message: "The application is not authorized"}, poster.KindPermanent, false, 0},
		{"missing properties 34", posterfake.Failure{Code: 34, Message: "Absence of required properties"}, poster.KindPermanent, false, 0},
		{"HTTP 401 without a code", posterfake.Failure{HTTPStatus: 401, Message: "Unauthorized"}, poster.KindAuthRevoked, false, 0},
		{"HTTP 400 without a code", posterfake.Failure{HTTPStatus: 400, Message: "Bad Request"}, poster.KindPermanent, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, c := newFake(t)
			fake.FailNext(1, tt.fail)
			_, err := c.Groups(context.Background(), fake.Token())
			var pe *poster.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not *poster.Error", err)
			}
			if pe.Kind != tt.kind || poster.IsRetryable(err) != tt.retryable || pe.RetryAfter != tt.retryAfter {
				t.Errorf("got kind %s retryable %v retry-after %s; want %s %v %s (%v)",
					pe.Kind, poster.IsRetryable(err), pe.RetryAfter, tt.kind, tt.retryable, tt.retryAfter, err)
			}
			if _, err := c.Groups(context.Background(), fake.Token()); err != nil {
				t.Errorf("the call after the failure: %v", err)
			}
		})
	}
}

func TestTransportErrors(t *testing.T) {
	t.Run("down", func(t *testing.T) {
		fake, c := newFake(t)
		fake.SetDown(true)
		_, err := c.Groups(context.Background(), fake.Token())
		if poster.KindOf(err) != poster.KindTransient || strings.Contains(err.Error(), fake.Token()) {
			t.Errorf("down: %v", err)
		}
	})
	t.Run("timeout from context", func(t *testing.T) {
		fake, c := newFake(t)
		fake.SetDelay(2 * time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.Groups(ctx, fake.Token())
		if poster.KindOf(err) != poster.KindTransient || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("timeout: %v", err)
		}
		if time.Since(start) > time.Second {
			t.Errorf("the deadline was not honoured")
		}
	})
	t.Run("garbage 200", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "<html>maintenance</html>")
		}))
		defer srv.Close()
		c := &poster.Client{BaseURL: srv.URL, HTTP: srv.Client()}
		if _, err := c.Groups(context.Background(), "t"); poster.KindOf(err) != poster.KindTransient {
			t.Errorf("garbage: %v", err)
		}
	})
}

func TestEnsureGroup(t *testing.T) {
	fake, c := newFake(t)
	ctx := context.Background()
	fake.AddGroup(posterfake.Group{Name: "Regulars", Discount: 10})
	fake.AddGroup(posterfake.Group{Name: "7loc", Deleted: true})
	id1, err := c.EnsureGroup(ctx, fake.Token(), "7loc")
	if err != nil {
		t.Fatal(err)
	}
	id2, err := c.EnsureGroup(ctx, fake.Token(), " 7LOC ")
	if err != nil {
		t.Fatal(err)
	}
	if id1 != id2 || fake.CallsTo("clients.createGroup") != 1 {
		t.Errorf("ids %d, %d; createGroup called %d times", id1, id2, fake.CallsTo("clients.createGroup"))
	}
	g := fake.Groups()[id1]
	if g.Name != "7loc" || g.Discount != 0 || g.LoyaltyType != 2 || g.Deleted {
		t.Errorf("created group %+v", g)
	}
	if _, err := c.EnsureGroup(ctx, fake.Token(), " "); hub.ErrorCode(err) != hub.EValidation {
		t.Errorf("empty name: %v", err)
	}
}

func TestClients(t *testing.T) {
	fake, c := newFake(t)
	ctx := context.Background()
	gid, err := c.EnsureGroup(ctx, fake.Token(), "7loc")
	if err != nil {
		t.Fatal(err)
	}
	found, err := c.FindClientByPhone(ctx, fake.Token(), "+380 50 111 1111")
	if err != nil || found != nil {
		t.Fatalf("before create: %+v, %v", found, err)
	}
	id, err := c.CreateClient(ctx, fake.Token(), poster.NewClient{Name: "Kovalenko Olena", Phone: "+380501111111", GroupID: gid,
		Email: "olena@example.com", Birthday: "1990-05-01"})
	if err != nil {
		t.Fatal(err)
	}
	found, err = c.FindClientByPhone(ctx, fake.Token(), "+380 50 111 1111")
	if err != nil || found == nil || found.ClientID.Int() != id || found.GroupID.Int() != gid {
		t.Fatalf("after create: %+v, %v", found, err)
	}
	byID, err := c.ClientByID(ctx, fake.Token(), strconv.FormatInt(id, 10))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(found, byID); d != "" {
		t.Errorf("getClient vs getClients (-find +byID):\n%s", d)
	}
	// Poster keeps phones unique.
	_, err = c.CreateClient(ctx, fake.Token(), poster.NewClient{Name: "Twin", Phone: "+380501111111", GroupID: gid})
	var pe *poster.Error
	if !errors.As(err, &pe) || pe.Code != 99 || pe.Kind != poster.KindPermanent {
		t.Errorf("duplicate phone: %v", err)
	}
	if _, err := c.CreateClient(ctx, fake.Token(), poster.NewClient{Phone: "+380501111112"}); hub.ErrorCode(err) != hub.EValidation {
		t.Errorf("no name, no group: %v", err)
	}
	if _, err := c.ClientByID(ctx, fake.Token(), "424242"); !poster.IsNotFound(err) {
		t.Errorf("missing client: %v", err)
	}
	if _, err := c.FindClientByPhone(ctx, fake.Token(), "050 111"); hub.ErrorCode(err) != hub.EValidation {
		t.Errorf("bad phone: %v", err)
	}
}

// TestWebhookEndToEnd: the fake signs a webhook, a handler verifies it with
// ParseWebhook, fetches the check and maps it to a sale.
func TestWebhookEndToEnd(t *testing.T) {
	fake, c := newFake(t)
	id := fake.AddTransaction(posterfake.Transaction{PayedSum: 4500, ClosedAt: time.Unix(1700000000, 0),
		Products: []posterfake.Product{{ProductID: 5, Num: "3", Price: 1500}}})
	var (
		mu    sync.Mutex
		sales []hub.SaleInput
	)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		wh, err := poster.ParseWebhook(body, fake.Config().AppSecret)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if txID, ok := wh.ClosedCheck(); ok {
			tx, err := c.Transaction(r.Context(), fake.Token(), txID)
			if err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			sale, err := poster.SaleFromTransaction(tx, nil, "UAH")
			if err == nil {
				mu.Lock()
				sales = append(sales, sale)
				mu.Unlock()
			}
		}
		io.WriteString(w, `{"status":"accept"}`)
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx := context.Background()
	oid := strconv.FormatInt(id, 10)
	for _, w := range []posterfake.Webhook{
		{Object: "transaction", ObjectID: oid, Action: "closed"},
		{Object: "transaction", ObjectID: oid, Action: "changed", ObjectIDAsString: true,
			Data: `{"transactions_history":{"type_history":"close","time":1700000000000}}`},
		{Object: "transaction", ObjectID: oid, Action: "changed", Data: `{"transactions_history":{"type_history":"additem"}}`},
		{Object: "client", ObjectID: "3", Action: "added"},
	} {
		if err := fake.SendWebhook(ctx, srv.URL, w); err != nil {
			t.Errorf("%s/%s: %v", w.Object, w.Action, err)
		}
	}
	if err := fake.SendWebhook(ctx, srv.URL, posterfake.Webhook{Object: "transaction", ObjectID: oid, Action: "closed",
		Verify: "00000000000000000000000000000000"}); err == nil {
		t.Errorf("a wrong signature was accepted")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sales) != 2 || sales[0].Total != "45.00" || *sales[0].ClosedAt != "2023-11-14T22:13:20Z" ||
		sales[0].Items[0].Price != "15.00" || sales[1].OrderID != oid {
		t.Errorf("sales %+v", sales)
	}
	if fake.CallsTo("dash.getTransaction") != 2 {
		t.Errorf("getTransaction called %d times", fake.CallsTo("dash.getTransaction"))
	}
}

// TestExchangeCodeAccountIsChecked: on Poster's own host the account from
// the redirect becomes a subdomain, so anything but a DNS label is refused
// before any call.
func TestExchangeCodeAccountIsChecked(t *testing.T) {
	c := &poster.Client{AppID: "76", AppSecret: "s", HTTP: &http.Client{Transport: failTransport{t}}}
	for _, account := range []string{"evil.example/x", "a@b", "", "-x", "api-demo.attacker.example"} {
		if _, err := c.ExchangeCode(context.Background(), account, "code", "https://hub.example/cb"); hub.ErrorCode(err) != hub.EValidation {
			t.Errorf("account %q: %v", account, err)
		}
	}
	if _, err := c.ExchangeCode(context.Background(), "api-demo", "", "https://hub.example/cb"); hub.ErrorCode(err) != hub.EValidation {
		t.Errorf("empty code: %v", err)
	}
}

// failTransport fails the test on any request.
type failTransport struct{ t *testing.T }

func (f failTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("unexpected request to %s", r.URL.Host)
	return nil, errors.New("no network in this test")
}
