package console

import (
	"bytes"
	"net/http"
	"time"
)

// htmxPart says the request is htmx's own (hx-post on an element, not a
// boosted link or form), so the answer is a fragment of a page rather
// than the whole page.
func htmxPart(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Boosted") == ""
}

// renderPart writes one named template of a page without the layout: the
// fragment an htmx request swaps in. The view is set up as render sets it
// up (language, time zone), so the fragment reads as the page does.
func (s *server) renderPart(w http.ResponseWriter, r *http.Request, st int, name, part string, v *view) {
	sess := session(r)
	v.Session = sess
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
	var buf bytes.Buffer
	if err := s.pages.sets[name].ExecuteTemplate(&buf, part, v); err != nil {
		s.log.ErrorContext(r.Context(), "rendering a console fragment failed", "page", name, "part", part, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(st)
	_, _ = buf.WriteTo(w)
}
