package console_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// chromium returns the browser to drive, or skips the test when there is
// none (fails with HUB_TEST_REQUIRE_CHROMIUM=1).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium on PATH (Debian: apt-get install chromium)"
	if os.Getenv("HUB_TEST_REQUIRE_CHROMIUM") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// TestBrowserLoginCreateKeyCopy drives a real browser: log in, add an API
// key for a login through the dialog, copy the key shown once, close the
// dialog, and the key is gone from the page and never appears in any
// other console page. Any script error or Content-Security-Policy
// violation fails the test.
func TestBrowserLoginCreateKeyCopy(t *testing.T) {
	exe := chromium(t)
	st := sqltest.Open(t, sqlstore.DialectSQLite)
	h := newHarness(t, st)
	s := h.showcase(demoNames) // with the staff login "bob", which has no key

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	var mu sync.Mutex
	var problems []string
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text)
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError || strings.Contains(e.Entry.Text, "Content Security Policy") {
				problems = append(problems, "log: "+e.Entry.Text+" "+e.Entry.URL)
			}
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				problems = append(problems, "console.error")
			}
		}
	}))
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	// Start the browser, listen to its log, and let the hub's origin write
	// to the clipboard.
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	for _, name := range []string{"clipboard-write", "clipboard-read"} {
		if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true},
			Setting:    cdpbrowser.PermissionSettingGranted, Origin: h.srv.URL,
		}); err != nil {
			t.Logf("granting %s: %v", name, err)
		}
	}
	addKey := chromedp.Search(`//a[@role="button" and normalize-space()="Add API key"]`)
	err := chromedp.Do(ctx,
		chromedp.Navigate(h.srv.URL+"/console/login"),
		chromedp.SendKeys(chromedp.CSS(`#email`), "owner@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#password`), ownerPassword),
		chromedp.Click(chromedp.Search(`//button[normalize-space()="Log in"]`)),
		chromedp.WaitVisible(addKey),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	// The page after the login redirect may still be replacing its nodes
	// when the button is first seen ("No node with given id found"): a
	// click that lost its node is tried again.
	for attempt := 1; ; attempt++ {
		err = chromedp.Do(ctx, chromedp.Click(addKey), chromedp.WaitVisible(chromedp.CSS(`dialog#add-key[open]`)))
		if err == nil || attempt == 5 || !strings.Contains(err.Error(), "No node with given id") {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("browser: opening the dialog: %v", err)
	}
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#key-login`), "bob"),
		chromedp.SendKeys(chromedp.CSS(`#key-name`), "Till 9"),
		chromedp.Click(chromedp.Search(`//dialog[@id="add-key"]//button[normalize-space()="Create"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="new-key"]`)),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	key, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="new-key"]`)))
	if err != nil {
		t.Fatal(err)
	}
	copyButton := chromedp.Search(`//button[normalize-space()="Copy"]`)
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(copyButton),
		chromedp.Click(copyButton),
		chromedp.WaitVisible(chromedp.CSS(`button[data-copy][data-done="true"]`)),
	); err != nil {
		t.Fatalf("copy: %v", err)
	}
	copied, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText().catch(() => "")`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Logf("reading the clipboard back: %v", err)
	}
	key = strings.TrimSpace(key)
	pr, err := h.svc.Authenticate(h.ctx, key)
	if err != nil || pr.Staff.Login != "bob" {
		t.Fatalf("the key shown in the browser: %v, %v", pr, err)
	}
	if copied != "" && copied != key {
		t.Errorf("clipboard holds %q, want the key", copied)
	} else if copied == "" {
		t.Log("the clipboard could not be read back headless; the Copy button reported success")
	}

	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//dialog[@id="new-key-dialog"]//button[normalize-space()="Close"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-testid="new-key"]`)),
	); err != nil {
		t.Fatalf("closing the dialog: %v", err)
	}
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, key) {
		t.Error("the key is still in the page after the dialog closed")
	}
	if !strings.Contains(html, "<td>Till 9</td>") {
		t.Error("the new key is not listed")
	}
	// Nor is it in any other page.
	for _, p := range s.pages() {
		if err := chromedp.Do(ctx, chromedp.Navigate(h.srv.URL+p.path), chromedp.WaitReady(chromedp.CSS(`main`))); err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		if strings.Contains(html, key) {
			t.Errorf("%s: the page holds the key", p.name)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("browser problem: %s", p)
	}
}
