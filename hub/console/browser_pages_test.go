package console_test

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// axeSource is axe-core, vendored for the tests only (testdata/README.md).
//
//go:embed testdata/axe.min.js
var axeSource string

// showcaseNames are the names a showcase business gives what it holds: the
// demo's names, or markup that must show as text (TestBrowserXSS).
type showcaseNames struct {
	Customer, StaffName, KeyName, Template, Campaign, Draft, Automation, HookURL string
}

// demoNames are ordinary names, as in the demo business.
var demoNames = showcaseNames{
	Customer:   "Ann Lee",
	StaffName:  "Bob Baker",
	KeyName:    "Front till",
	Template:   "Spring offer",
	Campaign:   "Spring at the Café",
	Draft:      "Rainy season",
	Automation: "Welcome back",
	HookURL:    "https://example.com/loyalty/in",
}

// showcase is what a showcase business holds, and its console pages.
type showcase struct {
	customerID, hookID, templateID, campaignID, draftID, automationID string
	// invitation is an open invitation's token.
	invitation string
}

// consolePage is a console page to visit: a name (also the screenshot's
// file name) and a path; anonymous pages are visited before the login.
type consolePage struct {
	name, path string
	anonymous  bool
}

// pages lists the console's pages over the showcase data: every page the
// navigation reaches and one of each kind of item.
func (s showcase) pages() []consolePage {
	return []consolePage{
		{name: "login", path: "/console/login", anonymous: true},
		{name: "invitation", path: "/console/invitations/" + s.invitation, anonymous: true},
		{name: "api-keys", path: "/console/api-keys"},
		{name: "api-key-add", path: "/console/api-keys/new"},
		{name: "staff", path: "/console/staff"},
		{name: "webhooks", path: "/console/webhooks"},
		{name: "webhook", path: "/console/webhooks/" + s.hookID},
		{name: "channels", path: "/console/channels"},
		{name: "channel", path: "/console/channels/email"},
		{name: "customers", path: "/console/customers"},
		{name: "customer", path: "/console/customers/" + s.customerID},
		{name: "templates", path: "/console/templates"},
		{name: "template", path: "/console/templates/" + s.templateID},
		{name: "campaigns", path: "/console/campaigns"},
		{name: "campaign-composer", path: "/console/campaigns/" + s.draftID + "/edit"},
		{name: "campaign", path: "/console/campaigns/" + s.campaignID},
		{name: "automations", path: "/console/automations"},
		{name: "automation", path: "/console/automations/" + s.automationID},
		{name: "settings", path: "/console/settings"},
	}
}

// showcase fills the harness's business as the demo would be: staff with
// and without keys, an API key, two webhooks with a delivery log, the email
// channel, customers with consent and vouchers, a message template, a sent
// campaign with its deliveries and a draft, an automation of the test's,
// and an open invitation.
func (h *harness) showcase(n showcaseNames) showcase {
	h.t.Helper()
	var s showcase
	must := func(err error) {
		h.t.Helper()
		if e, ok := errors.AsType[*hub.Error](err); ok {
			h.t.Fatalf("%v %v", e, e.Fields)
		} else if err != nil {
			h.t.Fatal(err)
		}
	}
	_, err := h.svc.CreateStaff(h.ctx, h.business.ID, hub.StaffInput{Login: "bob", Name: &n.StaffName})
	must(err)
	_, err = h.svc.CreateStaff(h.ctx, h.business.ID, hub.StaffInput{Login: "till"})
	must(err)
	key, err := h.svc.CreateAPIKey(h.ctx, h.business.ID, hub.APIKeyInput{Login: "till", Name: &n.KeyName})
	must(err)
	pr, err := h.svc.Authenticate(h.ctx, key.Key)
	must(err)

	hook, _, err := h.svc.CreateHook(h.ctx, h.business.ID, hub.HookInput{Event: "card_issued", TargetURL: &n.HookURL})
	must(err)
	s.hookID = hook.ID
	_, _, err = h.svc.CreateHook(h.ctx, h.business.ID, hub.HookInput{Event: "*", TargetURL: ptr("https://example.com/all-events")})
	must(err)
	must(h.store.Write(h.ctx, func(tx hub.Tx) error {
		for i, code := range []int{200, 502} {
			event := hub.NewID(hub.PrefixEvent)
			at := h.clock.Now().Add(time.Duration(i-2) * time.Hour)
			if err := tx.InsertEvents(h.ctx, []hub.EventRecord{{ID: event, BusinessID: h.business.ID, Type: "card_issued",
				Payload: []byte(`{}`), CreatedAt: at}}); err != nil {
				return err
			}
			a := &hub.DeliveryAttempt{ID: hub.NewID(hub.PrefixDelivery), BusinessID: h.business.ID,
				HookID: hook.ID, EventID: event, Attempt: 1, StatusCode: &code, DurationMS: int64(31 + 40*i), At: at}
			if code != 200 {
				a.Error = ptr("bad gateway")
			}
			if err := tx.InsertDeliveryAttempt(h.ctx, a); err != nil {
				return err
			}
		}
		return nil
	}))

	_, err = h.svc.PutChannelConfig(h.ctx, h.business.ID, "email",
		map[string]any{"host": "smtp.example.com", "from": "cafe@example.com", "password": "not-shown"})
	must(err)
	customers := []struct{ email, name string }{{"ann@example.com", n.Customer}, {"somchai@example.com", "Somchai P."},
		{"priya@example.com", "Priya S."}, {"lek@example.com", "Lek W."}, {"omar@example.com", "Omar K."}}
	for i, c := range customers {
		card := h.customer(pr, c.email, c.name)
		_, err := h.svc.UpdateCustomer(h.ctx, h.business.ID, card.CustomerID, hub.CustomerPatch{
			Phone: ptr(fmt.Sprintf("+6681234567%d", i)), Consent: map[string]bool{"email": true}})
		must(err)
		if i == 0 {
			s.customerID = card.CustomerID
			_, err := h.svc.IssueVoucher(h.ctx, pr, hub.IssueVoucherInput{CustomerID: &card.CustomerID,
				Title: ptr("Free cake"), RedeemCode: ptr("CAKE2026")})
			must(err)
		}
	}

	mt, err := h.svc.CreateMessageTemplate(h.ctx, h.business.ID, hub.MessageTemplateInput{Name: &n.Template,
		Variants: []hub.MessageVariant{
			{Language: "en", Kind: hub.KindText, Text: "Spring at {{ business.name }}: {{ card.stamps_left }} stamps to a free coffee"},
			{Language: "en", Kind: hub.KindEmail, Subject: "Spring at {{ business.name }}",
				HTML: "<h1>Hello {{ customer.name }}</h1>\n<p>Spring is here.</p>"},
		}})
	must(err)
	s.templateID = mt.ID
	audience := json.RawMessage(`{"all": [{"field": "consent", "op": "eq", "value": "email"}]}`)
	sent, err := h.svc.CreateCampaign(h.ctx, h.business.ID, hub.CampaignInput{Name: &n.Campaign,
		Audience: audience, Channels: []string{"email"}, TemplateID: &mt.ID})
	must(err)
	s.campaignID = sent.ID
	_, err = h.svc.SendCampaign(h.ctx, h.business.ID, sent.ID)
	must(err)
	h.runCampaign(sent.ID, func() { h.clock.advance(40 * time.Second) })
	draft, err := h.svc.CreateCampaign(h.ctx, h.business.ID, hub.CampaignInput{Name: &n.Draft,
		Audience: audience, Channels: []string{"email"}, TemplateID: &mt.ID})
	must(err)
	s.draftID = draft.ID

	au, err := h.svc.CreateAutomation(h.ctx, h.business.ID, hub.AutomationInput{Name: &n.Automation, Enabled: ptr(true),
		Trigger: &hub.AutomationTrigger{Event: "card_issued"}, DelaySeconds: ptr(3600),
		Actions: []hub.AutomationAction{{Type: hub.ActionSendMessage, TemplateID: &mt.ID, Channels: []string{"email"}}}})
	must(err)
	s.automationID = au.ID

	inv, err := h.svc.InviteOwner(h.ctx, h.business.ID, hub.OwnerInput{Email: "new-owner@example.com"})
	must(err)
	s.invitation = inv.Token
	return s
}

// browserLogin logs the browser in as the harness's owner.
func browserLogin(ctx context.Context, h *harness) error {
	return chromedp.Do(ctx,
		chromedp.Navigate(h.srv.URL+"/console/login"),
		chromedp.SendKeys(chromedp.CSS(`#email`), h.owner.Email),
		chromedp.SendKeys(chromedp.CSS(`#password`), ownerPassword),
		chromedp.Click(chromedp.Search(`//button[normalize-space()="Log in"]`)),
		chromedp.WaitVisible(chromedp.Search(`//a[@aria-current="page" and normalize-space()="API keys"]`)),
	)
}

// axeViolation is one rule that axe-core found broken, with the elements
// that break it.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

// axeRun runs axe-core over the document and keeps the serious and
// critical violations, and the label-content-name-mismatch results axe
// leaves for review (an accessible name that does not contain the visible
// text: the automations' switches had one).
const axeRun = `(async () => {
	const r = await axe.run(document, {resultTypes: ["violations"]});
	return r.violations.concat(r.incomplete.filter(v => v.id === "label-content-name-mismatch")).filter(v => v.impact === "serious" || v.impact === "critical").map(v => ({
		id: v.id, impact: v.impact, help: v.help,
		nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary}))}));
})()`

// checkAccessibility evaluates axe-core in the browser's page (the
// protocol's Runtime.evaluate is not subject to the page's
// Content-Security-Policy, which allows no such script) and fails the test
// for each serious or critical violation, with the rule, its help and the
// elements.
func checkAccessibility(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof axe === "object"`))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
			t.Fatalf("%s: loading axe-core: %v", name, err)
		}
	}
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: running axe-core: %v", name, err)
	}
	for _, v := range violations {
		var b strings.Builder
		for _, n := range v.Nodes {
			fmt.Fprintf(&b, "\n\t%v: %s", n.Target, strings.ReplaceAll(n.Summary, "\n", " "))
		}
		t.Errorf("%s: %s (%s): %s%s", name, v.ID, v.Impact, v.Help, b.String())
	}
}

// visitPages logs in and visits every page, the anonymous ones first, and
// calls check on each once it has loaded.
func visitPages(ctx context.Context, t *testing.T, h *harness, pages []consolePage, check func(consolePage)) {
	t.Helper()
	for _, anonymous := range []bool{true, false} {
		if !anonymous {
			if err := browserLogin(ctx, h); err != nil {
				t.Fatalf("browser: logging in: %v", err)
			}
		}
		for _, p := range pages {
			if p.anonymous != anonymous {
				continue
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(h.srv.URL+p.path), chromedp.WaitReady(chromedp.CSS(`main`))); err != nil {
				t.Fatalf("browser: %s: %v", p.name, err)
			}
			check(p)
		}
	}
}

// void is an action that runs a and drops its value.
func void[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, tg)
		return chromedp.Void{}, err
	}
}

// setAndSubmit is an action that sets the value of the field that css finds
// and submits its form, as the owner would by clicking its submit button
// (htmx, boosting the form, swaps the answer in).
func setAndSubmit(css, value string) chromedp.Action[chromedp.Void] {
	js, _ := json.Marshal(map[string]string{"css": css, "value": value})
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`((a) => {
			const f = document.querySelector(a.css);
			f.value = a.value;
			f.form.requestSubmit();
			return true;
		})(`+string(js)+`)`))
		return err
	})
}

// TestBrowserAccessibility runs axe-core in a real browser over every
// console page, with demo-like data, and over the states that a page
// reaches: a confirmation page, new items, the 404 page, a modal dialog
// (opened by its link, which htmx does not follow), the new key and the
// rotated secret shown once, forms refused with the service's problems at
// their fields, and pages in Thai and in Hindi. It fails on each serious
// or critical violation (the rule, its help and the elements' selectors).
// Any script error or Content-Security-Policy violation fails the test
// too.
func TestBrowserAccessibility(t *testing.T) {
	ctx, problems := startBrowser(t, 90*time.Second)
	st := sqltest.Open(t, sqlstore.DialectSQLite)
	h := newHarness(t, st)
	s := h.showcase(demoNames)
	keys, err := h.svc.APIKeys(h.ctx, h.business.ID)
	if err != nil {
		t.Fatal(err)
	}
	pages := append(s.pages(),
		consolePage{name: "api-key-delete", path: "/console/api-keys/" + keys[0].ID + "/delete"},
		consolePage{name: "template-new", path: "/console/templates/new"},
		consolePage{name: "automation-new", path: "/console/automations/new"},
		consolePage{name: "settings-th", path: "/console/settings?lang=th"},
		consolePage{name: "customer-hi", path: "/console/customers/" + s.customerID + "?lang=hi"},
		consolePage{name: "reset", path: "/console/reset", anonymous: true},
	)
	visitPages(ctx, t, h, pages, func(p consolePage) {
		checkAccessibility(ctx, t, p.name)
	})

	// States that a page reaches through the owner's clicks.
	problems.expect("status of 422")
	problems.expect("status of 409")
	problems.expect("status of 404")
	alert := chromedp.WaitVisible(chromedp.CSS(`[role="alert"]`))
	for _, state := range []struct {
		name  string
		steps []chromedp.Action[chromedp.Void]
	}{
		{"not found", []chromedp.Action[chromedp.Void]{chromedp.Navigate(h.srv.URL + "/console/nowhere")}},
		{"regenerate dialog", []chromedp.Action[chromedp.Void]{chromedp.Navigate(h.srv.URL + "/console/api-keys"),
			void(chromedp.Poll[bool](`typeof htmx !== "undefined"`)),
			chromedp.Click(chromedp.Search(`(//a[normalize-space()="Regenerate"])[1]`)),
			chromedp.WaitVisible(chromedp.CSS(`dialog[id^="regenerate-"][open]`))}},
		{"new key", []chromedp.Action[chromedp.Void]{
			chromedp.Click(chromedp.Search(`//dialog[@open]//button[normalize-space()="Confirm"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="new-key"]`))}},
		{"rotated secret", []chromedp.Action[chromedp.Void]{chromedp.Navigate(h.srv.URL + "/console/webhooks/" + s.hookID),
			chromedp.Click(chromedp.Search(`//button[normalize-space()="Rotate secret"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="new-secret"]`))}},
		{"staff refused", []chromedp.Action[chromedp.Void]{chromedp.Navigate(h.srv.URL + "/console/staff"),
			setAndSubmit(`#staff-login`, "bad login!"), alert}},
		{"settings refused", []chromedp.Action[chromedp.Void]{chromedp.Navigate(h.srv.URL + "/console/settings"),
			setAndSubmit(`#timezone`, "Mars/Olympus"), alert}},
		{"template refused", []chromedp.Action[chromedp.Void]{chromedp.Navigate(h.srv.URL + "/console/templates/" + s.templateID),
			setAndSubmit(`textarea[name="variants[0].text"]`, "Hello {{ customer.nmae }}"), alert}},
		{"campaign refused", []chromedp.Action[chromedp.Void]{chromedp.Navigate(h.srv.URL + "/console/campaigns/new"),
			setAndSubmit(`#name`, ""), alert}},
	} {
		for i, step := range state.steps {
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := chromedp.Do(sctx, step)
			cancel()
			if err != nil {
				loc, _ := chromedp.Run(ctx, chromedp.Location())
				t.Fatalf("browser: %s, step %d at %s: %v", state.name, i+1, loc, err)
			}
		}
		checkAccessibility(ctx, t, state.name)
	}
	problems.check(t)
}

// xssNames are markup that a page must show as text: were one of them
// markup, a dialog would open (or the Content-Security-Policy would
// refuse an inline script, which the browser logs).
var xssNames = showcaseNames{
	Customer:   `<script>alert(1)</script>`,
	StaffName:  `<img src=x onerror=alert(2)>`,
	KeyName:    `"><svg onload=alert(3)>`,
	Template:   `<script>alert(4)</script>`,
	Campaign:   `<img src=x onerror=alert(5)>`,
	Draft:      `'><script>alert(6)</script>`,
	Automation: `</title><script>alert(7)</script>`,
	HookURL:    `https://example.com/in?q=<script>alert(8)</script>`,
}

// pageText is the text that a page shows: the body's text, the fields'
// values and the options of its selects.
const pageText = `[document.body.innerText,
	...Array.from(document.querySelectorAll("input, textarea"), e => e.value),
	...Array.from(document.querySelectorAll("option"), e => e.textContent)].join("\n")`

// pageMarkup finds markup that none of the console's pages has and that
// the xssNames would make: a script without src, an event handler, an
// img or svg.
const pageMarkup = `Array.from(document.querySelectorAll("script:not([src]), [onerror], [onload], img, svg:not(.chart svg)"),
	e => e.outerHTML.slice(0, 80))`

// TestBrowserXSS fills a business with names that are markup: a customer
// named <script>alert(1)</script>, and a staff name, an API key, a
// message template, two campaigns, an automation and a webhook URL of the
// same kind (each a field the service takes as it is), and visits every
// console page in a real browser. Each page that shows one shows it as
// text; no page has the markup, opens a script dialog (alert), or logs a
// script error or a Content-Security-Policy violation. A staff login that
// is markup is refused and shows again as text.
func TestBrowserXSS(t *testing.T) {
	ctx, problems := startBrowser(t, 60*time.Second)
	st := sqltest.Open(t, sqlstore.DialectSQLite)
	h := newHarness(t, st)
	n := xssNames
	s := h.showcase(n)
	shows := map[string][]string{
		"api-keys":          {n.KeyName},
		"api-key-add":       {n.KeyName},
		"staff":             {n.StaffName},
		"webhooks":          {n.HookURL},
		"webhook":           {n.HookURL},
		"customers":         {n.Customer},
		"customer":          {n.Customer},
		"templates":         {n.Template},
		"template":          {n.Template},
		"campaigns":         {n.Campaign, n.Draft},
		"campaign-composer": {n.Draft, n.Template},
		"campaign":          {n.Campaign, n.Template},
		"automations":       {n.Automation, n.Template},
		"automation":        {n.Automation, n.Template},
		"api-key-delete":    {n.KeyName},
	}
	pages := s.pages()
	keys, err := h.svc.APIKeys(h.ctx, h.business.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Name == n.KeyName {
			pages = append(pages, consolePage{name: "api-key-delete", path: "/console/api-keys/" + k.ID + "/delete"})
		}
	}
	if len(pages) != len(s.pages())+1 {
		t.Fatalf("no key named %q in %+v", n.KeyName, keys)
	}
	visitPages(ctx, t, h, pages, func(p consolePage) {
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](pageText))
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		for _, want := range shows[p.name] {
			if !strings.Contains(text, want) {
				t.Errorf("%s: the page does not show %q as text", p.name, want)
			}
		}
		markup, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](pageMarkup))
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		for _, m := range markup {
			t.Errorf("%s: the page has the element %s", p.name, m)
		}
	})

	// A staff login may not be markup: the refused one shows again in its
	// field, as text.
	problems.expect("status of 422")
	login := `<script>alert(9)</script>`
	err = chromedp.Do(ctx, chromedp.Navigate(h.srv.URL+"/console/staff"),
		setAndSubmit(`#staff-login`, login), chromedp.WaitVisible(chromedp.CSS(`[role="alert"]`)))
	if err != nil {
		t.Fatalf("browser: adding a staff login: %v", err)
	}
	if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("staff-login").value`)); err != nil || got != login {
		t.Errorf("the refused login shows as %q (%v), want %q", got, err, login)
	}
	problems.check(t)
}

// updateScreenshots makes TestScreenshots drive chromium over the showcase
// data and write docs/console/<page>.png.
var updateScreenshots = flag.Bool("update-screenshots", false, "write the console's screenshots in docs/console")

// screenshotDir is where the screenshots are, from this package.
const screenshotDir = "../../docs/console"

// screenshotWidth and screenshotHeight are the screenshots' viewport.
const screenshotWidth, screenshotHeight = 1280, 800

// TestScreenshots keeps the console's screenshots in docs/console current.
// With -update-screenshots it drives chromium over the showcase data (as
// the demo business would look) at a 1280×800 viewport and writes one PNG
// per page:
//
//	go test ./hub/console -run TestScreenshots -update-screenshots
//
// Without the flag it checks that every page has its screenshot, of that
// size, and that no screenshot is of a page that is gone.
func TestScreenshots(t *testing.T) {
	var s showcase
	pages := s.pages()
	if !*updateScreenshots {
		want := map[string]bool{}
		for _, p := range pages {
			want[p.name+".png"] = true
			f, err := os.Open(filepath.Join(screenshotDir, p.name+".png"))
			if err != nil {
				t.Errorf("%v (go test ./hub/console -run TestScreenshots -update-screenshots)", err)
				continue
			}
			cfg, err := png.DecodeConfig(f)
			f.Close()
			if err != nil || cfg.Width != screenshotWidth || cfg.Height != screenshotHeight {
				t.Errorf("%s.png: %dx%d, %v; want a %dx%d PNG", p.name, cfg.Width, cfg.Height, err, screenshotWidth, screenshotHeight)
			}
		}
		files, err := filepath.Glob(filepath.Join(screenshotDir, "*.png"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if !want[filepath.Base(f)] {
				t.Errorf("%s is the screenshot of no page", f)
			}
		}
		return
	}

	ctx, problems := startBrowser(t, 90*time.Second)
	st := sqltest.Open(t, sqlstore.DialectSQLite)
	h := newHarness(t, st)
	s = h.showcase(demoNames)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(screenshotWidth, screenshotHeight)); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// What a page shows below the fold: the campaign's chart, the
	// template variants' previews.
	show := map[string][]chromedp.Action[chromedp.Void]{
		"campaign": {void(chromedp.Evaluate[bool](`document.getElementById("progress").scrollIntoView() === undefined`))},
		"template": {void(chromedp.Poll[bool](`typeof htmx !== "undefined"`)),
			chromedp.Click(chromedp.CSS(`button[name="variant"][value="0"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#preview-0 [data-testid="preview-text"]`)),
			chromedp.Click(chromedp.CSS(`button[name="variant"][value="1"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#preview-1 iframe.email-preview`)),
			void(chromedp.Evaluate[bool](`document.querySelector("fieldset").scrollIntoView() === undefined`))},
	}
	visitPages(ctx, t, h, s.pages(), func(p consolePage) {
		if err := chromedp.Do(ctx, show[p.name]...); err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		// The fonts are in and a frame is drawn.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
			`document.fonts.ready.then(() => new Promise(r => requestAnimationFrame(() => r(true))))`,
			chromedp.EvalAwaitPromise)); err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		img, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		name := filepath.Join(screenshotDir, p.name+".png")
		if err := os.WriteFile(name, img, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d KB", name, len(img)/1024)
	})
	problems.check(t)
}
