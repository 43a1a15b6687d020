package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/cardpage"
	"github.com/7loc/hub/hub/httpapi"
	"github.com/7loc/hub/hub/httpapi/openapitest"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
	"github.com/7loc/hub/templates"
)

const adminToken = "test-admin-token"

// recorder is an EventPublisher that remembers what it was given.
type recorder struct {
	mu   sync.Mutex
	keys []hub.EventKey
}

func (r *recorder) PublishEvents(_ context.Context, keys []hub.EventKey) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = append(r.keys, keys...)
	return nil
}

// jobRecorder is a WebhookQueue that remembers the jobs.
type jobRecorder struct {
	mu   sync.Mutex
	jobs []hub.DeliveryJob
}

func (r *jobRecorder) EnqueueDeliveries(_ context.Context, jobs []hub.DeliveryJob) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs = append(r.jobs, jobs...)
	return nil
}

func (r *jobRecorder) all() []hub.DeliveryJob {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hub.DeliveryJob(nil), r.jobs...)
}

// harness is a hub API on a real store behind a real HTTP server, with a
// business, a staff login with its key, a location and a card template made
// through the operator API. Every exchange is checked against the OpenAPI document.
type harness struct {
	t        *testing.T
	store    *sqlstore.Store
	svc      *hub.Service
	pub      *recorder
	jobs     *jobRecorder
	srv      *httptest.Server
	checker  *openapitest.Checker
	key      string
	business string
	location string
	template string
	vtpl     string
}

type harnessOption func(*httpapi.Config)

func withLimiter(l httpapi.Limiter) harnessOption { return func(c *httpapi.Config) { c.Limiter = l } }
func withChecks(ch map[string]func(context.Context) error) harnessOption {
	return func(c *httpapi.Config) { c.Checks = ch }
}

func newHarness(t *testing.T, st *sqlstore.Store, opts ...harnessOption) *harness {
	t.Helper()
	return newHarnessWith(t, st, nil, opts...)
}

// newHarnessWith is newHarness with the service's configuration changed by
// edit (nil changes nothing).
func newHarnessWith(t *testing.T, st *sqlstore.Store, edit func(*hub.Config), opts ...harnessOption) *harness {
	t.Helper()
	h := &harness{t: t, store: st, pub: &recorder{}, jobs: &jobRecorder{}, checker: openapitest.New(t)}
	cfg := hub.Config{Store: st, Publisher: h.pub, PublicURL: "https://hub.test", Webhooks: h.jobs,
		Renderer: templates.New(templates.Options{}), Defaults: templates.Defaults(),
		SecretKey: []byte("0123456789abcdef0123456789abcdef")}
	if edit != nil {
		edit(&cfg)
	}
	svc, err := hub.NewService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.svc = svc
	pages, err := cardpage.New()
	if err != nil {
		t.Fatal(err)
	}
	hcfg := httpapi.Config{Service: svc, AdminToken: adminToken, Pages: pages,
		Checks: map[string]func(context.Context) error{"database": st.Ping}}
	for _, o := range opts {
		o(&hcfg)
	}
	handler, err := httpapi.New(hcfg)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = httptest.NewServer(handler)
	t.Cleanup(h.srv.Close)

	biz := h.admin("POST", "/admin/v1/businesses", `{"name":"Café Ann","timezone":"Europe/Kyiv"}`, 201)
	h.business = str(biz["id"])
	h.location = str(h.admin("POST", "/admin/v1/businesses/"+h.business+"/locations", `{"name":"Main"}`, 201)["id"])
	h.admin("POST", "/admin/v1/businesses/"+h.business+"/staff", `{"login":"barista","name":"Bo"}`, 201)
	h.key = str(h.admin("POST", "/admin/v1/businesses/"+h.business+"/api-keys", `{"login":"barista","name":"Till 1"}`, 201)["key"])
	h.template = str(h.admin("POST", "/admin/v1/businesses/"+h.business+"/card-templates",
		`{"name":"Coffee","goals":[{"stamps":3,"reward":{"title":"Espresso"}},{"stamps":5,"reward":{"title":"Cake","description":"Any"}}],
		  "lottery":{"prizes":[{"title":"Cookie","weight":1}],"lose_weight":1}}`, 201)["id"])
	h.vtpl = str(h.admin("POST", "/admin/v1/businesses/"+h.business+"/voucher-templates", `{"title":"10% off","valid_days":30}`, 201)["id"])
	return h
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// response is one HTTP exchange's result.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %.300s", err, r.body)
	}
	return m
}

func (r response) code() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Code
}

// send makes a request with raw body and headers and checks the exchange against the document.
func (h *harness) send(method, path string, body []byte, headers map[string]string) response {
	h.t.Helper()
	return h.exchange(method, path, body, headers, true)
}

// exchange is send with the document check optional, for requests to paths
// the document cannot know (a route that does not exist).
func (h *harness) exchange(method, path string, body []byte, headers map[string]string, check bool) response {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	if check {
		h.checker.Check(h.t, req, body, res.StatusCode, res.Header, b)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// call makes an API-key request with a JSON body (string) or none ("").
func (h *harness) call(method, path, body string) response {
	h.t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	return h.send(method, path, b, map[string]string{"Authorization": "Bearer " + h.key})
}

// ok makes an API-key call that must answer with the status; it returns the body as a map.
func (h *harness) ok(method, path, body string, status int) map[string]any {
	h.t.Helper()
	r := h.call(method, path, body)
	if r.status != status {
		h.t.Fatalf("%s %s = %d, want %d: %s", method, path, r.status, status, r.body)
	}
	if len(r.body) == 0 {
		return nil
	}
	return r.json(h.t)
}

// admin makes an operator call that must answer with the status.
func (h *harness) admin(method, path, body string, status int) map[string]any {
	h.t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	r := h.send(method, path, b, map[string]string{"Authorization": "Bearer " + adminToken})
	if r.status != status {
		h.t.Fatalf("%s %s = %d, want %d: %s", method, path, r.status, status, r.body)
	}
	if len(r.body) == 0 {
		return nil
	}
	return r.json(h.t)
}

// card issues a card to the email and returns its id.
func (h *harness) card(email string) string {
	h.t.Helper()
	return str(h.ok("POST", "/v1/cards", `{"template_id":"`+h.template+`","customer":{"email":"`+email+`"}}`, 201)["id"])
}

// snapshot is the observable state that a refused request must leave alone.
func (h *harness) snapshot() string {
	h.t.Helper()
	var parts []string
	for _, p := range []string{"/v1/events?limit=100", "/v1/cards?limit=100", "/v1/vouchers?limit=100", "/v1/customers?limit=100"} {
		r := h.call("GET", p, "")
		if r.status != 200 {
			h.t.Fatalf("GET %s = %d", p, r.status)
		}
		parts = append(parts, string(r.body))
	}
	return strings.Join(parts, "\n")
}

func runBoth(t *testing.T, fn func(t *testing.T, h *harness), opts ...harnessOption) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		fn(t, newHarness(t, st, opts...))
	})
}
