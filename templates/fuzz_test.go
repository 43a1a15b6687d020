package templates

import (
	"context"
	"testing"
	"time"
)

var fuzzSeeds = []string{
	"Hi {{ customer.name | default: \"friend\" }}",
	"{% for i in (1..data.n) %}{{ i | plus: 1 }}{% endfor %}",
	"{% for i in (1..1000000000) %}x{% endfor %}",
	"{% if card.stamps > 3 %}a{% elsif card.stamps %}b{% else %}c{% endif %}",
	"{% capture c %}{{ data.s | append: data.s }}{% endcapture %}{{ c | size }}",
	"{{ data.items | join: ', ' | truncate: 5 | slice: -3, 2 }}",
	"{% assign s = data.s | split: '' | reverse | join %}{{ s | replace: '', 'xy' }}",
	"{% case data.n %}{% when 1, 2 %}x{% endcase %}",
	"{% raw %}{{{% endraw %}{{ data | size }}",
	"{{ voucher.expires_at | date: '%c' }}{{ data.s | truncatewords: 2, '…' }}",
	"{% include 'x' %}{{ customer.nmae }}",
	"{{ (1..5) }}{{ data[data.s] }}{{ data.items[-1] }}",
}

func fuzzVars() map[string]any {
	v := sampleVars()
	v["data"] = map[string]any{"n": 20, "s": "a <b> & c\nd", "items": []any{1, "two", nil, 3.5, map[string]any{"k": "v"}}}
	return v
}

func FuzzCheck(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	e := New(Options{})
	f.Fuzz(func(t *testing.T, src string) {
		_ = e.Check(src)
	})
}

func FuzzRender(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	e := New(Options{MaxOutput: 4 << 10})
	f.Fuzz(func(t *testing.T, src string, html bool) {
		start := time.Now()
		_, _ = e.Render(context.Background(), src, fuzzVars(), html)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Render took %v", d)
		}
	})
}
