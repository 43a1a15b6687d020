package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/console"
	"github.com/7loc/hub/hub/password"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/templates"
)

// ownerPassword is the password every test owner sets.
const ownerPassword = "teal-otter-grows-42"

// clock is a settable clock shared by the service and the throttles.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// jobs is a WebhookQueue that remembers the jobs.
type jobs struct {
	mu   sync.Mutex
	list []hub.DeliveryJob
}

func (j *jobs) EnqueueDeliveries(_ context.Context, js []hub.DeliveryJob) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.list = append(j.list, js...)
	return nil
}

// harness is the console on a real store behind a real HTTP server, with a
// business "Café" (time zone Asia/Bangkok), a staff login "anna" with a key,
// and its owner owner@example.com with a password. The service renders
// message templates, and a new business gets the ready-made templates and
// automations (templates.Defaults).
type harness struct {
	t     *testing.T
	ctx   context.Context
	store *sqlstore.Store
	svc   *hub.Service
	clock *clock
	jobs  *jobs
	// mail records the owners' emails (password resets).
	mail *mailbox
	// registered records the webhooks registered with providers;
	// registerErr, when set, is the providers' answer.
	registered  []string
	registerErr error
	srv         *httptest.Server
	business    *hub.Business
	owner       *hub.Owner
}

type harnessOption func(*console.Config)

func newHarness(t *testing.T, st *sqlstore.Store, opts ...harnessOption) *harness {
	t.Helper()
	h := &harness{t: t, ctx: context.Background(), store: st,
		clock: &clock{now: time.Date(2026, 5, 11, 12, 0, 0, 0, time.UTC)}, jobs: &jobs{}, mail: &mailbox{}}
	svc, err := hub.NewService(hub.Config{Store: st, Now: h.clock.Now, PublicURL: "https://hub.test",
		Passwords: password.New(password.Fast), Webhooks: h.jobs, OwnerMail: h.mail,
		SecretKey: []byte("0123456789abcdef0123456789abcdef"),
		Renderer:  templates.New(templates.Options{}), Defaults: templates.Defaults(),
		RegisterWebhook: func(_ context.Context, cfg *hub.ChannelConfig, url string) error {
			if h.registerErr != nil {
				return h.registerErr
			}
			h.registered = append(h.registered, cfg.Provider+" "+url)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	h.svc = svc
	cfg := console.Config{Service: svc, Logger: slog.New(slog.NewTextHandler(testLog{t}, nil)),
		AccountThrottle: console.NewMemoryThrottle(console.DefaultAccountLimit, h.clock.Now),
		AddressThrottle: console.NewMemoryThrottle(console.DefaultAddressLimit, h.clock.Now)}
	for _, o := range opts {
		o(&cfg)
	}
	handler, err := console.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = httptest.NewServer(handler)
	t.Cleanup(h.srv.Close)
	h.business, h.owner = h.newBusiness("Café", "anna", "owner@example.com")
	return h
}

// newBusiness makes a business with a staff login that has a key, and an
// owner with the test password.
func (h *harness) newBusiness(name, login, email string) (*hub.Business, *hub.Owner) {
	h.t.Helper()
	b, err := h.svc.CreateBusiness(h.ctx, hub.BusinessInput{Name: name, Timezone: ptr("Asia/Bangkok")})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.svc.CreateStaff(h.ctx, b.ID, hub.StaffInput{Login: login}); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.svc.CreateAPIKey(h.ctx, b.ID, hub.APIKeyInput{Login: login, Name: ptr(login + " till")}); err != nil {
		h.t.Fatal(err)
	}
	inv, err := h.svc.InviteOwner(h.ctx, b.ID, hub.OwnerInput{Email: email})
	if err != nil {
		h.t.Fatal(err)
	}
	o, err := h.svc.AcceptInvitation(h.ctx, inv.Token, ownerPassword)
	if err != nil {
		h.t.Fatal(err)
	}
	return b, o
}

// testLog writes logs to the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Helper()
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	h      *harness
	client *http.Client
	header http.Header
}

func (h *harness) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{h: h, header: http.Header{}, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is an answer: status, headers and body.
type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values, header ...string) page {
	b.h.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.h.srv.URL+path, body)
	if err != nil {
		b.h.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range b.header {
		req.Header[k] = v
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.h.t.Fatal(err)
	}
	return page{status: resp.StatusCode, header: resp.Header, body: string(raw)}
}

func (b *browser) get(path string, header ...string) page { return b.do("GET", path, nil, header...) }

func (b *browser) post(path string, form url.Values, header ...string) page {
	return b.do("POST", path, form, header...)
}

// login logs in as email with the test password and expects success.
func (b *browser) login(email string) {
	b.h.t.Helper()
	p := b.post("/console/login", url.Values{"email": {email}, "password": {ownerPassword}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/api-keys" {
		b.h.t.Fatalf("login %s: %d %s\n%s", email, p.status, p.header.Get("Location"), p.body)
	}
}

// want checks an answer's status.
func want(t *testing.T, p page, status int) {
	t.Helper()
	if p.status != status {
		t.Fatalf("status %d, want %d\n%s", p.status, status, p.body)
	}
}

// contains checks that the body has every string.
func contains(t *testing.T, p page, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(p.body, s) {
			t.Errorf("the page does not contain %q\n%s", s, p.body)
		}
	}
}

var newKeyRE = regexp.MustCompile(`data-testid="new-key">([^<]+)<`)

// newKey returns the key shown once in a page, or "".
func newKey(p page) string {
	m := newKeyRE.FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return m[1]
}

func ptr[T any](v T) *T { return &v }
