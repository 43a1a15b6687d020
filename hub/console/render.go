package console

import (
	"bytes"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
)

// pages are the parsed templates, one set per page (the layout and the page).
type pages struct {
	sets map[string]*template.Template
}

func parsePages() (*pages, error) {
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{sets: map[string]*template.Template{}}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(files, "templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		p.sets[base] = t
	}
	return p, nil
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{"field": field}

// formField is one labelled input of a form whose name and id are the
// field's JSON path in the service's input, so that the service's
// problem with it (hub.Error.Fields) shows next to it.
type formField struct {
	Path, Label, Type, Value, Hint, Error string
}

// field describes an input for the "field" template: label and hint are
// message ids (the hint's placeholders follow as name, value pairs; "" for
// none).
func field(v *view, path, label, typ, value, hint string, args ...any) *formField {
	f := &formField{Path: path, Label: v.T(label), Type: typ, Value: value, Error: v.FieldError(path)}
	if hint != "" {
		f.Hint = v.T(hint, args...)
	}
	return f
}

// view is what every page template gets: the translator, the session (nil
// before login), the page's messages and its own data.
type view struct {
	*translator
	Session *hub.OwnerSession
	// Nav names the current section ("api-keys", "staff", "webhooks").
	Nav   string
	Title string
	Path  string
	// Flash is a message id shown once after a redirect.
	Flash string
	// Error is a message from the hub (in English, as the API shows it);
	// ErrorID a console message id.
	Error   string
	ErrorID string
	Fields  map[string]string
	Data    any
	// Fragment, when set, names the template to render instead of the
	// whole page (an htmx fragment: a live count, a progress poll).
	Fragment string
	loc      *time.Location
}

// Date formats a time in the business's time zone.
func (v *view) Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(v.loc).Format("2006-01-02 15:04 MST")
}

// DateP formats an optional time; nil is the "never" message.
func (v *view) DateP(t *time.Time) string {
	if t == nil {
		return v.T("common.never")
	}
	return v.Date(*t)
}

// FieldError is the hub's problem with a field of the form, by JSON path:
// the field's own and those of its elements ("messaging.channel_order[1]")
// and members, joined; "" when it has none.
func (v *view) FieldError(path string) string {
	var out []string
	for k, p := range v.Fields {
		if k == path || strings.HasPrefix(k, path+"[") || strings.HasPrefix(k, path+".") {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// Languages lists the console's languages for the language menu.
func (v *view) Languages() []string { return Languages }

// flashes are the message ids a redirect may ask to show.
var flashes = map[string]bool{
	"flash.logged_out": true, "flash.password_set": true, "flash.key_deleted": true,
	"flash.staff_added": true, "flash.hook_enabled": true, "flash.redelivery_queued": true,
	"flash.language_saved": true, "flash.logged_out_everywhere": true,
	"flash.settings_saved": true, "flash.channel_saved": true, "flash.test_queued": true,
	"flash.webhook_registered": true,
}

// render writes a page. Errors of the hub set Error and Fields.
func (s *server) render(w http.ResponseWriter, r *http.Request, st int, name string, v *view) {
	sess := v.Session
	if sess == nil {
		sess = session(r)
		v.Session = sess
	}
	owner, business := "", ""
	v.loc = time.UTC
	if sess != nil {
		owner, business = sess.Owner.Language, sess.Business.DefaultLanguage
		if loc, err := time.LoadLocation(sess.Business.Timezone); err == nil {
			v.loc = loc
		}
	}
	v.translator = s.i18n.translator(s.requestLanguage(r, owner, business))
	v.Path = r.URL.Path
	if v.Title == "" {
		v.Title = "error.title"
	}
	if f := "flash." + r.URL.Query().Get("done"); v.Flash == "" && flashes[f] {
		v.Flash = f
	}
	t := s.pages.sets[name]
	root := "layout"
	if v.Fragment != "" {
		root = v.Fragment
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, root, v); err != nil {
		s.log.ErrorContext(r.Context(), "rendering a console page failed", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(st)
	_, _ = buf.WriteTo(w)
}

// withError fills a view with an error of the hub.
func withError(v *view, err error) *view {
	v.Error = hub.ErrorMessage(err)
	v.Fields = hub.ErrorFields(err)
	return v
}
