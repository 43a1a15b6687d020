package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
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
