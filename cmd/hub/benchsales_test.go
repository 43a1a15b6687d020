//go:build bench

package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// TestBenchSales runs `hub bench sales` small on SQLite (one serve
// --with-workers process, the embedded Redis) and checks its report: both
// phases recorded every check, and the stamps on the cards equal those the
// sales added.
func TestBenchSales(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the hub and runs it")
	}
	bin := buildHub(t)
	env := map[string]string{}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	var log io.Writer = io.Discard
	if testing.Verbose() {
		log = &testWriter{t}
	}
	if err := runBenchSales(ctx, []string{"--checks", "200", "--customers", "40", "--clients", "8", "--hub", bin,
		"--timeout", "2m"}, &out, log, lookup); err != nil {
		t.Fatal(err)
	}
	report := out.String()
	t.Logf("\n%s", report)
	for _, want := range []string{"one serve --with-workers process", "| POST /v1/sales (direct) | 200 |",
		"| Poster webhook → worker fetch (closed loop) | 200 |", "difference (must be 0): 0"} {
		if !strings.Contains(report, want) {
			t.Errorf("the report does not say %q", want)
		}
	}
}
