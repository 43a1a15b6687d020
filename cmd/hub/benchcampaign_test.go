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

// TestBenchCampaign runs `hub bench campaign` small (2,000 recipients, a
// temporary SQLite file, the embedded Redis, a built hub binary as one
// serve --with-workers process, then as a serve and a work process) and
// checks what its table reports: every recipient final and no duplicate at
// the fake.
func TestBenchCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the hub and runs three processes")
	}
	bin := buildHub(t)
	for _, tc := range []struct {
		workers string
		rss     []string // names in the peak RSS column
	}{
		{"0", []string{"serve "}},            // SQLite's default: the workers in the serve process
		{"1", []string{"serve ", "work 1 "}}, // a serve and a work process on one SQLite file
	} {
		t.Run("workers="+tc.workers, func(t *testing.T) {
			env := map[string]string{} // no HUB_DATABASE_URL, no HUB_REDIS_URL: a temporary file and the embedded Redis
			lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var out bytes.Buffer
			var log io.Writer = io.Discard
			if testing.Verbose() {
				log = &testWriter{t}
			}
			if err := runBenchCampaign(ctx, []string{"--recipients", "2000", "--hub", bin, "--oneoff-rate", "20",
				"--timeout", "90s", "--other-businesses", "1", "--workers", tc.workers}, &out, log, lookup); err != nil {
				t.Fatal(err)
			}
			t.Logf("\n%s", out.String())
			row := tableRow(t, out.String())
			for col, want := range map[string]string{"recipients": "2000", "db": "sqlite", "duplicates": "0", "final": "2000"} {
				if row[col] != want {
					t.Errorf("%s = %q, want %q", col, row[col], want)
				}
			}
			for _, name := range tc.rss {
				if !strings.Contains(row["peak RSS"], name) {
					t.Errorf("peak RSS = %q, want one for %s", row["peak RSS"], name)
				}
			}
			if n := strings.Count(row["peak RSS"], "MiB"); n != len(tc.rss) {
				t.Errorf("peak RSS = %q, want %d processes", row["peak RSS"], len(tc.rss))
			}
			if !strings.Contains(out.String(), "the fake got 2000 recipients at least once") {
				t.Errorf("not every recipient reached the fake:\n%s", out.String())
			}
			if strings.Contains(out.String(), ", 0 arrived") {
				t.Errorf("no one-off arrived:\n%s", out.String())
			}
		})
	}
}

// testWriter sends a process's log lines to the test log.
type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
