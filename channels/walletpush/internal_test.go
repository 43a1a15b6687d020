package walletpush

import (
	"strings"
	"testing"
	"time"

	"github.com/7loc/hub/channels/walletpush/passcerts"
)

// TestSignWithWrongKey builds a pass with a key that is not the
// certificate's, which New refuses but a broken Sender must not sign with.
func TestSignWithWrongKey(t *testing.T) {
	a, err := passcerts.NewWithKey("pass.com.example.a", "ABCDE12345", passcerts.ECSEC1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := passcerts.NewWithKey("pass.com.example.a", "ABCDE12345", passcerts.ECSEC1)
	if err != nil {
		t.Fatal(err)
	}
	s := &Sender{
		now:   time.Now,
		apple: &appleSide{passTypeID: "pass.com.example.a", teamID: "ABCDE12345", cert: a.Pass, key: b.Key, wwdr: a.WWDR},
	}
	_, err = s.BuildPass(Pass{SerialNumber: "crd_1", OrganizationName: "O", Description: "D"})
	if err == nil || !strings.Contains(err.Error(), "does not match the pass certificate") {
		t.Fatalf("err = %v, want a key mismatch error", err)
	}
}

func TestParseColor(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"#ffffff", "rgb(255, 255, 255)", true},
		{"#0a0", "rgb(0, 170, 0)", true},
		{"rgb(1,2,3)", "rgb(1, 2, 3)", true},
		{" rgb( 10 , 20 , 30 ) ", "rgb(10, 20, 30)", true},
		{"rgb(256, 0, 0)", "", false},
		{"#12345", "", false},
		{"red", "", false},
		{"rgb(1,2)", "", false},
	}
	for _, tt := range tests {
		c, ok := parseColor(tt.in)
		if ok != tt.ok || (ok && rgbString(c) != tt.want) {
			t.Errorf("parseColor(%q) = %v, %v; want %q, %v", tt.in, rgbString(c), ok, tt.want, tt.ok)
		}
	}
}
