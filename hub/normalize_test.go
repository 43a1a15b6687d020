package hub

import (
	"strings"
	"testing"
	"time"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"Ann@Example.COM", "ann@example.com", true},
		{"  bob@x.io ", "bob@x.io", true},
		{"ann", "", false},
		{"ann@", "", false},
		{"@x.io", "", false},
		{"ann@localhost", "", false},
		{"Ann <ann@x.io>", "", false},
		{"a b@x.io", "", false},
		{"ann@x.io.", "", false},
		{"", "", false},
		{strings.Repeat("a", 250) + "@x.io", "", false},
	}
	for _, tt := range tests {
		got, ok := NormalizeEmail(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"+380671234567", "+380671234567", true},
		{"+38 (067) 123-45.67", "+380671234567", true},
		{" +1 415 555 0100 ", "+14155550100", true},
		{"380671234567", "", false},
		{"+38067123456a", "", false},
		{"+0123456789", "", false},
		{"+1234567", "", false},
		{"+1234567890123456", "", false},
		{"++380671234567", "", false},
		{"+38067+1234567", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := NormalizePhone(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNormalizeLanguageAndBirthday(t *testing.T) {
	for in, want := range map[string]string{"en": "en", "PT_br": "pt-BR", "uk": "uk"} {
		if got, ok := NormalizeLanguage(in); !ok || got != want {
			t.Errorf("NormalizeLanguage(%q) = %q, %v", in, got, ok)
		}
	}
	for _, bad := range []string{"", "e", "english", "en-GBR", "e1"} {
		if _, ok := NormalizeLanguage(bad); ok {
			t.Errorf("NormalizeLanguage(%q) ok", bad)
		}
	}
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	if got, ok := NormalizeBirthday("1990-02-28", now); !ok || got != "1990-02-28" {
		t.Errorf("birthday = %q %v", got, ok)
	}
	for _, bad := range []string{"1990-02-30", "2027-01-01", "1800-01-01", "02-28", ""} {
		if _, ok := NormalizeBirthday(bad, now); ok {
			t.Errorf("NormalizeBirthday(%q) ok", bad)
		}
	}
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+380671234567", "+38 (067) 123-45.67", "abc", "+", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, ok := NormalizePhone(s)
		if !ok {
			return
		}
		if out[0] != '+' || len(out) < 9 || len(out) > 16 {
			t.Fatalf("NormalizePhone(%q) = %q", s, out)
		}
		for _, r := range out[1:] {
			if r < '0' || r > '9' {
				t.Fatalf("NormalizePhone(%q) = %q has a non-digit", s, out)
			}
		}
		again, ok := NormalizePhone(out)
		if !ok || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, out, again)
		}
	})
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"Ann@Example.com", "a@b", "\"x y\"@z.io", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, ok := NormalizeEmail(s)
		if !ok {
			return
		}
		if out != strings.ToLower(out) || strings.ContainsAny(out, " <>") || strings.Count(out, "@") < 1 {
			t.Fatalf("NormalizeEmail(%q) = %q", s, out)
		}
		again, ok := NormalizeEmail(out)
		if !ok || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, out, again)
		}
	})
}
