package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// browserProblems collects a browser's script errors,
// Content-Security-Policy violations and script dialogs (alert, confirm,
// prompt), which it dismisses.
type browserProblems struct {
	mu   sync.Mutex
	list []string
	// ctx is the browser's, to dismiss a dialog.
	ctx context.Context
	// expected are log entries that are not problems: a log entry whose
	// text holds one's text, at a URL holding its url, is not kept (a
	// refused form's 422, say).
	expected []expectedEntry
}

// expectedEntry is a log entry that is not a problem.
type expectedEntry struct{ text, url string }

// expect makes log entries that hold text not problems.
func (p *browserProblems) expect(text string) { p.expectAt(text, "") }

// expectAt makes log entries that hold text, about a URL that holds url,
// not problems.
func (p *browserProblems) expectAt(text, url string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expected = append(p.expected, expectedEntry{text: text, url: url})
}

func (p *browserProblems) listen(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		p.list = append(p.list, "exception: "+e.ExceptionDetails.Text)
	case *cdplog.EventEntryAdded:
		for _, x := range p.expected {
			if strings.Contains(e.Entry.Text, x.text) && strings.Contains(e.Entry.URL, x.url) {
				return
			}
		}
		if e.Entry.Level == cdplog.EntryLevelError || strings.Contains(e.Entry.Text, "Content Security Policy") {
			p.list = append(p.list, "log: "+e.Entry.Text+" "+e.Entry.URL)
		}
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError {
			p.list = append(p.list, "console.error")
		}
	case *cdppage.EventJavascriptDialogOpening:
		// A dialog stops the page until it is answered: dismiss it.
		p.list = append(p.list, fmt.Sprintf("a script dialog (%s) opened: %q", e.Type, e.Message))
		if p.ctx != nil {
			go chromedp.Call(p.ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{})
		}
	}
}

// check fails the test for every problem so far.
func (p *browserProblems) check(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.list {
		t.Errorf("browser problem: %s", m)
	}
	p.list = nil
}

// startBrowser starts chromium (or skips the test) and listens to its log.
func startBrowser(t *testing.T, timeout time.Duration) (context.Context, *browserProblems) {
	t.Helper()
	exe := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	problems := &browserProblems{}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(problems.listen))
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, timeout)
	t.Cleanup(cancel)
	problems.mu.Lock()
	problems.ctx = ctx
	problems.mu.Unlock()
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx, problems
}

// campaignPathRE finds a campaign's id in the browser's location.
var campaignPathRE = regexp.MustCompile(`/console/campaigns/(cmp_[0-9A-Za-z]+)`)

// TestBrowserComposeSendProgress drives a real browser: log in, compose a
// campaign (the live audience count answers), save it, send it to a fake
// channel run by the test, and watch the progress bar, updated by htmx
// polling without a reload, reach 100 %. Another business's campaign is
// the 404 page. Any script error or Content-Security-Policy violation
// fails the test.
func TestBrowserComposeSendProgress(t *testing.T) {
	ctx, problems := startBrowser(t, 90*time.Second)
	st := sqltest.Open(t, sqlstore.DialectSQLite)
	h := newHarness(t, st)
	const n = 20
	mt := h.messaging(n)
	other, _ := h.newBusiness("Other shop", "otherlogin", "other@example.com")
	theirs, err := h.svc.CreateCampaign(h.ctx, other.ID, hub.CampaignInput{Name: ptr("Theirs"),
		Audience: json.RawMessage(`{"all": []}`), Message: &hub.CampaignMessage{Variants: []hub.MessageVariant{
			{Language: "en", Kind: hub.KindText, Text: "Hello"}}}})
	if err != nil {
		t.Fatal(err)
	}

	err = chromedp.Do(ctx,
		chromedp.Navigate(h.srv.URL+"/console/login"),
		chromedp.SendKeys(chromedp.CSS(`#email`), "owner@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#password`), ownerPassword),
		chromedp.Click(chromedp.Search(`//button[normalize-space()="Log in"]`)),
		chromedp.WaitVisible(chromedp.Search(`//a[@aria-current="page" and normalize-space()="API keys"]`)),
		chromedp.Navigate(h.srv.URL+"/console/campaigns/new"),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "Spring in the browser"),
		chromedp.SetValue(chromedp.CSS(`#template_id`), mt.ID),
		chromedp.SendKeys(chromedp.CSS(`#channels`), "email"),
		// The live count (htmx) answers for the whole audience on email.
		chromedp.WaitVisible(chromedp.Search(`//div[@id="audience-count"]//li[normalize-space()="Email: 20"]`)),
		chromedp.Click(chromedp.Search(`//button[normalize-space()="Save draft"]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[@role="status" and normalize-space()="Campaign saved."]`)),
	)
	if err != nil {
		t.Fatalf("browser: composing: %v", err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	m := campaignPathRE.FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("after saving the browser is at %s", loc)
	}
	id := m[1]

	// Send. The page navigates (a boosted form post and its redirect), so
	// the check for the Pause button is retried through the navigation; a
	// click that was lost (Send still there after 10 s, no Pause) is tried
	// again.
	hasButton := func(name string) bool {
		found, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.evaluate('//button[normalize-space()="`+name+`"]', document, null,
			XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue !== null`))
		return err == nil && found
	}
	for attempt := 1; ; attempt++ {
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.Search(`//button[normalize-space()="Send"]`))); err != nil {
			t.Fatalf("browser: sending: %v", err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for !hasButton("Pause") && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if hasButton("Pause") {
			break
		}
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main') ? document.querySelector('main').innerText : ''`))
		if attempt == 3 || !hasButton("Send") {
			t.Fatalf("browser: no Pause button after %d clicks on Send; the page says:\n%s", attempt, page)
		}
		t.Logf("no Pause button 10 s after a click on Send; the page says:\n%s", page)
	}
	// A mark on the page: it is still there at 100 % only if the progress
	// came through htmx polling, not a reload.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.campaignMark = true`)); err != nil {
		t.Fatal(err)
	}
	// The fake channel: a runner steps the campaign and accepts every
	// message, slowly enough for the page to show it under way.
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.runCampaign(id, func() {
			time.Sleep(100 * time.Millisecond)
			h.clock.advance(2 * time.Second)
		})
	}()
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`(() => {
		const p = document.querySelector('[role="progressbar"]');
		return p !== null && p.getAttribute('aria-valuenow') === '100';
	})()`, chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(45*time.Second)))
	<-done
	if err != nil {
		t.Fatalf("the progress bar did not reach 100 %%: %v", err)
	}
	// The bar is full once every message is sent; the campaign is sent,
	// and the polling stops, at the runner's last step.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => {
		const s = document.querySelector('[data-testid="campaign-status"]');
		const p = document.getElementById('progress');
		return s !== null && s.textContent.trim() === 'Sent' && p !== null && !p.hasAttribute('hx-trigger');
	})()`, chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Errorf("the page does not show the campaign sent: %v", err)
	}
	mark, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.campaignMark === true`))
	if err != nil || !mark {
		t.Errorf("the page was reloaded to show the progress (%v)", err)
	}
	status, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="campaign-status"]`)))
	if err != nil || strings.TrimSpace(status) != "Sent" {
		t.Errorf("status %q (%v), want Sent", status, err)
	}
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS(`#progress`)))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, "hx-trigger") {
		t.Error("the finished campaign's progress still polls")
	}
	if !strings.Contains(html, `class="sent"`) || !strings.Contains(html, "20 sent and 0 failed so far.") {
		t.Errorf("the chart does not show the 20 messages:\n%s", html)
	}
	problems.check(t)

	// Another business's campaign is the 404 page (whose status the
	// browser logs as an error: not a problem of the page).
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(h.srv.URL+"/console/campaigns/"+theirs.ID))
	if err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 404 || !strings.Contains(text, "Page not found.") || strings.Contains(text, "Theirs") {
		t.Errorf("another business's campaign: %d %q", resp.Status, text)
	}
}
