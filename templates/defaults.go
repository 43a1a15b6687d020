package templates

import (
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/7loc/hub/hub"
)

//go:embed defaults/*.json
var defaultFiles embed.FS

var loadDefaults = sync.OnceValue(func() []hub.DefaultTemplate {
	entries, err := defaultFiles.ReadDir("defaults")
	if err != nil {
		panic(fmt.Errorf("templates: read embedded defaults: %w", err))
	}
	var out []hub.DefaultTemplate
	for _, ent := range entries {
		b, err := defaultFiles.ReadFile("defaults/" + ent.Name())
		if err != nil {
			panic(fmt.Errorf("templates: read embedded default %s: %w", ent.Name(), err))
		}
		var d hub.DefaultTemplate
		if err := json.Unmarshal(b, &d); err != nil {
			panic(fmt.Errorf("templates: parse embedded default %s: %w", ent.Name(), err))
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b hub.DefaultTemplate) int { return strings.Compare(a.Key, b.Key) })
	return out
})

// Defaults returns the embedded defaults, sorted by key: "birthday",
// "goal_reached", "inactivity", "voucher_expiring", each with English
// ("en"), Thai ("th") and Hindi ("hi") variants of kind "text" and an
// English "email" variant, as the hub seeds them into a new business. The
// result is the caller's to modify.
func Defaults() []hub.DefaultTemplate {
	src := loadDefaults()
	out := make([]hub.DefaultTemplate, len(src))
	for i, d := range src {
		d.Variants = slices.Clone(d.Variants)
		out[i] = d
	}
	return out
}
