package console

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/7loc/hub/hub"
)

// templatesData is the message templates list: a page of templates.
type templatesData struct {
	Templates []*hub.MessageTemplate
	// Next is the cursor of the next page, "" on the last.
	Next string
}

// tplEditor is the message template editor: the template's name and
// variants as typed, so that a refused form shows them again.
type tplEditor struct {
	// ID is the template's, "" for a new one.
	ID       string
	Name     string
	Variants []*tplVariant
	// AddLanguage and AddKind are the "add a variant" row's values.
	AddLanguage, AddKind string
	// Languages are suggestions for a variant's language.
	Languages []string
}

// tplVariant is one variant in the editor, with its preview when asked.
type tplVariant struct {
	Index int
	hub.MessageVariant
	// Preview is the variant rendered with sample data, nil when not asked.
	Preview *hub.Rendered
	// Problems are the preview's problems (the service's, by field).
	Problems []string
}

// tplVariantView is what the variant templates get: the page's view (for
// the translator and the field errors) and the variant.
type tplVariantView struct {
	*view
	V *tplVariant
	// TemplateID is the template's id, or "new".
	TemplateID string
}

// VariantView pairs a variant of the editor with the page's view, for
// the "variant" and "preview" templates.
func (v *view) VariantView(x *tplVariant) *tplVariantView {
	id := "new"
	if e, ok := v.Data.(*tplEditor); ok && e.ID != "" {
		id = e.ID
	}
	if p, ok := v.Data.(*tplPreviewPart); ok {
		id = p.TemplateID
	}
	return &tplVariantView{view: v, V: x, TemplateID: id}
}

// tplPreviewPart is the data of a preview fragment.
type tplPreviewPart struct {
	TemplateID string
	Variant    *tplVariant
}

// Field is the form name of one of the variant's fields
// ("variants[0].text"), which is also the service's JSON path of it.
func (x *tplVariantView) Field(name string) string {
	return fmt.Sprintf("variants[%d].%s", x.V.Index, name)
}

// Problem is the service's problem with the variant itself (such as a
// repeated language and kind), not with one of its fields.
func (x *tplVariantView) Problem() string {
	return x.Fields[fmt.Sprintf("variants[%d]", x.V.Index)]
}

// errorLine is a line of a template named by a problem ("line 3: …").
type errorLine struct {
	Number int
	Text   string
}

var lineRE = regexp.MustCompile(`\bline (\d+):`)

// ErrorLines are the source lines the field's problems name, so that the
// editor shows each problem at its line.
func (x *tplVariantView) ErrorLines(name string) []errorLine {
	problem := x.FieldError(x.Field(name))
	if problem == "" {
		return nil
	}
	var src string
	switch name {
	case "subject":
		src = x.V.Subject
	case "text":
		src = x.V.Text
	case "html":
		src = x.V.HTML
	}
	lines := strings.Split(src, "\n")
	var out []errorLine
	seen := map[int]bool{}
	for _, m := range lineRE.FindAllStringSubmatch(problem, -1) {
		n, err := strconv.Atoi(m[1])
		if err != nil || n < 1 || n > len(lines) || seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, errorLine{Number: n, Text: lines[n-1]})
	}
	return out
}

// defaultVariantLanguages are suggested for a variant's language.
var defaultVariantLanguages = []string{"en", "th", "hi"}

// templates lists the business's message templates, a page at a time.
func (s *server) templates(w http.ResponseWriter, r *http.Request) {
	ts, next, err := s.svc.MessageTemplates(r.Context(), session(r).BusinessID, cursor(r, hub.PrefixMessageTemplate))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := &view{Title: "templates.title", Nav: "templates", Data: &templatesData{Templates: ts, Next: deref(next)}}
	if r.URL.Query().Get("deleted") != "" {
		v.Flash = "template.deleted"
	}
	s.render(w, r, http.StatusOK, "templates", v)
}

// editorOf shows a stored template in the editor.
func editorOf(t *hub.MessageTemplate) *tplEditor {
	e := &tplEditor{ID: t.ID, Name: t.Name}
	for i, mv := range t.Variants {
		e.Variants = append(e.Variants, &tplVariant{Index: i, MessageVariant: mv})
	}
	return e
}

// newEditor is the editor of a new template: one English text variant.
func newEditor() *tplEditor {
	return &tplEditor{Variants: []*tplVariant{{MessageVariant: hub.MessageVariant{Language: "en", Kind: hub.KindText}}}}
}

func (s *server) renderEditor(w http.ResponseWriter, r *http.Request, st int, e *tplEditor, err error) {
	e.Languages = defaultVariantLanguages
	if e.AddLanguage == "" {
		e.AddLanguage = "en"
	}
	v := &view{Title: "template.title", Nav: "templates", Data: e}
	if e.ID == "" {
		v.Title = "template.new"
	}
	if err != nil {
		withError(v, err)
	}
	if r.URL.Query().Get("saved") != "" && err == nil {
		v.Flash = "template.saved"
	}
	s.render(w, r, st, "template", v)
}

// storedTemplate loads the path's template of the owner's business;
// another business's, and ids that are none, are not found.
func (s *server) storedTemplate(r *http.Request) (*hub.MessageTemplate, error) {
	id := r.PathValue("id")
	if !hub.ValidID(hub.PrefixMessageTemplate, id) {
		return nil, hub.NotFound("message template")
	}
	return s.svc.MessageTemplateByID(r.Context(), session(r).BusinessID, id)
}

func (s *server) newTemplate(w http.ResponseWriter, r *http.Request) {
	s.renderEditor(w, r, http.StatusOK, newEditor(), nil)
}

func (s *server) template(w http.ResponseWriter, r *http.Request) {
	t, err := s.storedTemplate(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderEditor(w, r, http.StatusOK, editorOf(t), nil)
}

// readEditor reads the posted editor: the name and every variant
// (variants[i].language, .kind, .subject, .text, .html). The "remove"
// button drops a variant and "add" appends one, in the form only.
func readEditor(r *http.Request, id string) *tplEditor {
	e := &tplEditor{ID: id, Name: r.PostFormValue("name"),
		AddLanguage: strings.TrimSpace(r.PostFormValue("add.language")), AddKind: r.PostFormValue("add.kind")}
	remove := -1
	if v := r.PostFormValue("remove"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			remove = n
		}
	}
	for i := 0; i < hub.MaxVariants+1; i++ {
		f := func(name string) string { return r.PostFormValue(fmt.Sprintf("variants[%d].%s", i, name)) }
		kind := f("kind")
		if kind == "" {
			break
		}
		if i == remove {
			continue
		}
		mv := hub.MessageVariant{Language: strings.TrimSpace(f("language")), Kind: kind, Text: f("text")}
		if kind == hub.KindEmail {
			mv.Subject, mv.HTML = f("subject"), f("html")
		}
		e.Variants = append(e.Variants, &tplVariant{Index: len(e.Variants), MessageVariant: mv})
	}
	if r.PostFormValue("add") != "" && len(e.Variants) < hub.MaxVariants {
		kind := hub.KindText
		if e.AddKind == hub.KindEmail {
			kind = hub.KindEmail
		}
		e.Variants = append(e.Variants, &tplVariant{Index: len(e.Variants),
			MessageVariant: hub.MessageVariant{Language: e.AddLanguage, Kind: kind}})
	}
	return e
}

// input is the service's input of the editor's name and variants.
func (e *tplEditor) input() hub.MessageTemplateInput {
	name := e.Name
	vs := make([]hub.MessageVariant, 0, len(e.Variants))
	for _, x := range e.Variants {
		vs = append(vs, x.MessageVariant)
	}
	return hub.MessageTemplateInput{Name: &name, Variants: vs}
}

// saveTemplate creates a template (POST /console/templates) or replaces a
// stored one's name and variants, through the service as the API does; a
// refused form shows each problem at its field and line. "Add a variant"
// and "Remove" only change the form.
func (s *server) saveTemplate(w http.ResponseWriter, r *http.Request) {
	id := ""
	if r.PathValue("id") != "" {
		t, err := s.storedTemplate(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		id = t.ID
	}
	e := readEditor(r, id)
	if r.PostFormValue("add") != "" || r.PostFormValue("remove") != "" {
		s.renderEditor(w, r, http.StatusOK, e, nil)
		return
	}
	b := session(r).BusinessID
	var (
		t   *hub.MessageTemplate
		err error
	)
	if id == "" {
		t, err = s.svc.CreateMessageTemplate(r.Context(), b, e.input())
	} else {
		t, err = s.svc.UpdateMessageTemplate(r.Context(), b, id, e.input())
	}
	if err != nil {
		if status(err) >= 500 {
			s.fail(w, r, err)
			return
		}
		s.renderEditor(w, r, status(err), e, err)
		return
	}
	s.log.InfoContext(r.Context(), "message template saved in the console", "template_id", t.ID,
		"owner_id", session(r).OwnerID)
	http.Redirect(w, r, Prefix+"/templates/"+t.ID+"?saved=1", http.StatusSeeOther)
}

// previewTemplate renders one variant of the editor as typed (not saved)
// with sample data, through hub.Service.PreviewMessageTemplate. htmx asks
// for the preview fragment as the owner types; the Preview button without
// JavaScript gets the whole editor with the preview under the variant.
// The path's id is a stored template's or "new".
func (s *server) previewTemplate(w http.ResponseWriter, r *http.Request) {
	id := ""
	if r.PathValue("id") != "new" {
		t, err := s.storedTemplate(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		id = t.ID
	}
	e := readEditor(r, id)
	i, err := strconv.Atoi(r.FormValue("variant"))
	if err != nil || i < 0 || i >= len(e.Variants) {
		s.notFound(w, r)
		return
	}
	x := e.Variants[i]
	lang, kind := x.Language, x.Kind
	rendered, err := s.svc.PreviewMessageTemplate(r.Context(), session(r).BusinessID, id, hub.PreviewInput{
		Language: &lang, Kind: &kind, Variants: []hub.MessageVariant{x.MessageVariant}})
	if err != nil && status(err) >= 500 {
		s.fail(w, r, err)
		return
	}
	st := http.StatusOK
	if err != nil {
		st = status(err)
		err = atVariant(err, i)
		x.Problems = sortedProblems(hub.ErrorFields(err))
		if len(x.Problems) == 0 {
			x.Problems = []string{hub.ErrorMessage(err)}
		}
	}
	x.Preview = rendered
	if htmxPart(r) {
		v := &view{Fragment: "preview-part", Data: &tplPreviewPart{TemplateID: r.PathValue("id"), Variant: x}}
		if err != nil {
			withError(v, err)
		}
		s.render(w, r, st, "template", v)
		return
	}
	s.renderEditor(w, r, st, e, err)
}

// atVariant moves the problems of a one-variant preview to the variant's
// place in the editor: "variants[0].text" becomes "variants[i].text", and
// the preview's own language and kind are the variant's.
func atVariant(err error, i int) error {
	fields := hub.ErrorFields(err)
	if len(fields) == 0 {
		return err
	}
	moved := map[string]string{}
	for k, p := range fields {
		switch {
		case strings.HasPrefix(k, "variants[0]"):
			k = fmt.Sprintf("variants[%d]", i) + strings.TrimPrefix(k, "variants[0]")
		case k == "language" || k == "kind":
			k = fmt.Sprintf("variants[%d].%s", i, k)
		}
		moved[k] = p
	}
	return &hub.Error{Code: hub.ErrorCode(err), Message: hub.ErrorMessage(err), Fields: moved, Err: err}
}

// sortedProblems lists problems as "field: problem", by field.
func sortedProblems(fields map[string]string) []string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, fields[k])
	}
	return out
}

// confirmDeleteTemplate is the confirmation page of Delete without
// JavaScript (with it, a dialog on the editor asks).
func (s *server) confirmDeleteTemplate(w http.ResponseWriter, r *http.Request) {
	t, err := s.storedTemplate(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "template-delete", &view{Title: "template.delete.title", Nav: "templates", Data: t})
}

func (s *server) deleteTemplate(w http.ResponseWriter, r *http.Request) {
	t, err := s.storedTemplate(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.svc.DeleteMessageTemplate(r.Context(), session(r).BusinessID, t.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "message template deleted in the console", "template_id", t.ID,
		"owner_id", session(r).OwnerID)
	http.Redirect(w, r, Prefix+"/templates?deleted=1", http.StatusSeeOther)
}

// tplSource is one Liquid source of a variant in the editor (subject, HTML
// or text) with the service's problem with it and the lines it names.
type tplSource struct {
	X     *tplVariantView
	Name  string
	Label string
	// ID is the form name and element id, the service's JSON path.
	ID, Value, Error string
	Rows             int
	Lines            []errorLine
	// PreviewURL is where htmx asks for the variant's preview.
	PreviewURL string
}

// Source describes one of the variant's sources for the "source" template;
// label is a message id.
func (x *tplVariantView) Source(name, label string) *tplSource {
	src := &tplSource{X: x, Name: name, Label: label, ID: x.Field(name), Rows: 6,
		PreviewURL: fmt.Sprintf("%s/templates/%s/preview?variant=%d", Prefix, x.TemplateID, x.V.Index)}
	src.Error = x.FieldError(src.ID)
	src.Lines = x.ErrorLines(name)
	switch name {
	case "subject":
		src.Value = x.V.Subject
	case "html":
		src.Value, src.Rows = x.V.HTML, 10
	default:
		src.Value = x.V.Text
	}
	return src
}
