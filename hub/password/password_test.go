package password_test

import (
	"strings"
	"testing"

	"github.com/7loc/hub/hub/password"
)

func TestHashAndVerify(t *testing.T) {
	tests := []struct {
		name   string
		params password.Params
	}{
		{"default", password.Default},
		{"fast", password.Fast},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := password.New(tt.params)
			enc, err := h.Hash("correct horse battery")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(enc, "$argon2id$v=19$") {
				t.Fatalf("hash %q is not PHC argon2id", enc)
			}
			again, _ := h.Hash("correct horse battery")
			if again == enc {
				t.Error("two hashes of one password are equal: no salt")
			}
			check(t, h, enc, "correct horse battery", true)
			check(t, h, enc, "correct horse batterY", false)
			check(t, h, enc, "", false)
		})
	}
}

func check(t *testing.T, h *password.Hasher, enc, pw string, want bool) {
	t.Helper()
	ok, err := h.Verify(enc, pw)
	if err != nil {
		t.Fatalf("Verify(%q): %v", pw, err)
	}
	if ok != want {
		t.Errorf("Verify(%q) = %v, want %v", pw, ok, want)
	}
}

func TestVerifyRefusesMalformedHashes(t *testing.T) {
	h := password.New(password.Fast)
	for _, enc := range []string{
		"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
	} {
		if ok, err := h.Verify(enc, "x"); err == nil || ok {
			t.Errorf("Verify(%q) = %v, %v; want an error", enc, ok, err)
		}
	}
}
