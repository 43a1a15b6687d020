package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// TestBenchConsole runs `hub bench console` tiny (a temporary SQLite file,
// the embedded Redis) and checks that every page answered and is in the
// table.
func TestBenchConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a database and requests every console page")
	}
	lookup := func(string) (string, bool) { return "", false }
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := runBenchConsole(ctx, []string{"--customers", "300", "--campaigns", "6", "--sent", "2", "--attempts", "60",
		"--requests", "2", "--other-businesses", "1"}, &out, io.Discard, lookup); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", out.String())
	row := tableRow(t, out.String())
	if row["page"] != "API keys" || !strings.HasSuffix(row["p95"], " ms") {
		t.Errorf("first row = %v", row)
	}
	fx := &consoleFixture{customers: []string{"c"}, campaigns: []string{"cmp"}, attempts: []string{"dlv"}, sending: "cmp2"}
	for _, p := range consolePages(fx) {
		if !strings.Contains(out.String(), "| "+p.name+" |") {
			t.Errorf("page %q is not in the table", p.name)
		}
	}
	if !strings.Contains(out.String(), "pages over 50 ms at p95: ") {
		t.Errorf("no summary:\n%s", out.String())
	}
}
