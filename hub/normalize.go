package hub

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// NormalizeEmail trims and lower-cases an email address and checks its form.
func NormalizeEmail(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || len(s) > 254 {
		return "", false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", false
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 || !strings.Contains(s[at+1:], ".") ||
		strings.HasPrefix(s[at+1:], ".") || strings.HasSuffix(s, ".") {
		return "", false
	}
	return s, true
}

// NormalizePhone returns an E.164 number ("+" and 8..15 digits, the first not 0).
// Spaces, dashes, dots and parentheses are stripped; anything else is refused.
func NormalizePhone(s string) (string, bool) {
	s = strings.TrimSpace(s)
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '+' && i == 0:
			b.WriteByte('+')
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", false
		}
	}
	out := b.String()
	if !strings.HasPrefix(out, "+") {
		return "", false
	}
	digits := out[1:]
	if len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return "", false
	}
	return out, true
}

// NormalizeLanguage accepts a BCP 47-like tag ("en", "uk", "pt-BR") and
// returns it with a lower-case language and upper-case region.
func NormalizeLanguage(s string) (string, bool) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "_", "-"))
	lang, region, hasRegion := strings.Cut(s, "-")
	if len(lang) < 2 || len(lang) > 3 || !isLetters(lang) {
		return "", false
	}
	lang = strings.ToLower(lang)
	if !hasRegion {
		return lang, true
	}
	if len(region) != 2 || !isLetters(region) {
		return "", false
	}
	return lang + "-" + strings.ToUpper(region), true
}

func isLetters(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}

// ValidTimezone reports whether tz is an IANA time zone name.
func ValidTimezone(tz string) bool {
	if tz == "" || tz == "Local" {
		return false
	}
	_, err := time.LoadLocation(tz)
	return err == nil
}

// NormalizeBirthday accepts "YYYY-MM-DD" for a real date not in the future
// relative to now and not before 1900.
func NormalizeBirthday(s string, now time.Time) (string, bool) {
	d, err := time.Parse("2006-01-02", strings.TrimSpace(s))
	if err != nil || d.Year() < 1900 || d.After(now) {
		return "", false
	}
	return d.Format("2006-01-02"), true
}

// checkText validates a free-text field: trimmed, 1..max runes, no control characters.
func checkText(p Problems, field, s string, max int) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		p.Add(field, "must not be empty")
	case !utf8.ValidString(s):
		p.Add(field, "must be valid UTF-8")
	case utf8.RuneCountInString(s) > max:
		p.Add(field, "must be at most "+itoa(max)+" characters")
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' }):
		p.Add(field, "must not contain control characters")
	}
	return s
}

// optionalText validates an optional text; an empty string becomes nil.
func optionalText(p Problems, field string, s *string, max int) *string {
	if s == nil || strings.TrimSpace(*s) == "" {
		return nil
	}
	v := checkText(p, field, *s, max)
	return &v
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
