package console

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"strings"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Languages are the console's languages, English first (the fallback).
var Languages = []string{"en", "th", "hi"}

// catalog holds the message files of every language.
type catalog struct {
	bundle  *i18n.Bundle
	matcher language.Matcher
	tags    []language.Tag
	ids     []string // the English message ids
}

func newCatalog() (*catalog, error) {
	c := &catalog{bundle: i18n.NewBundle(language.English)}
	c.bundle.RegisterUnmarshalFunc("json", json.Unmarshal)
	for _, lang := range Languages {
		// locales/<lang>.json holds the shared messages; a page may keep its
		// own in locales/<page>.<lang>.json.
		paths, err := fs.Glob(files, "locales/*."+lang+".json")
		if err != nil {
			return nil, err
		}
		for _, path := range append([]string{"locales/" + lang + ".json"}, paths...) {
			mf, err := c.bundle.LoadMessageFileFS(files, path)
			if err != nil {
				return nil, fmt.Errorf("console: messages %s: %w", path, err)
			}
			if lang == "en" {
				for _, m := range mf.Messages {
					c.ids = append(c.ids, m.ID)
				}
			}
		}
		c.tags = append(c.tags, language.Make(lang))
	}
	sort.Strings(c.ids)
	c.matcher = language.NewMatcher(c.tags)
	return c, nil
}

// choose returns the console language for the preferences, best first:
// an explicit choice, the owner's stored language, the browser's
// Accept-Language, the business's default language. Unknown ones are skipped.
func (c *catalog) choose(explicit, owner, acceptLanguage, business string) string {
	for _, l := range []string{explicit, owner} {
		if supported(l) {
			return l
		}
	}
	if tags, _, err := language.ParseAcceptLanguage(acceptLanguage); err == nil && len(tags) > 0 {
		_, i, conf := c.matcher.Match(tags...)
		if conf != language.No {
			return Languages[i]
		}
	}
	if base, _, _ := strings.Cut(business, "-"); supported(base) {
		return base
	}
	return "en"
}

func supported(lang string) bool {
	for _, l := range Languages {
		if l == lang {
			return true
		}
	}
	return false
}

// translator localizes messages into one language.
type translator struct {
	lang string
	loc  *i18n.Localizer
}

// Lang is the language's code, for <html lang>.
func (t *translator) Lang() string { return t.lang }

func (c *catalog) translator(lang string) *translator {
	return &translator{lang: lang, loc: i18n.NewLocalizer(c.bundle, lang, "en")}
}

// T returns the message with the id; args are name, value pairs for its
// {{.Name}} placeholders. A missing message shows its id, never fails a page.
func (t *translator) T(id string, args ...any) string {
	var data map[string]any
	if len(args) > 1 {
		data = map[string]any{}
		for i := 0; i+1 < len(args); i += 2 {
			data[fmt.Sprint(args[i])] = args[i+1]
		}
	}
	s, err := t.loc.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		return id
	}
	return s
}

// requestLanguage chooses the language of a request without an owner.
func (s *server) requestLanguage(r *http.Request, owner, business string) string {
	return s.i18n.choose(r.URL.Query().Get("lang"), owner, r.Header.Get("Accept-Language"), business)
}
