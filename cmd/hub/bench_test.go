package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestBenchClient: the load generator's client sends a well-formed request
// (path, key, body) and reads each answer whole, on one connection while the
// server keeps it, and on a new one after the server closes it.
func TestBenchClient(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != "POST" || r.Header.Get("Authorization") != "Bearer k1" ||
			r.Header.Get("Content-Type") != "application/json" || string(b) != `{"count":1}` {
			http.Error(w, "bad request: "+r.Method+" "+r.Header.Get("Authorization")+" "+string(b), 400)
			return
		}
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, strings.Repeat("x", 10_000))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := &benchClient{addr: srv.Listener.Addr().String()}
	defer c.close()
	body := []byte(`{"count":1}`)
	for i, tc := range []struct {
		path, key string
		status    int
		conns     int32
	}{
		{"/ok", "k1", 200, 1},
		{"/ok", "k1", 200, 1},
		{"/missing", "k1", 404, 1},
		{"/ok", "wrong", 400, 1},
		{"/close", "k1", 200, 1},
		{"/ok", "k1", 200, 2},
	} {
		status, err := c.post(tc.path, tc.key, body)
		if err != nil || status != tc.status {
			t.Fatalf("request %d %s: status %d, err %v; want %d", i, tc.path, status, err, tc.status)
		}
		if n := conns.Load(); n != tc.conns {
			t.Errorf("after request %d %s: %d connections, want %d", i, tc.path, n, tc.conns)
		}
	}
}

// tableRow reads the first Markdown table of out into its header names and
// first row.
func tableRow(t *testing.T, out string) map[string]string {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "|") {
			lines = append(lines, l)
		}
	}
	if len(lines) < 3 {
		t.Fatalf("no table in\n%s", out)
	}
	cells := func(l string) []string {
		f := strings.Split(strings.Trim(l, "|"), "|")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		return f
	}
	head, row := cells(lines[0]), cells(lines[2])
	if len(head) != len(row) {
		t.Fatalf("header and row differ in width:\n%s\n%s", lines[0], lines[2])
	}
	m := map[string]string{}
	for i, h := range head {
		m[h] = row[i]
	}
	return m
}

// TestBenchOpenLoop: the open loop sends at its rate whatever the answers
// take and counts latency from each request's scheduled time, so a server
// that stalls shows its queueing; answers are counted by status, and 503s
// apart from 2xx. The closed loop sends n requests and stops.
func TestBenchOpenLoop(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if n%10 == 0 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		if n == 5 {
			time.Sleep(300 * time.Millisecond) // a stall: with one connection, the requests due meanwhile wait
		}
		_, _ = io.WriteString(w, "{}")
	}))
	defer srv.Close()
	send := func(c *benchClient, i int) (int, error) { return c.post("/x", "k", []byte(`{"count":1}`)) }
	r := runLoad(context.Background(), loadSpec{addr: srv.Listener.Addr().String(), clients: 1, duration: time.Second, rate: 100}, send)
	if r.sent() != 100 || r.statuses[503] != 10 || r.accepted() != 90 || r.err != nil {
		t.Fatalf("sent %d, statuses %v, err %v; want 100 sent, 90 × 200 and 10 × 503", r.sent(), r.statuses, r.err)
	}
	// The stall delays the ~30 requests due during it: measured from their
	// scheduled time, the p99 shows it; measured from sending it would not.
	if _, p99, _ := r.percentiles(true); p99 < 150*time.Millisecond {
		t.Errorf("open-loop p99 %s; want the stall's queueing (>= 150 ms)", p99)
	}
	if r.elapsed < 900*time.Millisecond {
		t.Errorf("100 requests at 100/s took %s; want about a second", r.elapsed)
	}
	c := runLoad(context.Background(), loadSpec{addr: srv.Listener.Addr().String(), clients: 3, n: 20}, send)
	if c.sent() != 20 {
		t.Errorf("closed loop of 20: sent %d", c.sent())
	}
}

// TestParsePgbench reads pgbench's report.
func TestParsePgbench(t *testing.T) {
	out := "transaction type: docs/pgbench-stamp.sql\nnumber of transactions actually processed: 31415\n" +
		"latency average = 5.093 ms\ntps = 3141.592 (without initial connection time)\n"
	tps, n, err := parsePgbench(out)
	if err != nil || tps != 3141.592 || n != 31415 {
		t.Fatalf("got %v %d %v", tps, n, err)
	}
	if _, _, err := parsePgbench("pgbench: error: connection refused"); err == nil {
		t.Fatal("no error for a report without tps")
	}
}
