//go:build bench

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// TestBenchCampaign runs `hub bench campaign` small (2,000 recipients, a
// temporary SQLite file, the embedded Redis, a built hub binary as one
// serve --with-workers process, then as a serve and a work process) and
// checks what its table reports: every recipient final and no duplicate at
// the fake; and once more with --sink, where every message reaches the hub
// processes' sinks and none the fake.
func TestBenchCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the hub and runs three processes")
	}
	bin := buildHub(t, "bench") // the bench binary, as BENCHMARKS.md builds it: --sink needs it
	for _, tc := range []struct {
		workers string
		rss     []string // names in the peak RSS column
		sink    bool
	}{
		{"0", []string{"serve "}, false},            // SQLite's default: the workers in the serve process
		{"1", []string{"serve ", "work 1 "}, false}, // a serve and a work process on one SQLite file
		{"1", []string{"serve ", "work 1 "}, true},  // the same with the in-process sinks
	} {
		t.Run(fmt.Sprintf("workers=%s,sink=%v", tc.workers, tc.sink), func(t *testing.T) {
			env := map[string]string{} // no HUB_DATABASE_URL, no HUB_REDIS_URL: a temporary file and the embedded Redis
			lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var out bytes.Buffer
			var log io.Writer = io.Discard
			if testing.Verbose() {
				log = &testWriter{t}
			}
			args := []string{"--recipients", "2000", "--hub", bin, "--oneoff-rate", "20",
				"--timeout", "90s", "--other-businesses", "1", "--workers", tc.workers}
			if tc.sink {
				args = append(args, "--sink")
			}
			if err := runBenchCampaign(ctx, args, &out, log, lookup); err != nil {
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
			if !strings.Contains(out.String(), "got 2000 recipients at least once") {
				t.Errorf("not every recipient reached the provider:\n%s", out.String())
			}
			if fakeCalls := strings.Contains(out.String(), "the WhatsApp fake answered 0 calls"); fakeCalls != tc.sink {
				t.Errorf("with --sink=%v the fake answered calls: %v, want %v:\n%s", tc.sink, !fakeCalls, !tc.sink, out.String())
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
