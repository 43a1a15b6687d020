package templates

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func sampleVars() map[string]any {
	return map[string]any{
		"customer": map[string]any{"id": "c1", "name": "Anna", "email": "anna@example.com", "phone": "+66800000000", "language": "en", "birthday": "1990-05-17"},
		"card":     map[string]any{"id": "k1", "stamps": 7, "stamps_total": 10, "stamps_left": 3, "next_reward": "a free coffee", "cycle": 2, "page_url": "https://cards.example.com/k1"},
		"voucher":  map[string]any{"id": "v1", "title": "Free coffee", "redeem_code": "ABC123", "expires_at": time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)},
		"business": map[string]any{"name": "Café Bangkok"},
		"campaign": map[string]any{"id": "p1", "name": "Spring"},
		"data":     map[string]any{"n": 3, "items": []any{"a", "b"}, "deep": map[string]any{"x": map[string]any{"y": "z"}}},
	}
}

// checkErr returns Check's message for src, "" when it passes.
func checkErr(t *testing.T, e *Engine, src string) string {
	t.Helper()
	if err := e.Check(src); err != nil {
		return err.Error()
	}
	return ""
}

func TestCheck(t *testing.T) {
	e := New(Options{})
	tests := []struct {
		name, src, want string
	}{
		{"plain text", "Hello!", ""},
		{"allowed variables", "{{ customer.id }}{{ customer.name }}{{ customer.email }}{{ customer.phone }}{{ customer.language }}{{ customer.birthday }}" +
			"{{ card.id }}{{ card.stamps }}{{ card.stamps_total }}{{ card.stamps_left }}{{ card.next_reward }}{{ card.cycle }}{{ card.page_url }}" +
			"{{ voucher.id }}{{ voucher.title }}{{ voucher.redeem_code }}{{ voucher.expires_at }}{{ business.name }}{{ campaign.id }}{{ campaign.name }}", ""},
		{"data at any depth", "{{ data.a.b.c }}{{ data['x y'][0] }}{{ data.items[data.n] }}", ""},
		{"bracket with literal", `{{ customer["name"] }}`, ""},
		{"size of a field", "{{ customer.name.size }}", ""},
		{"unknown field", "Hi\n\n{{ customer.nmae }}", "line 3: unknown variable customer.nmae"},
		{"unknown field by bracket", `{{ customer["nmae"] }}`, "line 1: unknown variable customer.nmae"},
		{"dynamic field", "{{ customer[data.k] }}", "line 1: unknown variable customer[…]"},
		{"bare root", "{{ customer }}", "line 1: unknown variable customer"},
		{"field of a field", "{{ card.page_url.host }}", "line 1: unknown variable card.page_url.host"},
		{"unknown root", "{{ secret }}", "line 1: unknown variable secret"},
		{"unknown variable in a condition", "{% if customer.vip %}x{% endif %}", "line 1: unknown variable customer.vip"},
		{"unknown variable in a filter argument", `{{ customer.name | append: password }}`, "line 1: unknown variable password"},
		{"unknown filter", "a\n{{ customer.name | foo }}", "line 2: unknown filter foo"},
		{"unknown filter with arguments", "{{ customer.name | foo: 1 }}", "line 1: unknown filter foo"},
		{"internal filter", "{{ customer.name | _html }}", "line 1: unknown filter _html"},
		{"allowed filters", `{{ customer.name | default: "friend" | upcase | downcase | capitalize | strip | truncate: 20 | truncatewords: 3 | append: "!" | prepend: "> " | replace: "a", "b" | remove: "x" | escape }}` +
			`{{ card.stamps | plus: 1 | minus: 1 | times: 2 | divided_by: 2 | modulo: 7 | round }}{{ voucher.expires_at | date: "%Y" }}{{ data.items | join: ", " }}{{ data.items | size }}{{ data.items | first }}{{ data.items | last }}`, ""},
		{"several problems", "{{ a }}\n{{ b | c }}", "line 1: unknown variable a\nline 2: unknown variable b\nline 2: unknown filter c"},
		{"loop variable", "{% for item in data.items %}{{ item }}{{ item.name }}{{ forloop.index }}{% endfor %}", ""},
		{"loop variable out of scope", "{% for item in data.items %}{% endfor %}{{ item }}", "line 1: unknown variable item"},
		{"forloop outside a loop", "{{ forloop.index }}", "line 1: forloop outside a for loop"},
		{"unknown forloop field", "{% for i in data.items %}{{ forloop.parent }}{% endfor %}", "line 1: unknown variable forloop.parent"},
		{"loop modifiers", "{% for i in data.items reversed limit: 2 offset: data.n %}{{ i }}{% endfor %}", ""},
		{"assign", `{% assign greeting = "Hi " | append: customer.name %}{{ greeting }}`, ""},
		{"use before assign", `{{ greeting }}{% assign greeting = "Hi" %}`, "line 1: unknown variable greeting"},
		{"capture", `{% capture greeting %}Hi {{ customer.name }}{% endcapture %}{{ greeting | upcase }}`, ""},
		{"assign to a built-in", `{% assign customer = "x" %}`, "line 1: customer is a built-in variable and cannot be set"},
		{"include", "{% include 'header.liquid' %}", "line 1: tag include is not allowed: templates cannot include other templates or files"},
		{"render", "x\n{% render 'header' %}", "line 2: tag render is not allowed: templates cannot include other templates or files"},
		{"layout", "{% layout 'base' %}", "line 1: tag layout is not allowed: templates cannot include other templates or files"},
		{"cycle", "{% cycle 'a', 'b' %}", "line 1: unknown tag cycle"},
		{"syntax error", "a\nb\n{{ customer.name | }}", `line 3: syntax error in "customer.name |" in {{ customer.name | }}`},
		{"unterminated block", "{% if customer.name %}\nx", `line 1: unterminated "if" block in {% if customer.name %}`},
		{"tag syntax error", "\n{% assign = 1 %}", `line 2: syntax error in "= 1" in {% assign = 1 %}`},
		{"break outside a loop", "{% break %}", "line 1: break outside a for loop"},
		{"huge literal loop", "{% for i in (1..1000000000) %}x{% endfor %}", "line 1: loops here would run 1000000000 times; at most 10000 are allowed in total"},
		{"nested literal loops", "{% for i in (1..1000) %}\n{% for j in (1..1000) %}\n{% for k in (1..1000) %}x{% endfor %}{% endfor %}{% endfor %}",
			"line 2: loops here would run 1000000 times; at most 10000 are allowed in total"},
		{"small nested loops", "{% for i in (1..100) %}{% for j in (1..100) %}x{% endfor %}{% endfor %}", ""},
		{"variable range", "{% for i in (1..card.stamps_total) %}★{% endfor %}", ""},
		{"range outside a loop", "{{ (1..1000000000) | join }}", "line 1: a range like (1..5) is only allowed as the list of a for loop"},
		{"range in an assign", "{% assign r = (1..5) %}", "line 1: a range like (1..5) is only allowed as the list of a for loop"},
		{"raw is not checked", "{% raw %}{{ anything | goes }}{% endraw %}", ""},
		{"comment is not checked", "{% comment %}{{ anything | goes }}{% endcomment %}", ""},
		{"case", "{% case customer.language %}{% when 'th' %}สวัสดี{% when 'hi', 'en' %}Hello{% else %}Hi{% endcase %}", ""},
		{"unless", "{% unless card.stamps_left > 0 %}done{% else %}{{ card.stamps_left }}{% endunless %}", ""},
		{"number too big", "\n{{ 0111111111111111111000000000000 }}", "line 2: the number 0111111111111111111000000000000 is too big"},
		{"too long", strings.Repeat("x", 64<<10+1), "the template is 65537 bytes long; at most 65536 are allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, checkErr(t, e, tt.src)); diff != "" {
				t.Errorf("Check(%q) (-want +got):\n%s", tt.src, diff)
			}
		})
	}
}

func TestRender(t *testing.T) {
	e := New(Options{})
	evil := map[string]any{"customer": map[string]any{"name": "<script>alert(1)</script>"}, "data": map[string]any{"html": `"&'`}}
	tests := []struct {
		name string
		src  string
		vars map[string]any
		html bool
		want string
	}{
		{"variables", "Hi {{ customer.name }}, {{ card.stamps }}/{{ card.stamps_total }} at {{ business.name }}", sampleVars(), false, "Hi Anna, 7/10 at Café Bangkok"},
		{"default on missing", `Hi {{ customer.name | default: "friend" }}`, nil, false, "Hi friend"},
		{"default on empty", `Hi {{ customer.name | default: "friend" }}`, map[string]any{"customer": map[string]any{"name": ""}}, false, "Hi friend"},
		{"missing renders empty", "[{{ customer.name }}][{{ data.nope.deeper }}][{{ voucher.expires_at | date: '%Y' }}]", nil, false, "[][][]"},
		{"date", `{{ voucher.expires_at | date: "%d %b %Y" }}`, sampleVars(), false, "31 Jan 2027"},
		{"date from a string", `{{ customer.birthday | date: "%d/%m" }}`, sampleVars(), false, "17/05"},
		{"loop", "{% for i in data.items %}{{ forloop.index }}{{ i }}{% unless forloop.last %},{% endunless %}{% endfor %}", sampleVars(), false, "1a,2b"},
		{"loop reversed with else", "{% for i in (1..3) reversed %}{{ i }}{% endfor %}{% for i in data.none %}x{% else %}empty{% endfor %}", sampleVars(), false, "321empty"},
		{"loop break and continue", "{% for i in (1..10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i > 4 %}{% break %}{% endif %}{{ i }}{% endfor %}", nil, false, "134"},
		{"stamps", "{% for i in (1..card.stamps_total) %}{% if i <= card.stamps %}●{% else %}○{% endif %}{% endfor %}", sampleVars(), false, "●●●●●●●○○○"},
		{"case", "{% case customer.language %}{% when 'th' %}สวัสดี{% when 'en' %}Hello{% endcase %}", sampleVars(), false, "Hello"},
		{"assign and capture", `{% assign n = card.stamps | plus: 1 %}{% capture s %}{{ n }} stamps{% endcapture %}{{ s | upcase }}`, sampleVars(), false, "8 STAMPS"},
		{"text keeps markup in values", "Hi {{ customer.name }}", evil, false, "Hi <script>alert(1)</script>"},
		{"html escapes values", "<p>Hi {{ customer.name }}</p>", evil, true, "<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;</p>"},
		{"html escapes after filters", `<p>{{ customer.name | upcase | default: "x" }}</p>`, evil, true, "<p>&lt;SCRIPT&gt;ALERT(1)&lt;/SCRIPT&gt;</p>"},
		{"html escapes quotes", `<a title="{{ data.html }}">`, evil, true, `<a title="&#34;&amp;&#39;">`},
		{"html escapes comparisons", `{{ customer.name == "x" }}`, evil, true, "false"},
		{"html does not escape twice", "{{ customer.name | escape }}", evil, true, "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{"html escapes captured text once", "{% capture c %}<b>{{ customer.name }}</b>{% endcapture %}{{ c }}", evil, true, "&lt;b&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;/b&gt;"},
		{"html escapes assigned values", "{% assign n = customer.name %}{{ n }}", evil, true, "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{"html keeps raw", "{% raw %}{{ x }}{% endraw %}", evil, true, "{{ x }}"},
		{"html keeps trim markers", "a  {{- customer.name -}}  b", evil, true, "a&lt;script&gt;alert(1)&lt;/script&gt;b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Render(context.Background(), tt.src, tt.vars, tt.html)
			if err != nil {
				t.Fatalf("Render(%q): %v", tt.src, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Render(%q) (-want +got):\n%s", tt.src, diff)
			}
		})
	}
}

func TestRenderDoesNotChangeVars(t *testing.T) {
	vars := sampleVars()
	if _, err := New(Options{}).Render(context.Background(), `{% assign x = 1 %}{% capture y %}z{% endcapture %}`, vars, false); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sampleVars(), vars); diff != "" {
		t.Errorf("vars changed (-want +got):\n%s", diff)
	}
}

// renderLimited renders src and checks that it stops with want quickly and
// leaves no goroutine behind.
func renderLimited(t *testing.T, e *Engine, src string, vars map[string]any, want error) error {
	t.Helper()
	before := runtime.NumGoroutine()
	start := time.Now()
	out, err := e.Render(context.Background(), src, vars, false)
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("Render took %v", elapsed)
	}
	if !errors.Is(err, want) {
		t.Fatalf("Render error = %v, want %v", err, want)
	}
	if out != "" {
		t.Errorf("Render output = %d bytes, want none with an error", len(out))
	}
	// Render starts no goroutine; give the runtime a moment in case.
	deadline := time.Now().Add(time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("goroutines: %d before, %d after", before, after)
	}
	return err
}

func TestRenderLimits(t *testing.T) {
	e := New(Options{})
	huge := map[string]any{"data": map[string]any{"n": 1_000_000_000}}
	tests := []struct {
		name, src string
		vars      map[string]any
		want      error
		wantMsg   string
	}{
		{"loop over a huge variable range", "{% for i in (1..data.n) %}{% endfor %}", huge, ErrTooLong,
			"line 1: loops ran more than 10000 times in total"},
		{"nested loops over variable ranges", "{% for i in (1..data.n) %}\n{% for j in (1..data.n) %}{% for k in (1..data.n) %}x{% endfor %}{% endfor %}{% endfor %}", huge, ErrTooLong,
			"line 1: loops ran more than 10000 times in total"},
		{"output", "{% for i in (1..data.n) %}{{ 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' }}{% endfor %}", huge, ErrTooLong,
			"the output is longer than 65536 bytes"},
		{"doubling a string", "{% assign s = 'x' %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}", nil, ErrTooLong,
			"line 1: a filter result is longer than 65536 bytes"},
		{"growing in a chain", "{{ 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' | replace: 'a', 'aaaa' | replace: 'a', 'aaaa' | replace: 'a', 'aaaa' | replace: 'a', 'aaaa' | replace: 'a', 'aaaa' | replace: 'a', 'aaaa' | replace: 'a', 'aaaa' | replace: 'a', 'aaaa' | replace: 'a', 'aaaa' }}", nil, ErrTooLong,
			"line 1: a filter result is longer than 65536 bytes"},
		{"capture", "{% capture c %}{% for i in (1..data.n) %}{{ 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' }}{% endfor %}{% endcapture %}", huge, ErrTooLong,
			"captured text is longer than 65536 bytes"},
		{"cyclic variables", "{{ data }}", cyclic(), ErrTooLong,
			"render template: variables are nested more than 16 deep"},
		{"big array in data", "{{ data.a | size }}", map[string]any{"data": map[string]any{"a": make([]any, 20_000)}}, ErrTooLong,
			"render template: variables hold more than 10000 values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := renderLimited(t, e, tt.src, tt.vars, tt.want)
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

func cyclic() map[string]any {
	m := map[string]any{}
	m["self"] = m
	return map[string]any{"data": m}
}

func TestRenderTimeout(t *testing.T) {
	e := New(Options{Timeout: time.Nanosecond})
	renderLimited(t, e, "{% for i in (1..100) %}x{% endfor %}", nil, ErrTimeout)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New(Options{}).Render(ctx, "x", nil, false); !errors.Is(err, context.Canceled) {
		t.Errorf("Render with a canceled context: %v, want context.Canceled", err)
	}
}

func TestRenderOptions(t *testing.T) {
	e := New(Options{MaxOutput: 10, MaxSource: 20})
	if _, err := e.Render(context.Background(), "{{ 'hello world!' }}", nil, false); !errors.Is(err, ErrTooLong) {
		t.Errorf("output over MaxOutput: %v, want ErrTooLong", err)
	}
	if got := checkErr(t, e, strings.Repeat("x", 21)); got != "the template is 21 bytes long; at most 20 are allowed" {
		t.Errorf("source over MaxSource: %q", got)
	}
}

func TestRenderCheckError(t *testing.T) {
	_, err := New(Options{}).Render(context.Background(), "\n{{ customer.nmae }}", nil, false)
	if err == nil || err.Error() != "line 2: unknown variable customer.nmae" {
		t.Errorf("Render error = %v, want the Check error", err)
	}
}

func TestRenderRuntimeError(t *testing.T) {
	_, err := New(Options{}).Render(context.Background(), "a\n{{ card.stamps | divided_by: 0 }}", sampleVars(), false)
	if err == nil || err.Error() != "line 2: filter divided_by: division by zero" {
		t.Errorf("Render error = %v", err)
	}
}

func TestConcurrentRender(t *testing.T) {
	e := New(Options{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				src := "{% assign x = card.stamps | plus: " + string(rune('0'+j%10)) + " %}{{ x }} {{ customer.name }}"
				if _, err := e.Render(context.Background(), src, sampleVars(), i%2 == 0); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestCacheBounded(t *testing.T) {
	e := New(Options{})
	for i := range cacheEntries + 100 {
		e.Check(strings.Repeat(" ", i))
	}
	e.mu.RLock()
	n := len(e.cache)
	e.mu.RUnlock()
	if n > cacheEntries {
		t.Errorf("cache holds %d entries, want at most %d", n, cacheEntries)
	}
}

func TestDefaults(t *testing.T) {
	e := New(Options{})
	ds := Defaults()
	var keys []string
	for _, d := range ds {
		keys = append(keys, d.Key)
		if d.Name == "" {
			t.Errorf("%s: no name", d.Key)
		}
		var kinds []string
		for _, v := range d.Variants {
			kinds = append(kinds, v.Language+"/"+v.Kind)
			parts := map[string]string{"subject": v.Subject, "text": v.Text, "html": v.HTML}
			if v.Text == "" || v.Kind == "email" && (v.Subject == "" || v.HTML == "") {
				t.Errorf("%s %s/%s: missing parts", d.Key, v.Language, v.Kind)
			}
			for part, src := range parts {
				if err := e.Check(src); err != nil {
					t.Errorf("%s %s/%s %s: %v", d.Key, v.Language, v.Kind, part, err)
					continue
				}
				for _, vars := range []map[string]any{sampleVars(), nil} {
					out, err := e.Render(context.Background(), src, vars, part == "html")
					if err != nil {
						t.Errorf("%s %s/%s %s: %v", d.Key, v.Language, v.Kind, part, err)
					}
					if src != "" && strings.TrimSpace(out) == "" {
						t.Errorf("%s %s/%s %s: empty output", d.Key, v.Language, v.Kind, part)
					}
				}
			}
		}
		if diff := cmp.Diff([]string{"en/text", "th/text", "hi/text", "en/email"}, kinds); diff != "" {
			t.Errorf("%s variants (-want +got):\n%s", d.Key, diff)
		}
	}
	if diff := cmp.Diff([]string{"birthday", "goal_reached", "inactivity", "voucher_expiring"}, keys); diff != "" {
		t.Errorf("default keys (-want +got):\n%s", diff)
	}
	ds[0].Variants[0].Text = "changed"
	if Defaults()[0].Variants[0].Text == "changed" {
		t.Error("Defaults returned shared variants")
	}
}

func TestDefaultRendering(t *testing.T) {
	d := Defaults()[0] // birthday
	out, err := New(Options{}).Render(context.Background(), d.Variants[0].Text, sampleVars(), false)
	if err != nil {
		t.Fatal(err)
	}
	want := "Happy birthday, Anna! 🎂 Café Bangkok has a treat for you: Free coffee (code ABC123). https://cards.example.com/k1"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("birthday en/text (-want +got):\n%s", diff)
	}
}

func BenchmarkRender(b *testing.B) {
	e := New(Options{})
	src := Defaults()[0].Variants[3].HTML
	vars := sampleVars()
	ctx := context.Background()
	for _, html := range []bool{false, true} {
		name := "text"
		if html {
			name = "html"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Render(ctx, src, vars, html); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
