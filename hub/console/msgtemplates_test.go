package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// templates lists every message template of a business.
func (h *harness) templates(businessID string) []*hub.MessageTemplate {
	h.t.Helper()
	ts, _, err := h.svc.MessageTemplates(h.ctx, businessID, hub.Page{Limit: 100})
	if err != nil {
		h.t.Fatal(err)
	}
	return ts
}

// templateID is the id a redirect after a save names.
func templateID(t *testing.T, p page) string {
	t.Helper()
	want(t, p, http.StatusSeeOther)
	loc := p.header.Get("Location")
	id, ok := strings.CutPrefix(loc, "/console/templates/")
	if !ok || !strings.HasSuffix(id, "?saved=1") {
		t.Fatalf("went to %q", loc)
	}
	return strings.TrimSuffix(id, "?saved=1")
}

func TestTemplatesPages(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		b := h.browser()
		b.login("owner@example.com")

		// The list shows the ready-made templates of a new business.
		p := b.get("/console/templates")
		want(t, p, http.StatusOK)
		contains(t, p, `aria-current="page">Templates</a>`, "<h1>Message templates</h1>", "Birthday greeting",
			`<span class="badge">en · Email</span>`, `href="/console/templates/new"`)
		contains(t, b.get("/console/templates?lang=th"), "<h1>เทมเพลตข้อความ</h1>")
		contains(t, b.get("/console/templates?lang=hi"), "<h1>संदेश टेम्पलेट</h1>")
		before := len(h.templates(h.business.ID))

		p = b.get("/console/templates/new")
		want(t, p, http.StatusOK)
		contains(t, p, `<label for="name">Name</label>`, `name="variants[0].kind" value="text"`,
			`<textarea id="variants[0].text" name="variants[0].text"`, `hx-trigger="keyup changed delay:500ms, change"`,
			`hx-post="/console/templates/new/preview?variant=0"`, `formaction="/console/templates/new/preview"`, ">Save template</button>")

		// Bad Liquid: the problem at its field and line; nothing saved.
		form := url.Values{"name": {"Welcome"}, "variants[0].language": {"en"}, "variants[0].kind": {"text"},
			"variants[0].text": {"Hello!\n{{ customer.nmae }}"}}
		p = b.post("/console/templates", form)
		want(t, p, http.StatusUnprocessableEntity)
		contains(t, p, `<textarea id="variants[0].text" name="variants[0].text" rows="6" spellcheck="false" aria-invalid="true" aria-describedby="variants[0].text-error"`,
			`<div class="field-error" id="variants[0].text-error"><p>line 2: unknown variable customer.nmae</p>`,
			`<li value="2"><code>{{ customer.nmae }}</code></li>`, "Hello!\n{{ customer.nmae }}</textarea>")
		if n := len(h.templates(h.business.ID)); n != before {
			t.Fatalf("a refused template was saved: %d templates, want %d", n, before)
		}

		// "Add variant" adds an email variant to the form only; "Remove" drops one.
		form.Set("variants[0].text", "Hello {{ customer.name }}!")
		form.Set("add", "1")
		form.Set("add.language", "th")
		form.Set("add.kind", "email")
		p = b.post("/console/templates", form)
		want(t, p, http.StatusOK)
		contains(t, p, `name="variants[1].kind" value="email"`, `<input id="variants[1].subject"`,
			`<textarea id="variants[1].html"`, `value="th"`, `<legend>th · Email</legend>`)
		form.Del("add")
		form.Set("variants[1].language", "th")
		form.Set("variants[1].kind", "email")
		form.Set("variants[1].subject", "สวัสดี {{ customer.name }}")
		form.Set("variants[1].html", "<p>{{ business.name }}</p>")
		p = b.post("/console/templates", url.Values{"name": {"x"}, "remove": {"0"}, "variants[0].language": {"en"},
			"variants[0].kind": {"text"}, "variants[0].text": {"one"}, "variants[1].language": {"hi"}, "variants[1].kind": {"text"},
			"variants[1].text": {"two"}})
		contains(t, p, `<legend>hi · Messengers and PUSH</legend>`, ">two</textarea>")
		if strings.Contains(p.body, ">one</textarea>") || strings.Contains(p.body, "variants[1]") {
			t.Error("the removed variant is still in the form")
		}

		// Saved.
		id := templateID(t, b.post("/console/templates", form))
		got, err := h.svc.MessageTemplateByID(h.ctx, h.business.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		wantVariants := []hub.MessageVariant{{Language: "en", Kind: "text", Text: "Hello {{ customer.name }}!"},
			{Language: "th", Kind: "email", Subject: "สวัสดี {{ customer.name }}", HTML: "<p>{{ business.name }}</p>"}}
		if diff := cmp.Diff(wantVariants, got.Variants); got.Name != "Welcome" || diff != "" {
			t.Fatalf("stored %q (-want +got):\n%s", got.Name, diff)
		}
		p = b.get("/console/templates/" + id + "?saved=1")
		want(t, p, http.StatusOK)
		contains(t, p, "The template is saved.", `value="Welcome"`, ">Hello {{ customer.name }}!</textarea>",
			`hx-post="/console/templates/`+id+`/preview?variant=1"`, `data-dialog="delete-template"`, ">Confirm</button>")

		// The preview fragment, as htmx asks for it while the owner types:
		// the unsaved text, rendered with the sample customer.
		form.Set("variants[0].text", "Hi {{ customer.name }}, {{ card.stamps_left }} to go")
		p = b.post("/console/templates/"+id+"/preview?variant=0", form, "HX-Request", "true")
		want(t, p, http.StatusOK)
		contains(t, p, `<pre class="preview-text" data-testid="preview-text">Hi Ann, 2 to go</pre>`)
		if strings.Contains(p.body, "<html") || strings.Contains(p.body, "<form") {
			t.Error("the fragment is a whole page")
		}
		// The email variant: the HTML in a sandboxed frame, never in the page.
		p = b.post("/console/templates/"+id+"/preview?variant=1", form, "HX-Request", "true")
		contains(t, p, `<span class="preview-subject">สวัสดี Ann</span>`,
			`<iframe class="email-preview" sandbox srcdoc="&lt;p&gt;Demo Café&lt;/p&gt;"`, ">Demo Café</pre>")
		// A bad source: the problem in the fragment, at the variant's place.
		form.Set("variants[1].html", "<p>{{ card.nope }}</p>")
		p = b.post("/console/templates/"+id+"/preview?variant=1", form, "HX-Request", "true")
		want(t, p, http.StatusUnprocessableEntity)
		contains(t, p, "<li>line 1: unknown variable card.nope</li>")
		// Without JavaScript the Preview button shows the whole editor, with
		// the problem at its field.
		form.Set("variant", "1")
		p = b.post("/console/templates/"+id+"/preview", form)
		want(t, p, http.StatusUnprocessableEntity)
		contains(t, p, "<html", `id="variants[1].html-error"><p>line 1: unknown variable card.nope</p>`)
		form.Set("variant", "0")
		p = b.post("/console/templates/"+id+"/preview", form)
		want(t, p, http.StatusOK)
		contains(t, p, "<html", ">Hi Ann, 2 to go</pre>")
		form.Del("variant")
		// A new template previews as well.
		p = b.post("/console/templates/new/preview?variant=0", form, "HX-Request", "true")
		contains(t, p, ">Hi Ann, 2 to go</pre>")
		if got, _ := h.svc.MessageTemplateByID(h.ctx, h.business.ID, id); got.Variants[0].Text != "Hello {{ customer.name }}!" {
			t.Error("a preview saved the template")
		}

		// Update.
		form.Set("name", "Welcome back")
		form.Set("variants[1].html", "<p>{{ business.name }}</p>")
		if id2 := templateID(t, b.post("/console/templates/"+id, form)); id2 != id {
			t.Fatalf("update went to %s", id2)
		}
		got, _ = h.svc.MessageTemplateByID(h.ctx, h.business.ID, id)
		if got.Name != "Welcome back" || got.Variants[0].Text != form.Get("variants[0].text") {
			t.Errorf("after the update: %+v", got)
		}

		// Delete after a confirmation.
		p = b.get("/console/templates/" + id + "/delete")
		want(t, p, http.StatusOK)
		contains(t, p, "Delete the template?", "“Welcome back”", ">Confirm</button>")
		p = b.post("/console/templates/"+id+"/delete", url.Values{})
		want(t, p, http.StatusSeeOther)
		contains(t, b.get(p.header.Get("Location")), "The template is deleted.")
		if _, err := h.svc.MessageTemplateByID(h.ctx, h.business.ID, id); hub.ErrorCode(err) != hub.ENotFound {
			t.Errorf("the deleted template: %v", err)
		}
	})
}

// TestTemplateScriptIsText checks that a template whose sources hold a
// script shows them as text in every console page and fragment, and that
// the email HTML goes only into a sandboxed frame's srcdoc, escaped.
func TestTemplateScriptIsText(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		const evil = "<script>alert(1)</script>"
		mt, err := h.svc.CreateMessageTemplate(h.ctx, h.business.ID, hub.MessageTemplateInput{Name: ptr(evil),
			Variants: []hub.MessageVariant{{Language: "en", Kind: "text", Text: evil + " {{ customer.name }}"},
				{Language: "en", Kind: "email", Subject: evil, HTML: evil + "<p>{{ customer.name }}</p>"}}})
		if err != nil {
			t.Fatal(err)
		}
		b := h.browser()
		b.login("owner@example.com")
		form := url.Values{"name": {evil}, "variants[0].language": {"en"}, "variants[0].kind": {"text"},
			"variants[0].text": {evil + " {{ customer.name }}"}, "variants[1].language": {"en"}, "variants[1].kind": {"email"},
			"variants[1].subject": {evil}, "variants[1].html": {evil + "<p>{{ customer.name }}</p>"}}
		pages := map[string]page{
			"list":          b.get("/console/templates"),
			"editor":        b.get("/console/templates/" + mt.ID),
			"confirm":       b.get("/console/templates/" + mt.ID + "/delete"),
			"text preview":  b.post("/console/templates/"+mt.ID+"/preview?variant=0", form, "HX-Request", "true"),
			"email preview": b.post("/console/templates/"+mt.ID+"/preview?variant=1", form, "HX-Request", "true"),
			"no-JS preview": b.post("/console/templates/"+mt.ID+"/preview", url.Values{"variant": {"0"}, "name": {evil},
				"variants[0].language": {"en"}, "variants[0].kind": {"email"}, "variants[0].subject": {evil},
				"variants[0].html": {evil}}),
			"refused": b.post("/console/templates/"+mt.ID, url.Values{"name": {evil}, "variants[0].language": {"en"},
				"variants[0].kind": {"text"}, "variants[0].text": {evil + "{{ nope }}"}}),
		}
		for name, p := range pages {
			if p.status >= 300 && p.status != http.StatusUnprocessableEntity {
				t.Errorf("%s: status %d", name, p.status)
			}
			if strings.Contains(p.body, "<script>alert") {
				t.Errorf("%s: the script is in the page unescaped\n%s", name, p.body)
			}
			if !strings.Contains(p.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Errorf("%s: the script is not shown as text\n%s", name, p.body)
			}
			if m := inlineScript.FindString(p.body); m != "" {
				t.Errorf("%s: inline script or style %q", name, m)
			}
		}
		contains(t, pages["email preview"], `<iframe class="email-preview" sandbox srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;&lt;p&gt;Ann&lt;/p&gt;"`)
	})
}

// TestAnotherBusinessTemplateIsNotFound checks that another business's
// template, and ids that are none, are the 404 page on every route.
func TestAnotherBusinessTemplateIsNotFound(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		other, _ := h.newBusiness("Other shop", "otherlogin", "other@example.com")
		theirs := h.templates(other.ID)[0]
		b := h.browser()
		b.login("owner@example.com")
		form := url.Values{"name": {"Mine now"}, "variants[0].language": {"en"}, "variants[0].kind": {"text"},
			"variants[0].text": {"hi"}, "variant": {"0"}}
		for _, id := range []string{theirs.ID, "mt_nonsense", "nonsense"} {
			for _, p := range []page{
				b.get("/console/templates/" + id),
				b.post("/console/templates/"+id, form),
				b.post("/console/templates/"+id+"/preview", form),
				b.get("/console/templates/" + id + "/delete"),
				b.post("/console/templates/"+id+"/delete", url.Values{}),
			} {
				want(t, p, http.StatusNotFound)
				contains(t, p, "Page not found.")
			}
		}
		if got, err := h.svc.MessageTemplateByID(h.ctx, other.ID, theirs.ID); err != nil || got.Name != theirs.Name {
			t.Errorf("another business's template changed: %+v, %v", got, err)
		}
	})
}
