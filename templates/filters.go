package templates

import (
	"fmt"
	"html"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/osteele/liquid/filters"
	"github.com/osteele/liquid/render"
	"github.com/osteele/liquid/values"
	"github.com/osteele/tuesday"
)

// htmlFilter is the filter Render appends to every {{ }} value in HTML
// mode. Its name starts with an underscore, which Check refuses in sources.
const htmlFilter = "_html"

// allowedFilters are the filters a template may use. Each is harmless: no
// I/O, and every string it builds is capped at MaxOutput.
var allowedFilters = map[string]bool{
	// values
	"default": true,
	// strings
	"append": true, "prepend": true, "capitalize": true, "downcase": true, "upcase": true,
	"strip": true, "lstrip": true, "rstrip": true, "strip_html": true, "strip_newlines": true,
	"newline_to_br": true, "truncate": true, "truncatewords": true, "replace": true,
	"replace_first": true, "remove": true, "remove_first": true, "slice": true, "split": true,
	"escape": true, "escape_once": true, "url_encode": true, "url_decode": true,
	// numbers
	"plus": true, "minus": true, "times": true, "divided_by": true, "modulo": true,
	"round": true, "ceil": true, "floor": true, "abs": true,
	// dates
	"date": true,
	// arrays
	"size": true, "first": true, "last": true, "join": true, "reverse": true, "sort": true,
	"sort_natural": true, "uniq": true, "compact": true, "map": true,
}

// filterDict collects the standard filters so that addFilters can pick the
// allowed ones.
type filterDict map[string]any

func (d filterDict) AddFilter(name string, fn any) { d[name] = fn }

// addFilters defines the allowed filters on cfg. The standard ones that
// cannot grow a string are kept; the ones that can (and the ones that build
// regular expressions from arguments) are replaced by versions that refuse
// a result over maxOut bytes before building it where the size is known.
func addFilters(cfg *render.Config, maxOut int) {
	std := filterDict{}
	filters.AddStandardFilters(std)
	for name := range allowedFilters {
		if fn, ok := std[name]; ok {
			cfg.AddFilter(name, fn)
		}
	}
	capped := func(s string) (string, error) {
		if len(s) > maxOut {
			return "", tooLong(maxOut)
		}
		return s, nil
	}
	cfg.AddFilter("append", func(s, suffix string) (string, error) {
		if len(s)+len(suffix) > maxOut {
			return "", tooLong(maxOut)
		}
		return s + suffix, nil
	})
	cfg.AddFilter("prepend", func(s, prefix string) (string, error) {
		if len(s)+len(prefix) > maxOut {
			return "", tooLong(maxOut)
		}
		return prefix + s, nil
	})
	replace := func(s, old, repl string, n int) (string, error) {
		count := strings.Count(s, old)
		if n >= 0 {
			count = min(count, n)
		}
		if len(s)+count*(len(repl)-len(old)) > maxOut {
			return "", tooLong(maxOut)
		}
		return strings.Replace(s, old, repl, n), nil
	}
	cfg.AddFilter("replace", func(s, old, repl string) (string, error) { return replace(s, old, repl, -1) })
	cfg.AddFilter("replace_first", func(s, old, repl string) (string, error) { return replace(s, old, repl, 1) })
	cfg.AddFilter("join", func(a []any, sep func(string) string) (string, error) {
		sp := sep(" ")
		var b strings.Builder
		first := true
		for _, v := range a {
			if v == nil {
				continue
			}
			s := fmt.Sprint(v)
			if !first {
				s = sp + s
			}
			first = false
			if b.Len()+len(s) > maxOut {
				return "", tooLong(maxOut)
			}
			b.WriteString(s)
		}
		return b.String(), nil
	})
	cfg.AddFilter("upcase", func(s string) (string, error) { return capped(strings.ToUpper(s)) })
	cfg.AddFilter("downcase", func(s string) (string, error) { return capped(strings.ToLower(s)) })
	cfg.AddFilter("capitalize", func(s string) (string, error) {
		r, n := utf8.DecodeRuneInString(s)
		if n == 0 {
			return s, nil
		}
		return capped(string(unicode.ToUpper(r)) + s[n:])
	})
	cfg.AddFilter("escape", func(s string) (string, error) { return capped(html.EscapeString(s)) })
	cfg.AddFilter("escape_once", func(s string) (string, error) {
		return capped(html.EscapeString(html.UnescapeString(s)))
	})
	cfg.AddFilter("url_encode", func(s string) (string, error) { return capped(url.QueryEscape(s)) })
	cfg.AddFilter("newline_to_br", func(s string) (string, error) {
		return capped(strings.ReplaceAll(s, "\n", "<br />\n"))
	})
	cfg.AddFilter("strip_html", func(s string) string { return tagPattern.ReplaceAllString(s, "") })
	cfg.AddFilter("truncate", func(s string, length func(int) int, ellipsis func(string) string) (string, error) {
		n, el := length(50), ellipsis("...")
		if utf8.RuneCountInString(s) <= n {
			return s, nil
		}
		keep := max(n-utf8.RuneCountInString(el), 0)
		return capped(prefixRunes(s, keep) + el)
	})
	cfg.AddFilter("truncatewords", func(s string, length func(int) int, ellipsis func(string) string) (string, error) {
		n, el := max(length(15), 1), ellipsis("...")
		words := strings.Fields(s)
		if len(words) <= n {
			return s, nil
		}
		return capped(strings.Join(words[:n], " ") + el)
	})
	cfg.AddFilter("slice", func(s string, start int, length func(int) int) string {
		rs := []rune(s)
		n := length(1)
		if start < 0 {
			start += len(rs)
		}
		if start < 0 || start >= len(rs) || n <= 0 {
			return ""
		}
		return string(rs[start : start+min(n, len(rs)-start)])
	})
	cfg.AddFilter("date", func(v any, format func(string) string) (string, error) {
		if v == nil || v == "" {
			return "", nil
		}
		t, err := values.Convert(v, reflect.TypeFor[time.Time]())
		if err != nil {
			return "", err
		}
		s, err := tuesday.Strftime(format("%a, %b %d, %y"), t.(time.Time))
		if err != nil {
			return "", err
		}
		return capped(s)
	})
	cfg.AddFilter(htmlFilter, func(v any) (string, error) {
		var b strings.Builder
		if err := writeText(&b, v, maxOut); err != nil {
			return "", err
		}
		return capped(html.EscapeString(b.String()))
	})
}

var tagPattern = regexp.MustCompile(`<.*?>`)

func prefixRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

func tooLong(max int) error {
	return &limitError{fmt.Sprintf("a filter result is longer than %d bytes", max), ErrTooLong}
}

// writeText writes v as the renderer outputs a value: nothing for nil,
// elements one after the other for arrays.
func writeText(b *strings.Builder, v any, maxOut int) error {
	if b.Len() > maxOut {
		return tooLong(maxOut)
	}
	v = values.ToLiquid(v)
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		b.WriteString(v)
		return nil
	case time.Time:
		b.WriteString(v.Format("2006-01-02 15:04:05 -0700"))
		return nil
	case []byte:
		b.Write(v)
		return nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Array, reflect.Slice:
		for i := range rv.Len() {
			if err := writeText(b, rv.Index(i).Interface(), maxOut); err != nil {
				return err
			}
		}
		return nil
	case reflect.Pointer:
		if rv.IsNil() {
			return nil
		}
		return writeText(b, rv.Elem().Interface(), maxOut)
	}
	fmt.Fprint(b, v)
	return nil
}
