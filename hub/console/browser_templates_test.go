package console_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// TestBrowserTemplateLivePreview drives a real browser: log in, open a
// message template, type into a variant's text, and the preview under it
// shows the unsaved text rendered with the sample customer, without a
// submit (the page stays, nothing is saved). Then the email variant's
// HTML shows in its sandboxed frame. Any script error or
// Content-Security-Policy violation fails the test.
func TestBrowserTemplateLivePreview(t *testing.T) {
	st := sqltest.Open(t, sqlstore.DialectSQLite)
	h := newHarness(t, st)
	mt, err := h.svc.CreateMessageTemplate(h.ctx, h.business.ID, hub.MessageTemplateInput{Name: ptr("Welcome"),
		Variants: []hub.MessageVariant{{Language: "en", Kind: hub.KindText, Text: "Hello {{ customer.name }}"},
			{Language: "en", Kind: hub.KindEmail, Subject: "Hi", HTML: "<h1>Hello</h1>"}}})
	if err != nil {
		t.Fatal(err)
	}

	ctx, problems := startBrowser(t, 60*time.Second)
	// A preview of a template with a mistake is a 422 whose fragment shows
	// the problem: expected, not a fault.
	problems.expectAt("422", "/preview?variant=")

	// clear empties a field without events, as selecting its text and
	// deleting it would before typing.
	clear := func(css string) chromedp.Action[chromedp.Void] {
		eval := chromedp.Evaluate[bool](`(document.querySelector('` + css + `').value = "") === ""`)
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := eval(ctx, tg)
			return chromedp.Void{}, err
		}
	}
	page := h.srv.URL + "/console/templates/" + mt.ID
	text := chromedp.CSS(`textarea[name="variants[0].text"]`)
	err = chromedp.Do(ctx,
		chromedp.Navigate(h.srv.URL+"/console/login"),
		chromedp.SendKeys(chromedp.CSS(`#email`), "owner@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#password`), ownerPassword),
		chromedp.Click(chromedp.Search(`//button[normalize-space()="Log in"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[normalize-space()="API keys"]`)),
		chromedp.Navigate(page),
		chromedp.WaitVisible(text),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	// htmx is loaded (deferred) before typing.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`typeof htmx !== "undefined"`)); err != nil {
		t.Fatalf("browser: htmx: %v", err)
	}
	err = chromedp.Do(ctx,
		clear(`textarea[name="variants[0].text"]`),
		chromedp.SendKeys(text, "Bonjour {{ customer.name }}, {{ card.stamps_left }} to go"),
		chromedp.WaitVisible(chromedp.Search(`//section[@id="preview-0"]//pre[@data-testid="preview-text" and normalize-space()="Bonjour Ann, 2 to go"]`)),
	)
	if err != nil {
		t.Fatalf("browser: the live preview did not show the typed text: %v", err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || loc != page {
		t.Errorf("the page changed to %q (%v): the preview submitted the form", loc, err)
	}
	if got, err := h.svc.MessageTemplateByID(h.ctx, h.business.ID, mt.ID); err != nil || got.Variants[0].Text != "Hello {{ customer.name }}" {
		t.Errorf("the preview saved the template: %+v, %v", got, err)
	}

	// A mistake shows in the preview as it is typed.
	err = chromedp.Do(ctx,
		chromedp.SendKeys(text, " {{ customer.nmae }}"),
		chromedp.WaitVisible(chromedp.Search(`//section[@id="preview-0"]//li[contains(., "unknown variable customer.nmae")]`)),
	)
	if err != nil {
		t.Fatalf("browser: the preview did not show the problem: %v", err)
	}

	// The email variant's HTML, in its sandboxed frame.
	html := chromedp.CSS(`textarea[name="variants[1].html"]`)
	err = chromedp.Do(ctx,
		clear(`textarea[name="variants[1].html"]`),
		chromedp.SendKeys(html, "<p>Hi {{ customer.name }}</p>"),
		chromedp.WaitVisible(chromedp.CSS(`#preview-1 iframe.email-preview[sandbox][srcdoc="<p>Hi Ann</p>"]`)),
	)
	if err != nil {
		t.Fatalf("browser: the email preview: %v", err)
	}
	problems.check(t)
}
