package hub

import (
	"sort"
	"strings"
	"testing"
	"time"
)

func TestNewIDSortsByCreation(t *testing.T) {
	var made []string
	for i := 0; i < 2000; i++ {
		made = append(made, NewID(PrefixEvent))
	}
	if !sort.StringsAreSorted(made) {
		t.Fatal("ids made one after another do not sort in creation order")
	}
	seen := map[string]bool{}
	for _, id := range made {
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
		if !ValidID(PrefixEvent, id) {
			t.Fatalf("ValidID(%q) = false", id)
		}
	}
}

func TestULIDEncodesTime(t *testing.T) {
	var s ulidSource
	a := s.next(time.UnixMilli(0))
	if got := string(a[:10]); got != "0000000000" {
		t.Errorf("time part of epoch = %q, want 0000000000", got)
	}
	b := s.next(time.UnixMilli(1))
	if got := string(b[:10]); got != "0000000001" {
		t.Errorf("time part of 1ms = %q, want 0000000001", got)
	}
	// The ULID spec example 01ARZ3NDEKTSV4RRFFQ69G5FAV has time 1469922850259 ms.
	c := s.next(time.UnixMilli(1469922850259))
	if got := string(c[:10]); got != "01ARZ3NDEK" {
		t.Errorf("time part = %q, want 01ARZ3NDEK", got)
	}
}

func TestValidID(t *testing.T) {
	tests := []struct {
		prefix, id string
		want       bool
	}{
		{"card", "card_01JTZ6W1Q9M3N4R5S6T7V8W9XY", true},
		{"card", "c_01JTZ6W1Q9M3N4R5S6T7V8W9XY", false},
		{"card", "card_01JTZ6W1Q9M3N4R5S6T7V8W9X", false},
		{"card", "card_01JTZ6W1Q9M3N4R5S6T7V8W9XI", false},
		{"card", "", false},
	}
	for _, tt := range tests {
		if got := ValidID(tt.prefix, tt.id); got != tt.want {
			t.Errorf("ValidID(%q, %q) = %v, want %v", tt.prefix, tt.id, got, tt.want)
		}
	}
}

func TestAPIKeys(t *testing.T) {
	k := NewAPIKeySecret()
	if !WellFormedAPIKey(k) {
		t.Fatalf("new key %q is not well formed", k)
	}
	if len(k) != len(APIKeyPrefix)+40 {
		t.Errorf("key length %d", len(k))
	}
	if m := MaskAPIKey(k); m != "7loc_sc_…"+k[len(k)-4:] {
		t.Errorf("mask = %q", m)
	}
	for _, bad := range []string{"", "7loc_sc_short", "7loc_pk_" + strings.Repeat("a", 40), APIKeyPrefix + strings.Repeat("a", 31) + "-"} {
		if WellFormedAPIKey(bad) {
			t.Errorf("WellFormedAPIKey(%q) = true", bad)
		}
	}
	if HashAPIKey(k) == HashAPIKey(NewAPIKeySecret()) {
		t.Error("two keys hash alike")
	}
}

func TestRedeemCodeHasNoLookAlikes(t *testing.T) {
	for i := 0; i < 500; i++ {
		c := NewRedeemCode()
		if len(c) != 8 || strings.ContainsAny(c, "01OIL") {
			t.Fatalf("redeem code %q", c)
		}
	}
}
