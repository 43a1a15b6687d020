package templates

import (
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Variant is one language/kind variant of a default template. Kind is
// "text" (messengers, PUSH: Text only) or "email" (Subject, Text and HTML).
type Variant struct {
	Language string `json:"language"`
	Kind     string `json:"kind"`
	Subject  string `json:"subject,omitempty"`
	Text     string `json:"text,omitempty"`
	HTML     string `json:"html,omitempty"`
}

// Default is one embedded ready-made template: Key identifies it, Name is
// for the marketer.
type Default struct {
	Key      string    `json:"key"`
	Name     string    `json:"name"`
	Variants []Variant `json:"variants"`
}

//go:embed defaults/*.json
var defaultFiles embed.FS

var loadDefaults = sync.OnceValue(func() []Default {
	entries, err := defaultFiles.ReadDir("defaults")
	if err != nil {
		panic(fmt.Errorf("templates: read embedded defaults: %w", err))
	}
	var out []Default
	for _, ent := range entries {
		b, err := defaultFiles.ReadFile("defaults/" + ent.Name())
		if err != nil {
			panic(fmt.Errorf("templates: read embedded default %s: %w", ent.Name(), err))
		}
		var d Default
		if err := json.Unmarshal(b, &d); err != nil {
			panic(fmt.Errorf("templates: parse embedded default %s: %w", ent.Name(), err))
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Default) int { return strings.Compare(a.Key, b.Key) })
	return out
})

// Defaults returns the embedded defaults, sorted by key: "birthday",
// "goal_reached", "inactivity", "voucher_expiring", each with English
// ("en"), Thai ("th") and Hindi ("hi") variants of kind "text" and an
// English "email" variant. The result is the caller's to modify.
func Defaults() []Default {
	src := loadDefaults()
	out := make([]Default, len(src))
	for i, d := range src {
		d.Variants = slices.Clone(d.Variants)
		out[i] = d
	}
	return out
}
