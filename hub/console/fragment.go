package console

import "net/http"

// htmxPart says the request is htmx's own (hx-post on an element, not a
// boosted link or form), so the answer is a fragment of a page rather
// than the whole page.
func htmxPart(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Boosted") == ""
}
