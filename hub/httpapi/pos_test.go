package httpapi_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
	"github.com/7loc/hub/integrations/poster"
	"github.com/7loc/hub/integrations/poster/posterfake"
	"github.com/7loc/hub/integrations/syrve"
	"github.com/7loc/hub/integrations/syrve/syrvefake"
)

// inlineTills runs each queued till fetch at once, as a worker would, and
// keeps what each returned.
type inlineTills struct {
	mu   sync.Mutex
	svc  *hub.Service
	errs []error
	n    int
}

func (q *inlineTills) EnqueueTillSale(ctx context.Context, businessID, provider, orderID string) error {
	_, err := q.svc.FetchTillSale(ctx, businessID, provider, orderID)
	q.mu.Lock()
	defer q.mu.Unlock()
	q.n++
	if err != nil {
		q.errs = append(q.errs, err)
	}
	return nil
}

func (q *inlineTills) EnqueueTillCustomer(ctx context.Context, businessID, provider, customerID string) error {
	if err := q.svc.SyncTillCustomer(ctx, businessID, provider, customerID); err != nil {
		q.mu.Lock()
		q.errs = append(q.errs, err)
		q.mu.Unlock()
	}
	return nil
}

func (q *inlineTills) fetched() (int, []error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n, append([]error(nil), q.errs...)
}

// tillHarness is a harness whose service has the Poster and Syrve adapters
// against local fakes.
type tillHarness struct {
	*harness
	poster *posterfake.Server
	syrve  *syrvefake.Server
	queue  *inlineTills
}

func runTills(t *testing.T, fn func(t *testing.T, h *tillHarness)) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		pf := posterfake.New(posterfake.Config{})
		t.Cleanup(pf.Close)
		sf := syrvefake.New(syrvefake.Config{})
		t.Cleanup(sf.Close)
		q := &inlineTills{}
		h := newHarnessWith(t, st, func(c *hub.Config) {
			c.Tills = map[string]hub.TillProvider{
				hub.SourcePoster: &poster.Till{DefaultCurrency: "UAH", Client: &poster.Client{BaseURL: pf.APIURL(),
					AppID: pf.Config().AppID, AppSecret: pf.Config().AppSecret, HTTP: pf.Client()}},
				hub.SourceSyrve: &syrve.Till{BaseURL: sf.URL, HTTP: sf.Client()},
			}
			c.TillQueue = q
		})
		q.svc = h.svc
		fn(t, &tillHarness{harness: h, poster: pf, syrve: sf, queue: q})
	})
}

// inbound posts a till's webhook (not in the OpenAPI document, like the
// channels' /hooks/).
func (h *tillHarness) inbound(path string, body []byte, headers map[string]string) response {
	h.t.Helper()
	return h.exchange("POST", path, body, headers, false)
}

func (h *tillHarness) pos(provider string) map[string]any {
	h.t.Helper()
	return h.ok("GET", "/v1/pos/"+provider, "", 200)
}

func (h *tillHarness) sales() []any {
	h.t.Helper()
	return h.ok("GET", "/v1/sales?limit=100", "", 200)["data"].([]any)
}

func (h *tillHarness) stampsOf(phone string) float64 {
	h.t.Helper()
	cards := h.ok("GET", "/v1/cards?phone="+url.QueryEscape(phone), "", 200)["data"].([]any)
	if len(cards) != 1 {
		h.t.Fatalf("cards of %s: %v", phone, cards)
	}
	return cards[0].(map[string]any)["stamps_total"].(float64)
}

// connectPoster walks Poster's OAuth flow: PUT, the connect link, Poster's
// authorization page (the fake approves at once), the callback.
func (h *tillHarness) connectPoster() {
	h.t.Helper()
	v := h.ok("PUT", "/v1/pos/poster", `{"currency":"UAH"}`, 200)
	if v["status"] != "pending" || !strings.HasPrefix(str(v["connect_url"]), "https://hub.test/pos/poster/connect?state=") {
		h.t.Fatalf("PUT /v1/pos/poster = %v", v)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	connect := strings.TrimPrefix(str(v["connect_url"]), "https://hub.test")
	res, err := noFollow.Get(h.srv.URL + connect)
	if err != nil || res.StatusCode != http.StatusFound {
		h.t.Fatalf("connect link = %v, %v", res, err)
	}
	res.Body.Close()
	res, err = noFollow.Get(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusFound {
		h.t.Fatalf("Poster's authorize page = %v, %v", res, err)
	}
	res.Body.Close()
	back, _ := url.Parse(res.Header.Get("Location"))
	if back.Path != "/pos/poster/callback" {
		h.t.Fatalf("Poster redirects to %s", back)
	}
	res, err = noFollow.Get(h.srv.URL + back.Path + "?" + back.RawQuery)
	if err != nil || res.StatusCode != http.StatusOK {
		h.t.Fatalf("callback = %v, %v", res, err)
	}
	res.Body.Close()
}

func (h *tillHarness) posterWebhook(path string, w posterfake.Webhook) response {
	h.t.Helper()
	if w.Account == "" {
		w.Account = h.poster.Config().Account
	}
	return h.inbound(path, posterfake.WebhookBody(w, h.poster.Config().AppSecret), nil)
}

// TestPosterTill: connect through OAuth, then a closed check with a known
// client adds stamps once however often Poster sends it; a wrong signature
// does nothing; a check without a client is kept unmatched; a token revoked
// at Poster marks the connection broken.
func TestPosterTill(t *testing.T) {
	runTills(t, func(t *testing.T, h *tillHarness) {
		h.connectPoster()
		v := h.pos("poster")
		if v["status"] != "connected" || v["account"] != posterfake.DefaultAccount || v["connect_url"] != nil {
			t.Fatalf("after OAuth: %v", v)
		}
		h.ok("POST", "/v1/cards", `{"template_id":"`+h.template+`","customer":{"phone":"+380671234567"}}`, 201)
		client := h.poster.AddClient(posterfake.Client{Firstname: "Ann", Phone: "+380671234567"})
		tx := h.poster.AddTransaction(posterfake.Transaction{Status: 2, ClosedAt: time.Now(), Sum: 12000, PayedSum: 12000,
			ClientID: client, Products: []posterfake.Product{{ProductID: 7, Num: "2", Price: 6000, PayedSum: 12000}}})
		hook := posterfake.Webhook{Object: "transaction", ObjectID: strconv.FormatInt(tx, 10), Action: "closed", Time: time.Now()}
		byBusiness := "/pos/poster/" + h.business

		bad := hook
		bad.Verify = "0123456789abcdef0123456789abcdef"
		if r := h.posterWebhook(byBusiness, bad); r.status != 401 || r.code() != "unauthorized" {
			t.Errorf("wrong signature = %d %s", r.status, r.body)
		}
		if n, _ := h.queue.fetched(); n != 0 || len(h.sales()) != 0 {
			t.Fatalf("a refused webhook queued %d fetches", n)
		}
		for _, path := range []string{byBusiness, byBusiness, "/pos/poster"} { // Poster's retries; the app-wide URL
			if r := h.posterWebhook(path, hook); r.status != 200 || string(r.body) != `{"status":"accept"}` {
				t.Fatalf("webhook to %s = %d %s", path, r.status, r.body)
			}
		}
		if n, errs := h.queue.fetched(); n != 3 || len(errs) != 0 {
			t.Fatalf("fetches = %d, errors %v", n, errs)
		}
		sales := h.sales()
		if len(sales) != 1 {
			t.Fatalf("sales = %v", sales)
		}
		sale := sales[0].(map[string]any)
		if sale["source"] != "poster" || sale["status"] != "applied" || sale["total"] != "120.00" || sale["currency"] != "UAH" {
			t.Errorf("sale = %v", sale)
		}
		if got := h.stampsOf("+380671234567"); got != 1 {
			t.Errorf("stamps = %v, want 1 for three deliveries of one check", got)
		}
		if h.pos("poster")["last_webhook_at"] == nil {
			t.Errorf("last_webhook_at not recorded")
		}

		// A webhook with data (Poster's usual form for some objects) is signed over it too.
		tx2 := h.poster.AddTransaction(posterfake.Transaction{Status: 2, ClosedAt: time.Now(), Sum: 5000, PayedSum: 5000})
		withData := posterfake.Webhook{Object: "transaction", ObjectID: strconv.FormatInt(tx2, 10), Action: "closed",
			Data: `{"type_history":"close"}`, Time: time.Now()}
		if r := h.posterWebhook(byBusiness, withData); r.status != 200 {
			t.Fatalf("webhook with data = %d %s", r.status, r.body)
		}
		// No client on the check: kept unmatched, no stamp.
		var unmatched map[string]any
		for _, s := range h.sales() {
			if m := s.(map[string]any); m["order_id"] == strconv.FormatInt(tx2, 10) {
				unmatched = m
			}
		}
		if unmatched == nil || unmatched["status"] != "unmatched" {
			t.Errorf("check without a client = %v", unmatched)
		}

		// Another business's id in the path: not connected there.
		o := h.otherBusiness()
		_ = o
		if r := h.posterWebhook("/pos/poster/b_01JTZ6W1Q9M3N4R5S6T7V8W9XY", hook); r.status != 404 {
			t.Errorf("webhook for an unknown business = %d", r.status)
		}

		// The token revoked at Poster: the fetch fails for good and the connection says so.
		h.poster.RevokeAllTokens()
		tx3 := h.poster.AddTransaction(posterfake.Transaction{Status: 2, ClosedAt: time.Now(), Sum: 100, PayedSum: 100, ClientID: client})
		if r := h.posterWebhook(byBusiness, posterfake.Webhook{Object: "transaction", ObjectID: strconv.FormatInt(tx3, 10),
			Action: "closed", Time: time.Now()}); r.status != 200 {
			t.Fatalf("webhook = %d", r.status)
		}
		if _, errs := h.queue.fetched(); len(errs) != 1 || hub.ErrorCode(errs[0]) != hub.EUnauthorized {
			t.Errorf("fetch errors = %v, want one unauthorized", errs)
		}
		v = h.pos("poster")
		if v["status"] != "error" || !strings.Contains(str(v["last_error"]), "connect again") {
			t.Errorf("after the token was revoked: %v", v)
		}
		if got := h.stampsOf("+380671234567"); got != 1 {
			t.Errorf("stamps = %v after a refused fetch", got)
		}
		if all := string(h.call("GET", "/v1/pos", "").body); strings.Contains(all, posterfake.DefaultAccountNumber+":") || strings.Contains(all, `"access_token"`) {
			t.Errorf("GET /v1/pos shows the access token: %s", all)
		}

		// Disconnected: webhooks are refused.
		if r := h.call("DELETE", "/v1/pos/poster", ""); r.status != 204 {
			t.Fatalf("DELETE = %d", r.status)
		}
		if r := h.posterWebhook(byBusiness, hook); r.status != 404 {
			t.Errorf("webhook after disconnect = %d", r.status)
		}
	})
}

// TestPosterClientForANewCard: a card issued to a business connected to
// Poster makes its customer a Poster client in the service's group, once,
// however often card_issued is dispatched; a customer Poster already knows
// is not created again.
func TestPosterClientForANewCard(t *testing.T) {
	runTills(t, func(t *testing.T, h *tillHarness) {
		h.connectPoster()
		h.poster.AddClient(posterfake.Client{Firstname: "Known", Phone: "+380670000001"})
		for _, phone := range []string{"+380670000001", "+380670000002"} {
			h.ok("POST", "/v1/cards", `{"template_id":"`+h.template+`","customer":{"phone":"`+phone+`","name":"Ann"}}`, 201)
		}
		var ids []string
		for _, e := range h.ok("GET", "/v1/events?type=card_issued", "", 200)["data"].([]any) {
			ids = append(ids, str(e.(map[string]any)["id"]))
		}
		for range 2 {
			if err := h.svc.DispatchEventKeys(context.Background(), eventKeys(h.business, ids...)); err != nil {
				t.Fatal(err)
			}
		}
		if _, errs := h.queue.fetched(); len(errs) != 0 {
			t.Fatalf("sync errors: %v", errs)
		}
		byPhone := map[string]int{}
		var group int64
		for _, c := range h.poster.Clients() {
			byPhone[c.Phone]++
			if c.Phone == "+380670000002" {
				group = c.GroupID
			}
		}
		if byPhone["+380670000001"] != 1 || byPhone["+380670000002"] != 1 {
			t.Errorf("Poster clients by phone = %v, want one each", byPhone)
		}
		if g, ok := h.poster.Groups()[group]; !ok || g.Name != poster.ClientGroupName {
			t.Errorf("the new client's group = %d %+v", group, h.poster.Groups())
		}
	})
}

// TestPosterConnectRefusesAForgedState: the callback needs the state the hub
// signed; a forged or expired one connects nothing.
func TestPosterConnectRefusesAForgedState(t *testing.T) {
	runTills(t, func(t *testing.T, h *tillHarness) {
		h.ok("PUT", "/v1/pos/poster", `{}`, 200)
		for _, state := range []string{"", "b_01JTZ6W1Q9M3N4R5S6T7V8W9XY.9999999999.AAAA", h.business + ".1.x"} {
			r := h.exchange("GET", "/pos/poster/callback?code=abc&account=api-demo&state="+url.QueryEscape(state), nil, nil, false)
			if r.status != 401 {
				t.Errorf("callback with state %q = %d %s", state, r.status, r.body)
			}
		}
		if v := h.pos("poster"); v["status"] != "pending" {
			t.Errorf("after forged callbacks: %v", v)
		}
		refused(t, h.call("PUT", "/v1/pos/poster", `{"currency":"hryvnia"}`), 422, "validation_failed", "currency", "")
		refused(t, h.call("PUT", "/v1/pos/poster", `{"token":"x"}`), 422, "validation_failed", "token", "is not a known field")
		refused(t, h.call("PUT", "/v1/pos/square", `{}`), 404, "not_found", "", "")
	})
}

// TestSyrveTill: connect with an apiLogin (the hub registers its webhook),
// a closed order's webhook adds stamps once, a wrong authToken does nothing,
// a thin webhook is fetched even when the token expired mid-run, and a lost
// webhook is recovered by reconciliation.
func TestSyrveTill(t *testing.T) {
	runTills(t, func(t *testing.T, h *tillHarness) {
		refused(t, h.call("PUT", "/v1/pos/syrve", `{"api_login":"wrong"}`), 422, "validation_failed", "api_login", "")
		v := h.ok("PUT", "/v1/pos/syrve", `{"api_login":"`+syrvefake.DefaultAPILogin+`"}`, 200)
		if v["status"] != "connected" || v["account"] != syrvefake.DefaultOrganizationID || v["settings"].(map[string]any)["currency"] != "EUR" {
			t.Fatalf("PUT /v1/pos/syrve = %v", v)
		}
		wh := h.syrve.Webhook()
		if wh == nil || wh.URI != "https://hub.test/pos/syrve/"+h.business || len(wh.AuthToken) < 20 {
			t.Fatalf("registered webhook = %+v", wh)
		}
		h.ok("POST", "/v1/cards", `{"template_id":"`+h.template+`","customer":{"phone":"+491701234567"}}`, 201)
		now := time.Now().UTC()
		h.syrve.AddOrder(syrvefake.Order{ID: "o-1", Sum: "350.5", Phone: "+491701234567", WhenCreated: now.Add(-time.Hour),
			Items: []syrvefake.Item{{ProductID: "p-latte", Name: "Latte", Amount: "1", Price: "350.5"}}})
		if err := h.syrve.CloseOrder("o-1", now.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		body, err := h.syrve.WebhookBody("o-1")
		if err != nil {
			t.Fatal(err)
		}
		path := "/pos/syrve/" + h.business
		for _, auth := range []string{"", "Bearer nope", wh.AuthToken + "x"} {
			if r := h.inbound(path, body, map[string]string{"Authorization": auth}); r.status != 401 {
				t.Errorf("authToken %q = %d %s", auth, r.status, r.body)
			}
		}
		if len(h.sales()) != 0 {
			t.Fatalf("a refused webhook recorded a sale")
		}
		for _, auth := range []string{wh.AuthToken, "Bearer " + wh.AuthToken} {
			if r := h.inbound(path, body, map[string]string{"Authorization": auth}); r.status != 200 {
				t.Fatalf("webhook = %d %s", r.status, r.body)
			}
		}
		if got := h.stampsOf("+491701234567"); got != 1 {
			t.Errorf("stamps = %v, want 1", got)
		}
		if s := h.sales()[0].(map[string]any); s["total"] != "350.50" || s["order_id"] != "o-1" {
			t.Errorf("sale = %v", s)
		}

		// A thin webhook after the token expired: one refresh, the order is fetched.
		h.syrve.AddOrder(syrvefake.Order{ID: "o-2", Sum: "4", Phone: "+491701234567", WhenCreated: now.Add(-time.Hour), Thin: true})
		if err := h.syrve.CloseOrder("o-2", now.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		h.syrve.ExpireTokens()
		body, _ = h.syrve.WebhookBody("o-2")
		if r := h.inbound(path, body, map[string]string{"Authorization": wh.AuthToken}); r.status != 200 {
			t.Fatalf("thin webhook = %d %s", r.status, r.body)
		}
		if n, errs := h.queue.fetched(); n != 1 || len(errs) != 0 {
			t.Fatalf("fetches = %d, %v", n, errs)
		}
		if got := h.stampsOf("+491701234567"); got != 2 {
			t.Errorf("stamps after the thin webhook = %v, want 2", got)
		}

		// A lost webhook: reconciliation applies the order, once.
		h.syrve.AddOrder(syrvefake.Order{ID: "o-3", Sum: "9.90", Phone: "+491701234567", WhenCreated: now.Add(-2 * time.Hour)})
		if err := h.syrve.CloseOrder("o-3", now.Add(-30*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got := h.ok("POST", "/v1/pos/syrve/reconcile", "", 200)["applied"]; got != 1.0 {
			t.Errorf("reconcile applied %v, want 1 (the lost order)", got)
		}
		if got := h.ok("POST", "/v1/pos/syrve/reconcile", "", 200)["applied"]; got != 0.0 {
			t.Errorf("second reconcile applied %v, want 0", got)
		}
		if got := h.stampsOf("+491701234567"); got != 3 {
			t.Errorf("stamps after reconciliation = %v, want 3", got)
		}
		if h.pos("syrve")["last_reconciled_at"] == nil {
			t.Errorf("last_reconciled_at not recorded")
		}
		refused(t, h.call("POST", "/v1/pos/generic/reconcile", ""), 422, "validation_failed", "provider", "")
	})
}

// signGeneric signs a body as Standard Webhooks does.
func signGeneric(t *testing.T, secret, id string, at time.Time, body []byte) map[string]string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	return map[string]string{"webhook-id": id, "webhook-timestamp": ts,
		"webhook-signature": "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))}
}

// TestGenericTill: a sale signed with the connection's secret is recorded;
// a replay answers the first result; a wrong or stale signature, or a
// disconnected till, records nothing.
func TestGenericTill(t *testing.T) {
	runBoth(t, func(t *testing.T, h *harness) {
		path := "/pos/generic/" + h.business
		body := []byte(`{"order_id":"G-1","total":"7.00","currency":"EUR","customer":{"phone":"+380671234567"}}`)
		if r := h.send("POST", path, body, signGeneric(t, "whsec_AAAA", "msg_1", time.Now(), body)); r.status != 404 {
			t.Errorf("before connecting = %d %s", r.status, r.body)
		}
		v := h.ok("PUT", "/v1/pos/generic", `{}`, 200)
		secret := str(v["secret"])
		if v["status"] != "connected" || !strings.HasPrefix(secret, "whsec_") || v["webhook_url"] != "https://hub.test"+path {
			t.Fatalf("PUT /v1/pos/generic = %v", v)
		}
		if h.ok("GET", "/v1/pos/generic", "", 200)["secret"] != nil {
			t.Errorf("GET shows the secret")
		}
		h.ok("POST", "/v1/cards", `{"template_id":"`+h.template+`","customer":{"phone":"+380671234567"}}`, 201)
		bad := []struct {
			name    string
			headers map[string]string
		}{
			{"no headers", map[string]string{}},
			{"another secret", signGeneric(t, "whsec_"+base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")), "msg_1", time.Now(), body)},
			{"six minutes old", signGeneric(t, secret, "msg_1", time.Now().Add(-6*time.Minute), body)},
			{"six minutes ahead", signGeneric(t, secret, "msg_1", time.Now().Add(6*time.Minute), body)},
			{"signed over another body", signGeneric(t, secret, "msg_1", time.Now(), []byte(`{"order_id":"G-1","total":"700.00"}`))},
		}
		for _, tt := range bad {
			if r := h.send("POST", path, body, tt.headers); r.status != 401 || r.code() != "unauthorized" {
				t.Errorf("%s = %d %s", tt.name, r.status, r.body)
			}
		}
		if r := h.call("GET", "/v1/sales", ""); strings.Contains(string(r.body), "G-1") {
			t.Fatalf("a refused call recorded a sale")
		}
		signed := signGeneric(t, secret, "msg_1", time.Now().Add(-4*time.Minute), body)
		first := h.send("POST", path, body, signed)
		if first.status != 201 || first.json(t)["status"] != "applied" || first.json(t)["source"] != "generic" {
			t.Fatalf("signed sale = %d %s", first.status, first.body)
		}
		replay := h.send("POST", path, body, signed)
		if replay.status != 200 || str(replay.json(t)["id"]) != str(first.json(t)["id"]) {
			t.Errorf("replay = %d %s", replay.status, replay.body)
		}
		if r := h.send("POST", path, []byte(`{"order_id":`), signGeneric(t, secret, "msg_2", time.Now(), []byte(`{"order_id":`))); r.status != 400 {
			t.Errorf("malformed signed body = %d", r.status)
		}
		// Rotating (connecting again) retires the old secret.
		h.ok("PUT", "/v1/pos/generic", `{}`, 200)
		if r := h.send("POST", path, body, signGeneric(t, secret, "msg_3", time.Now(), body)); r.status != 401 {
			t.Errorf("old secret after reconnecting = %d", r.status)
		}
		refused(t, h.call("PUT", "/v1/pos/generic", `{"secret":"mine"}`), 422, "validation_failed", "secret", "")
	})
}
