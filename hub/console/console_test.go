package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/console"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

func TestLogin(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		b := h.browser()

		p := b.get("/console/api-keys")
		want(t, p, http.StatusSeeOther)
		if got := p.header.Get("Location"); got != "/console/login" {
			t.Fatalf("not logged in: redirected to %q", got)
		}
		p = b.get("/console/login")
		want(t, p, http.StatusOK)
		contains(t, p, `<label for="email">Email</label>`, `<label for="password">Password</label>`,
			`<button type="submit">Log in</button>`)

		tests := []struct {
			name, email, password string
			status                int
		}{
			{"wrong password", "owner@example.com", "teal-otter-grows-43", http.StatusUnauthorized},
			{"unknown email", "nobody@example.com", ownerPassword, http.StatusUnauthorized},
			{"empty", "", "", http.StatusUnauthorized},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := b.post("/console/login", url.Values{"email": {tt.email}, "password": {tt.password}})
				want(t, p, tt.status)
				contains(t, p, "Wrong email or password.")
				if len(p.header.Values("Set-Cookie")) != 0 {
					t.Errorf("a failed login set a cookie: %v", p.header.Values("Set-Cookie"))
				}
			})
		}

		p = b.post("/console/login", url.Values{"email": {"Owner@Example.com"}, "password": {ownerPassword}})
		want(t, p, http.StatusSeeOther)
		cookie := p.header.Get("Set-Cookie")
		for _, attr := range []string{"hub_session=", "Path=/", "HttpOnly", "SameSite=Lax"} {
			if !strings.Contains(cookie, attr) {
				t.Errorf("cookie %q lacks %s", cookie, attr)
			}
		}
		if strings.Contains(cookie, "Secure") || strings.HasPrefix(cookie, "__Host-") {
			t.Errorf("cookie over http is %q; want neither Secure nor __Host-", cookie)
		}
		p = b.get("/console/api-keys")
		want(t, p, http.StatusOK)
		contains(t, p, "Café · owner@example.com")
		// Logged in, the login page sends to the console.
		want(t, b.get("/console/login"), http.StatusSeeOther)
	})
}

func TestSecureCookie(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st, func(c *console.Config) { c.Secure = true })
		p := h.browser().post("/console/login", url.Values{"email": {"owner@example.com"}, "password": {ownerPassword}})
		want(t, p, http.StatusSeeOther)
		cookie := p.header.Get("Set-Cookie")
		for _, attr := range []string{"__Host-hub_session=", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
			if !strings.Contains(cookie, attr) {
				t.Errorf("cookie %q lacks %s", cookie, attr)
			}
		}
		if strings.Contains(cookie, "Domain=") {
			t.Errorf("a __Host- cookie must not name a domain: %q", cookie)
		}
	})
}

func TestLoginThrottle(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		b := h.browser()
		wrong := url.Values{"email": {"owner@example.com"}, "password": {"not-the-password"}}
		for i := range console.DefaultAccountLimit.Burst {
			if p := b.post("/console/login", wrong); p.status != http.StatusUnauthorized {
				t.Fatalf("attempt %d: %d", i+1, p.status)
			}
		}
		// The account's budget is spent: even the right password waits.
		p := b.post("/console/login", url.Values{"email": {"owner@example.com"}, "password": {ownerPassword}})
		want(t, p, http.StatusTooManyRequests)
		contains(t, p, "Too many login attempts.", "Try again in 3 min.")
		if p.header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		// Another account from the same address is not held back by it.
		other, _ := h.newBusiness("Other", "till", "other@example.com")
		_ = other
		h.browser().login("other@example.com")

		// After the wait, the right password gets in and resets the budget.
		h.clock.advance(console.DefaultAccountLimit.Every)
		b.login("owner@example.com")
		for i := range console.DefaultAccountLimit.Burst - 1 {
			if p := b.post("/console/login", wrong); p.status != http.StatusUnauthorized {
				t.Fatalf("after reset, attempt %d: %d", i+1, p.status)
			}
		}

		// Per address: many accounts from one address are throttled too.
		h.clock.advance(time.Hour)
		c := h.browser()
		limited := false
		for i := range console.DefaultAddressLimit.Burst + 1 {
			p := c.post("/console/login", url.Values{"email": {"guess" + string(rune('a'+i%26)) + "@example.com"},
				"password": {"whatever-it-is"}})
			if p.status == http.StatusTooManyRequests {
				limited = i == console.DefaultAddressLimit.Burst
				break
			}
		}
		if !limited {
			t.Errorf("the address was not throttled after exactly %d attempts", console.DefaultAddressLimit.Burst)
		}
	})
}

func TestMemoryThrottle(t *testing.T) {
	c := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	th := console.NewMemoryThrottle(console.Limit{Burst: 2, Every: time.Minute}, c.Now)
	ctx := context.Background()
	step := func(wantOK bool, wantWait time.Duration) {
		t.Helper()
		ok, wait, err := th.Allow(ctx, "k")
		if err != nil || ok != wantOK || wait != wantWait {
			t.Fatalf("Allow = %v, %v, %v; want %v, %v", ok, wait, err, wantOK, wantWait)
		}
	}
	step(true, 0)
	step(true, 0)
	step(false, time.Minute)
	c.advance(30 * time.Second)
	step(false, 30*time.Second)
	c.advance(30 * time.Second)
	step(true, 0)
	step(false, time.Minute)
	if err := th.Reset(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	step(true, 0)
}

func TestSessionExpiry(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		b := h.browser()
		b.login("owner@example.com")

		// Idle: used after 11 h it lives on; 12 h later it has ended.
		h.clock.advance(11 * time.Hour)
		want(t, b.get("/console/staff"), http.StatusOK)
		h.clock.advance(12 * time.Hour)
		p := b.get("/console/staff")
		want(t, p, http.StatusSeeOther)
		if p.header.Get("Location") != "/console/login" {
			t.Fatalf("idle session: redirected to %q", p.header.Get("Location"))
		}

		// Absolute: used every 11 h, it still ends 30 days after the login.
		b.login("owner@example.com")
		start := h.clock.Now()
		for h.clock.Now().Add(11 * time.Hour).Before(start.Add(hub.SessionMaxAge)) {
			h.clock.advance(11 * time.Hour)
			if p := b.get("/console/staff"); p.status != http.StatusOK {
				t.Fatalf("after %v: %d", h.clock.Now().Sub(start), p.status)
			}
		}
		h.clock.advance(11 * time.Hour)
		want(t, b.get("/console/staff"), http.StatusSeeOther)
	})
}

func TestLogout(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		one, two, three := h.browser(), h.browser(), h.browser()
		for _, b := range []*browser{one, two, three} {
			b.login("owner@example.com")
		}
		// The cookie a logged-out browser had no longer opens anything.
		u, _ := url.Parse(h.srv.URL)
		stolen := one.client.Jar.Cookies(u)
		p := one.post("/console/logout", url.Values{})
		want(t, p, http.StatusSeeOther)
		if p.header.Get("Location") != "/console/login?done=logged_out" {
			t.Errorf("logout went to %q", p.header.Get("Location"))
		}
		want(t, one.get("/console/api-keys"), http.StatusSeeOther)
		thief := h.browser()
		thief.client.Jar.SetCookies(u, stolen)
		want(t, thief.get("/console/api-keys"), http.StatusSeeOther)
		want(t, two.get("/console/api-keys"), http.StatusOK)

		// Log out everywhere ends the other browsers' sessions too.
		p = two.post("/console/logout-everywhere", url.Values{})
		want(t, p, http.StatusSeeOther)
		for _, b := range []*browser{two, three} {
			want(t, b.get("/console/api-keys"), http.StatusSeeOther)
		}
		contains(t, h.browser().get(p.header.Get("Location")), "You are logged out on every device.")
	})
}

func TestCrossOriginRefused(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		b := h.browser()
		b.login("owner@example.com")
		form := url.Values{"login": {"mallory"}}
		tests := []struct {
			name   string
			header []string
			status int
		}{
			{"cross-site fetch", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
			{"foreign origin", []string{"Origin", "https://evil.example"}, http.StatusForbidden},
			{"same origin", []string{"Sec-Fetch-Site", "same-origin", "Origin", h.srv.URL}, http.StatusSeeOther},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := b.post("/console/staff", form, tt.header...)
				want(t, p, tt.status)
				if tt.status == http.StatusForbidden {
					contains(t, p, "This form was sent from another site and was refused.")
				}
			})
		}
		staff, err := h.svc.StaffList(h.ctx, h.business.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(staff) != 2 {
			t.Errorf("staff = %d logins; the refused posts added some", len(staff))
		}
		// A cross-site login post is refused as well (login CSRF).
		want(t, h.browser().post("/console/login", url.Values{"email": {"owner@example.com"}, "password": {ownerPassword}},
			"Sec-Fetch-Site", "cross-site"), http.StatusForbidden)
	})
}

// inlineScript finds script elements without src and event handler or
// style attributes, which the Content-Security-Policy would block.
var inlineScript = regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]|\son[a-z]+=|\sstyle=|javascript:`)

// TestSecurityHeadersAndNoInlineScript checks that every console page —
// each page of the navigation over the showcase data and one of each kind
// of item, their confirmation pages, htmx fragments and refused forms —
// carries the Content-Security-Policy and the other security headers, and
// has no inline script or style, which the policy would block.
func TestSecurityHeadersAndNoInlineScript(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		s := h.showcase(demoNames)
		keys, _ := h.svc.APIKeys(h.ctx, h.business.ID)
		anon := h.browser()
		b := h.browser()
		b.login("owner@example.com")
		// Every page of the navigation and one of each kind of item.
		pages := map[string]page{}
		for _, p := range s.pages() {
			if p.anonymous {
				pages[p.name] = anon.get(p.path)
			} else {
				pages[p.name] = b.get(p.path)
			}
		}
		edited := url.Values{"name": {"x"}, "variants[0].language": {"en"}, "variants[0].kind": {"email"},
			"variants[0].subject": {"Hi"}, "variants[0].html": {"<p>{{ customer.name }}</p>"}, "variant": {"0"}}
		// Their sub-pages, fragments and refused forms.
		for name, p := range map[string]page{
			"not found":          b.get("/console/nowhere"),
			"confirm":            b.get("/console/api-keys/" + keys[0].ID + "/delete"),
			"new key":            b.post("/console/api-keys/"+keys[0].ID+"/regenerate", url.Values{}),
			"rotated":            b.post("/console/webhooks/"+s.hookID+"/rotate-secret", url.Values{}),
			"customer search":    b.get("/console/customers?phone=abc"),
			"channel telegram":   b.get("/console/channels/telegram"),
			"gateway":            b.post("/console/channels/gateway/test", url.Values{}),
			"refused settings":   b.post("/console/settings", url.Values{"timezone": {"Mars"}}),
			"new template":       b.get("/console/templates/new"),
			"template preview":   b.post("/console/templates/"+s.templateID+"/preview", edited),
			"preview fragment":   b.post("/console/templates/"+s.templateID+"/preview", edited, "HX-Request", "true"),
			"refused template":   b.post("/console/templates/"+s.templateID, url.Values{"name": {""}}),
			"delete template":    b.get("/console/templates/" + s.templateID + "/delete"),
			"new automation":     b.get("/console/automations/new"),
			"refused automation": b.post("/console/automations/"+s.automationID, url.Values{"delay_seconds": {"x"}}),
			"automation row":     b.post("/console/automations/"+s.automationID+"/enabled", url.Values{"enabled": {"true"}}, "HX-Request", "true"),
			"delete automation":  b.get("/console/automations/" + s.automationID + "/delete"),
			"new campaign":       b.get("/console/campaigns/new"),
			"audience count":     b.post("/console/campaigns/audience", url.Values{"rows": {"1"}}, "HX-Request", "true"),
			"refused campaign":   b.post("/console/campaigns", url.Values{"name": {""}, "rows": {"1"}}),
			"progress":           b.get("/console/campaigns/"+s.campaignID+"/progress", "HX-Request", "true"),
			"refused action":     b.post("/console/campaigns/"+s.campaignID+"/pause", url.Values{}),
		} {
			pages[name] = p
		}
		for name, p := range pages {
			if p.status >= 500 || p.status == http.StatusNotFound && name != "not found" {
				t.Errorf("%s: status %d", name, p.status)
			}
			csp := p.header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self'") ||
				strings.Contains(csp, "unsafe-inline") {
				t.Errorf("%s: Content-Security-Policy %q", name, csp)
			}
			for k, v := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
				"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
				if p.header.Get(k) != v {
					t.Errorf("%s: %s = %q, want %q", name, k, p.header.Get(k), v)
				}
			}
			if m := inlineScript.FindString(p.body); m != "" {
				t.Errorf("%s: inline script or style %q", name, m)
			}
		}
		if len(pages) < 40 {
			t.Errorf("only %d pages checked", len(pages))
		}
		for _, asset := range []string{"htmx.min.js", "console.js", "console.css"} {
			p := anon.get("/console/assets/" + asset)
			want(t, p, http.StatusOK)
			if p.header.Get("Content-Security-Policy") == "" {
				t.Errorf("%s without CSP", asset)
			}
		}
	})
}

func TestInvitationPage(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		inv, err := h.svc.InviteOwner(h.ctx, h.business.ID, hub.OwnerInput{Email: "new@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		path := strings.TrimPrefix(inv.URL, "https://hub.test")
		b := h.browser()
		p := b.get(path)
		want(t, p, http.StatusOK)
		contains(t, p, `<label for="password">Password</label>`, `<button type="submit">Set password</button>`, "new@example.com")

		p = b.post(path, url.Values{"password": {"short"}})
		want(t, p, http.StatusUnprocessableEntity)
		contains(t, p, "must have at least 10 characters")
		p = b.post(path, url.Values{"password": {"qwertyuiop123"}})
		want(t, p, http.StatusUnprocessableEntity)
		contains(t, p, "is one of the most common passwords")

		p = b.post(path, url.Values{"password": {ownerPassword}})
		want(t, p, http.StatusSeeOther)
		if p.header.Get("Location") != "/console/login?done=password_set" {
			t.Errorf("went to %q", p.header.Get("Location"))
		}
		contains(t, b.get(p.header.Get("Location")), "Your password is set.")
		b.login("new@example.com")

		// Used once, the link is gone; an unknown or expired one too.
		contains(t, b.get(path), "was used already or has expired")
		want(t, b.get(path), http.StatusNotFound)
		want(t, b.get("/console/invitations/nonsense"), http.StatusNotFound)
		late, _ := h.svc.InviteOwner(h.ctx, h.business.ID, hub.OwnerInput{Email: "late@example.com"})
		h.clock.advance(hub.InvitationTTL)
		want(t, b.post(strings.TrimPrefix(late.URL, "https://hub.test"), url.Values{"password": {ownerPassword}}), http.StatusNotFound)
	})
}

func TestAPIKeysPage(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		for _, login := range []string{"bob", "carol"} {
			if _, err := h.svc.CreateStaff(h.ctx, h.business.ID, hub.StaffInput{Login: login}); err != nil {
				t.Fatal(err)
			}
		}
		b := h.browser()
		b.login("owner@example.com")

		p := b.get("/console/api-keys")
		want(t, p, http.StatusOK)
		contains(t, p, "<td>anna till</td>", "<td>anna</td>", "7loc_sc_…", "Active", "never",
			`data-dialog="add-key">Add API key</a>`, `<dialog id="add-key" aria-labelledby="add-key-title">`,
			`<label for="key-login">Login</label>`, `<label for="key-name">Name</label>`, `<button type="submit">Create</button>`,
			">Regenerate</a>", ">Delete</a>", ">Confirm</button>")
		if diff := cmp.Diff([]string{"bob", "carol"}, options(p)); diff != "" {
			t.Errorf("the dropdown lists logins with keys (-want +got):\n%s", diff)
		}
		// Without JavaScript, Add API key is a page with the dialog open.
		contains(t, b.get("/console/api-keys/new"), `<dialog id="add-key" open`)

		// Create: the key is shown once and works.
		p = b.post("/console/api-keys", url.Values{"login": {"carol"}, "name": {"Till 2"}})
		want(t, p, http.StatusCreated)
		key := newKey(p)
		if !strings.HasPrefix(key, hub.APIKeyPrefix) {
			t.Fatalf("no new key shown:\n%s", p.body)
		}
		pr, err := h.svc.Authenticate(h.ctx, key)
		if err != nil || pr.Staff.Login != "carol" {
			t.Fatalf("the shown key: %v, %v", pr, err)
		}
		p = b.get("/console/api-keys")
		if strings.Contains(p.body, key) || newKey(p) != "" {
			t.Error("the key shows again on a later page")
		}
		contains(t, p, "<td>Till 2</td>", "<td>carol</td>", hub.MaskAPIKey(key))
		if diff := cmp.Diff([]string{"bob"}, options(p)); diff != "" {
			t.Errorf("dropdown after create (-want +got):\n%s", diff)
		}

		// A login that has a key: the hub's own message, the dialog open again.
		p = b.post("/console/api-keys", url.Values{"login": {"carol"}})
		want(t, p, http.StatusConflict)
		contains(t, p, `the login &#34;carol&#34; already has an API key; regenerate or delete it`, `<dialog id="add-key" open`)

		// Regenerate: confirmation page without JavaScript, then a new key once.
		id := pr.KeyID
		contains(t, b.get("/console/api-keys/"+id+"/regenerate"), "Regenerate the key?", ">Confirm</button>")
		p = b.post("/console/api-keys/"+id+"/regenerate", url.Values{})
		want(t, p, http.StatusOK)
		regenerated := newKey(p)
		if regenerated == "" || regenerated == key {
			t.Fatalf("regenerate showed %q", regenerated)
		}
		if _, err := h.svc.Authenticate(h.ctx, key); hub.ErrorCode(err) != hub.EUnauthorized {
			t.Errorf("the old key after regenerate: %v", err)
		}
		if _, err := h.svc.Authenticate(h.ctx, regenerated); err != nil {
			t.Errorf("the regenerated key: %v", err)
		}

		// Delete.
		contains(t, b.get("/console/api-keys/"+id+"/delete"), "Delete the key?")
		p = b.post("/console/api-keys/"+id+"/delete", url.Values{})
		want(t, p, http.StatusSeeOther)
		p = b.get(p.header.Get("Location"))
		contains(t, p, "The API key is deleted")
		if strings.Contains(p.body, "<td>Till 2</td>") {
			t.Error("the deleted key is still listed")
		}
		if _, err := h.svc.Authenticate(h.ctx, regenerated); hub.ErrorCode(err) != hub.EUnauthorized {
			t.Errorf("the deleted key: %v", err)
		}
		want(t, b.post("/console/api-keys/"+id+"/delete", url.Values{}), http.StatusNotFound)
		if diff := cmp.Diff([]string{"bob", "carol"}, options(b.get("/console/api-keys"))); diff != "" {
			t.Errorf("dropdown after delete (-want +got):\n%s", diff)
		}
	})
}

var optionRE = regexp.MustCompile(`<option value="([^"]*)"`)

// options lists the values of the Add dialog's Login select.
func options(p page) []string {
	_, rest, ok := strings.Cut(p.body, `<select id="key-login"`)
	if !ok {
		return nil
	}
	rest, _, _ = strings.Cut(rest, "</select>")
	var out []string
	for _, m := range optionRE.FindAllStringSubmatch(rest, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestLastUsedInTheBusinessTimeZone(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		k, err := h.svc.CreateAPIKey(h.ctx, h.business.ID, hub.APIKeyInput{Login: "anna"})
		if hub.ErrorCode(err) != hub.EConflict {
			t.Fatalf("second key: %v, %v", k, err)
		}
		b := h.browser()
		b.login("owner@example.com")
		p := b.post("/console/api-keys/"+firstKey(t, h).ID+"/regenerate", url.Values{})
		if _, err := h.svc.Authenticate(h.ctx, newKey(p)); err != nil {
			t.Fatal(err)
		}
		// 12:00 UTC is 19:00 in Bangkok.
		contains(t, b.get("/console/api-keys"), "2026-05-11 19:00 &#43;07")
	})
}

func firstKey(t *testing.T, h *harness) *hub.APIKey {
	t.Helper()
	keys, err := h.svc.APIKeys(h.ctx, h.business.ID)
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys: %v, %v", keys, err)
	}
	return keys[0]
}

func TestStaffPage(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		b := h.browser()
		b.login("owner@example.com")
		p := b.post("/console/staff", url.Values{"login": {"Bob"}, "name": {"Bob B."}})
		want(t, p, http.StatusSeeOther)
		p = b.get(p.header.Get("Location"))
		contains(t, p, "The login is added.", "<td>bob</td>", "<td>Bob B.</td>", "No key", "Has a key")

		p = b.post("/console/staff", url.Values{"login": {"bad login!"}})
		want(t, p, http.StatusUnprocessableEntity)
		contains(t, p, "may hold only letters, digits and . _ @ &#43; - (at most 100)", `value="bad login!"`)
		p = b.post("/console/staff", url.Values{"login": {"bob"}})
		want(t, p, http.StatusConflict)
		contains(t, p, "a staff login with this name exists")
	})
}

func TestWebhooksPages(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		hook, _, err := h.svc.CreateHook(h.ctx, h.business.ID, hub.HookInput{Event: "card_issued", TargetURL: ptr("https://example.com/in")})
		if err != nil {
			t.Fatal(err)
		}
		event := hub.NewID(hub.PrefixEvent)
		if err := st.Write(h.ctx, func(tx hub.Tx) error {
			if err := tx.InsertEvents(h.ctx, []hub.EventRecord{{ID: event, BusinessID: h.business.ID, Type: "card_issued",
				Payload: []byte(`{}`), CreatedAt: h.clock.Now()}}); err != nil {
				return err
			}
			msg := "connection refused"
			code := 502
			if err := tx.InsertDeliveryAttempt(h.ctx, &hub.DeliveryAttempt{ID: hub.NewID(hub.PrefixDelivery), BusinessID: h.business.ID,
				HookID: hook.ID, EventID: event, Attempt: 1, StatusCode: &code, DurationMS: 31, Error: &msg, At: h.clock.Now()}); err != nil {
				return err
			}
			hook.Status = hub.HookDisabled
			return tx.UpdateHook(h.ctx, hook)
		}); err != nil {
			t.Fatal(err)
		}
		b := h.browser()
		b.login("owner@example.com")
		p := b.get("/console/webhooks")
		want(t, p, http.StatusOK)
		contains(t, p, "<code>card_issued</code>", "https://example.com/in", "Disabled", "/console/webhooks/"+hook.ID)

		p = b.get("/console/webhooks/" + hook.ID)
		want(t, p, http.StatusOK)
		contains(t, p, event, ">502<", "connection refused", "31 ms", ">Redeliver</button>", ">Enable</button>", ">Rotate secret</button>")

		p = b.post("/console/webhooks/"+hook.ID+"/redeliver", url.Values{"event_id": {event}})
		want(t, p, http.StatusSeeOther)
		contains(t, b.get(p.header.Get("Location")), "The event will be delivered again.")
		h.jobs.mu.Lock()
		got := append([]hub.DeliveryJob(nil), h.jobs.list...)
		h.jobs.mu.Unlock()
		if len(got) != 1 || got[0].HookID != hook.ID || got[0].EventID != event || !got[0].Force {
			t.Errorf("redelivery jobs = %+v", got)
		}

		p = b.post("/console/webhooks/"+hook.ID+"/rotate-secret", url.Values{})
		want(t, p, http.StatusOK)
		after, err := h.svc.Hook(h.ctx, h.business.ID, hook.ID)
		if err != nil {
			t.Fatal(err)
		}
		shown := strings.ReplaceAll(after.Secret, "+", "&#43;") // as html/template writes it
		if after.Secret == hook.Secret || !strings.Contains(p.body, `data-testid="new-secret">`+shown+"<") {
			t.Error("the rotated secret is not the one shown")
		}
		if strings.Contains(b.get("/console/webhooks/"+hook.ID).body, shown) {
			t.Error("the secret shows again")
		}

		p = b.post("/console/webhooks/"+hook.ID+"/enable", url.Values{})
		want(t, p, http.StatusSeeOther)
		p = b.get(p.header.Get("Location"))
		contains(t, p, "The webhook is enabled again.", "Active")
		if strings.Contains(p.body, ">Enable</button>") {
			t.Error("an active hook offers Enable")
		}
	})
}

func TestAnotherBusinessIsNotFound(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		other, _ := h.newBusiness("Other shop", "otherlogin", "other@example.com")
		otherKeys, err := h.svc.APIKeys(h.ctx, other.ID)
		if err != nil {
			t.Fatal(err)
		}
		otherHook, _, err := h.svc.CreateHook(h.ctx, other.ID, hub.HookInput{Event: "*", TargetURL: ptr("https://example.com/other")})
		if err != nil {
			t.Fatal(err)
		}
		b := h.browser()
		b.login("owner@example.com")
		key, hook := otherKeys[0].ID, otherHook.ID
		for _, c := range []struct{ method, path string }{
			{"GET", "/console/api-keys/" + key + "/regenerate"},
			{"GET", "/console/api-keys/" + key + "/delete"},
			{"POST", "/console/api-keys/" + key + "/regenerate"},
			{"POST", "/console/api-keys/" + key + "/delete"},
			{"GET", "/console/webhooks/" + hook},
			{"POST", "/console/webhooks/" + hook + "/rotate-secret"},
			{"POST", "/console/webhooks/" + hook + "/enable"},
			{"POST", "/console/webhooks/" + hook + "/redeliver"},
			{"GET", "/console/api-keys/not-an-id/delete"},
			{"GET", "/console/webhooks/hk_nonsense"},
			{"GET", "/console/campaigns/cmp_01JTZ6W1Q9M3N4R5S6T7V8W9XY"},
		} {
			t.Run(c.method+" "+c.path, func(t *testing.T) {
				p := b.do(c.method, c.path, url.Values{"event_id": {hub.NewID(hub.PrefixEvent)}})
				want(t, p, http.StatusNotFound)
				contains(t, p, "Page not found.")
			})
		}
		// Nothing of the other business changed.
		if _, err := h.svc.Authenticate(h.ctx, "x"); err == nil {
			t.Fatal("nonsense key authenticated")
		}
		keys, _ := h.svc.APIKeys(h.ctx, other.ID)
		if keys[0].Hash != otherKeys[0].Hash || keys[0].Status != hub.KeyActive {
			t.Error("the other business's key changed")
		}
		if strings.Contains(b.get("/console/api-keys").body, "otherlogin") {
			t.Error("the other business's key is listed")
		}
	})
}

func TestLanguages(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		tests := []struct {
			name, acceptLanguage, query string
			want                        []string
		}{
			{"english by default", "", "", []string{`<html lang="en">`, ">Log in</button>", `>Email</label>`}},
			{"thai", "th-TH,th;q=0.9,en;q=0.5", "", []string{`<html lang="th">`, ">เข้าสู่ระบบ</button>", ">อีเมล</label>", ">รหัสผ่าน</label>"}},
			{"hindi", "hi-IN", "", []string{`<html lang="hi">`, ">लॉग इन करें</button>", ">ईमेल</label>", ">पासवर्ड</label>"}},
			{"unknown falls back", "de-DE,fr;q=0.8", "", []string{`<html lang="en">`, ">Log in</button>"}},
			{"query wins", "th", "?lang=hi", []string{`<html lang="hi">`}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				contains(t, h.browser().get("/console/login"+tt.query, "Accept-Language", tt.acceptLanguage), tt.want...)
			})
		}

		// The owner's stored choice wins over the browser's.
		b := h.browser()
		b.login("owner@example.com")
		p := b.post("/console/language", url.Values{"language": {"th"}, "back": {"/console/staff"}})
		want(t, p, http.StatusSeeOther)
		if p.header.Get("Location") != "/console/staff?done=language_saved" {
			t.Errorf("went to %q", p.header.Get("Location"))
		}
		p = b.get("/console/api-keys", "Accept-Language", "en")
		contains(t, p, `<html lang="th">`, ">เพิ่มคีย์ API</a>", ">สร้างใหม่</a>", ">ลบ</a>", "ใช้งานอยู่")
		want(t, b.post("/console/language", url.Values{"language": {"hi"}, "back": {"https://evil.example/"}}), http.StatusSeeOther)
		p = b.get("/console/staff")
		contains(t, p, `<html lang="hi">`, ">स्टाफ़</h1>", ">लॉगिन जोड़ें</button>")
		want(t, b.post("/console/language", url.Values{"language": {"xx"}}), http.StatusUnprocessableEntity)
		// Back to the browser's language.
		b.post("/console/language", url.Values{"language": {""}})
		contains(t, b.get("/console/staff", "Accept-Language", "en-GB"), `<html lang="en">`)
	})
}

// TestCatalogsAreComplete checks that every message the templates and the
// code use exists in every language, and that the languages have the same
// messages.
func TestCatalogsAreComplete(t *testing.T) {
	read := func(lang string) map[string]string {
		t.Helper()
		pages, _ := filepath.Glob(filepath.Join("locales", "*."+lang+".json"))
		m := map[string]string{}
		for _, path := range append([]string{filepath.Join("locales", lang+".json")}, pages...) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var file map[string]string
			if err := json.Unmarshal(raw, &file); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			for id, text := range file {
				if _, dup := m[id]; dup {
					t.Errorf("%s: message %q is in two files", path, id)
				}
				m[id] = text
			}
		}
		return m
	}
	en := read("en")
	var ids []string
	for id := range en {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, lang := range console.Languages[1:] {
		m := read(lang)
		var got []string
		for id, text := range m {
			got = append(got, id)
			if strings.Count(text, "{{") != strings.Count(en[id], "{{") {
				t.Errorf("%s %s: placeholders differ from English", lang, id)
			}
		}
		sort.Strings(got)
		if diff := cmp.Diff(ids, got); diff != "" {
			t.Errorf("%s has other messages than English (-en +%s):\n%s", lang, lang, diff)
		}
	}
	used := regexp.MustCompile(`T "([a-z_.]+)"|"((?:login|error|flash|keys|staff|hook|hooks|invitation|common|nav|language|settings|channels|channel|customers|customer|templates|template|campaigns|campaign|automations|automation|reset)\.[a-z_.]+)"`)
	sources, _ := filepath.Glob("templates/*.html")
	code, _ := filepath.Glob("*.go")
	for _, f := range append(sources, code...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range used.FindAllStringSubmatch(string(raw), -1) {
			id := m[1] + m[2]
			if strings.HasSuffix(id, ".") {
				continue // a prefix completed at run time
			}
			if _, ok := en[id]; !ok {
				t.Errorf("%s uses message %q, which the catalog lacks", f, id)
			}
		}
	}
}
