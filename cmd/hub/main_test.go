package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestSettings(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		check   func(*config) string
		want    string
		wantErr string
	}{
		{"defaults", nil, nil, func(c *config) string {
			return fmt.Sprintf("%s|%s|%d|%d|%d|%s|%v|%v|%v|%s", c.Addr, c.DataDir, c.RateLimit, c.RateBurst, c.MaxBodyBytes,
				c.QueuePrefix, c.Migrate, c.WithWorkers, c.Scheduler, c.ShutdownTimeout)
		}, ":8080|./data|50|100|1048576|hub|true|false|true|15s", ""},
		{"environment", map[string]string{"HUB_ADDR": ":9090", "HUB_RATE_LIMIT": "7", "HUB_WITH_WORKERS": "true"}, nil,
			func(c *config) string { return fmt.Sprintf("%s|%d|%v", c.Addr, c.RateLimit, c.WithWorkers) }, ":9090|7|true", ""},
		{"flag wins over environment", map[string]string{"HUB_ADDR": ":9090"}, []string{"--addr", ":7070"},
			func(c *config) string { return c.Addr }, ":7070", ""},
		{"malformed number", map[string]string{"HUB_RATE_LIMIT": "fast"}, nil, nil, "", "HUB_RATE_LIMIT"},
		{"malformed duration", map[string]string{"HUB_SHUTDOWN_TIMEOUT": "soon"}, nil, nil, "", "HUB_SHUTDOWN_TIMEOUT"},
		{"malformed bool", map[string]string{"HUB_MIGRATE": "perhaps"}, nil, nil, "", "HUB_MIGRATE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c := &config{}
			c.bind(fs)
			err := applyEnv(fs, env(tt.env))
			if err == nil {
				err = fs.Parse(tt.args)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, tt.check(c)); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEverySettingIsDocumented(t *testing.T) {
	readme, err := readFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		if !strings.Contains(readme, "`"+s.env+"`") || !strings.Contains(readme, "`--"+s.flag+"`") {
			t.Errorf("README.md does not document %s (--%s)", s.env, s.flag)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	(&config{}).bind(fs) // panics on a setting without a field
}

func TestPublicURL(t *testing.T) {
	for addr, want := range map[string]string{":8080": "http://localhost:8080", "127.0.0.1:9000": "http://127.0.0.1:9000", "0.0.0.0:80": "http://localhost:80"} {
		c := &config{Addr: addr}
		if got := c.publicURL(); got != want {
			t.Errorf("publicURL(%q) = %q, want %q", addr, got, want)
		}
	}
}

func TestKeysCreate(t *testing.T) {
	dir := t.TempDir()
	e := env(map[string]string{"HUB_DATA_DIR": dir, "HUB_LOG_LEVEL": "warn"})
	var out, errOut bytes.Buffer
	args := []string{"keys", "create", "--business", "Café", "--staff", "Ann"}
	if err := run(context.Background(), args, &out, &errOut, e); err != nil {
		t.Fatalf("keys create: %v\n%s", err, errOut.String())
	}
	key := strings.TrimSpace(out.String())
	if !strings.HasPrefix(key, "7loc_sc_") || strings.Contains(key, "\n") {
		t.Fatalf("stdout = %q, want only the key", out.String())
	}
	out.Reset()
	err := run(context.Background(), args, &out, &errOut, e)
	if err == nil || !strings.Contains(err.Error(), "already has an API key") || out.Len() != 0 {
		t.Errorf("second create = %v, stdout %q", err, out.String())
	}
	if err := run(context.Background(), []string{"keys", "create", "--business", "Café"}, &out, &errOut, e); err == nil {
		t.Error("keys create without --staff succeeded")
	}
	if err := run(context.Background(), []string{"migrate"}, &out, &errOut, e); err != nil {
		t.Errorf("migrate: %v", err)
	}
	if err := run(context.Background(), []string{"nope"}, &out, &errOut, e); err == nil {
		t.Error("an unknown command succeeded")
	}
	if err := run(context.Background(), []string{"serve"}, &out, &errOut, e); err == nil || !strings.Contains(err.Error(), "HUB_REDIS_URL") {
		t.Errorf("serve without Redis = %v, want an error naming HUB_REDIS_URL", err)
	}
}

// lockedBuffer is a bytes.Buffer safe for the concurrent writes of a running command.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDev runs `hub dev` as a user would: it prints a working key, serves the
// API, keeps the key across a restart and stops cleanly when cancelled.
func TestDev(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	e := env(map[string]string{"HUB_DATA_DIR": dir, "HUB_ADDR": addr, "HUB_LOG_LEVEL": "warn"})
	start := func() (string, func()) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		var out, errOut lockedBuffer
		done := make(chan error, 1)
		go func() { done <- run(ctx, []string{"dev"}, &out, &errOut, e) }()
		deadline := time.Now().Add(30 * time.Second)
		var key string
		for key == "" {
			if time.Now().After(deadline) {
				t.Fatalf("hub dev printed no key: %q %q", out.String(), errOut.String())
			}
			for _, f := range strings.Fields(out.String()) {
				if strings.HasPrefix(f, "7loc_sc_") {
					key = f
					break
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		stop := func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("hub dev stopped with %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Error("hub dev did not stop within 20 s")
			}
		}
		return key, stop
	}
	key, stop := start()
	var me struct {
		Business struct{ Name string } `json:"business"`
	}
	getJSON(t, "http://"+addr+"/v1/me", key, &me)
	if me.Business.Name != "Demo Café" {
		t.Errorf("/v1/me business = %q", me.Business.Name)
	}
	stop()
	again, stop := start()
	defer stop()
	if again != key {
		t.Errorf("the demo key changed across a restart: %s then %s", key, again)
	}
	var tpls struct {
		Data []json.RawMessage `json:"data"`
	}
	getJSON(t, "http://"+addr+"/v1/card-templates", again, &tpls)
	if len(tpls.Data) != 1 {
		t.Errorf("demo templates after a restart = %d, want 1 (no second demo)", len(tpls.Data))
	}
	if _, err := readFile(filepath.Join(dir, "hub.db")); err != nil {
		t.Errorf("no SQLite file in the data dir: %v", err)
	}
}

func getJSON(t *testing.T, url, key string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	var res *http.Response
	var err error
	for i := 0; i < 50; i++ {
		if res, err = http.DefaultClient.Do(req); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET %s = %d %s", url, res.StatusCode, b)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
