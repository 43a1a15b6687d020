package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestOwnersInvite(t *testing.T) {
	dir := t.TempDir()
	e := env(map[string]string{"HUB_DATA_DIR": dir, "HUB_LOG_LEVEL": "warn", "HUB_PUBLIC_URL": "https://hub.example"})
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"keys", "create", "--business", "Café", "--staff", "ann"}, &out, &errOut, e); err != nil {
		t.Fatalf("keys create: %v", err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"invite", []string{"owners", "invite", "--business", "Café", "--email", "Owner@Example.com"}, ""},
		{"again", []string{"owners", "invite", "--business", "Café", "--email", "owner@example.com"}, ""},
		{"no such business", []string{"owners", "invite", "--business", "Nope", "--email", "o@example.com"}, "business not found"},
		{"bad email", []string{"owners", "invite", "--business", "Café", "--email", "nope"}, "email must be an email address"},
		{"no email", []string{"owners", "invite", "--business", "Café"}, "usage: hub owners invite"},
		{"no subcommand", []string{"owners"}, "usage: hub owners invite"},
	}
	var links []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out.Reset()
			err := run(ctx, tt.args, &out, &errOut, e)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || out.Len() != 0 {
					t.Fatalf("err = %v, stdout %q; want an error with %q", err, out.String(), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			link := strings.TrimSpace(out.String())
			if !strings.HasPrefix(link, "https://hub.example/console/invitations/") || strings.Contains(link, "\n") {
				t.Fatalf("stdout = %q, want only the link", out.String())
			}
			links = append(links, link)
		})
	}
	if len(links) != 2 || links[0] == links[1] {
		t.Errorf("links = %v, want two different ones", links)
	}
}

var consoleLogin = regexp.MustCompile(`Business console: (\S+)\n\s+email (\S+), password (\S+)`)

// TestConsoleDev runs `hub dev` and logs in to the console with what it
// prints, twice across a restart; the API answers beside it.
func TestConsoleDev(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	e := env(map[string]string{"HUB_DATA_DIR": dir, "HUB_ADDR": addr, "HUB_LOG_LEVEL": "warn"})
	start := func() (link, email, password string, stop func()) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		var out, errOut lockedBuffer
		done := make(chan error, 1)
		go func() { done <- run(ctx, []string{"dev"}, &out, &errOut, e) }()
		deadline := time.Now().Add(30 * time.Second)
		var m []string
		for m == nil {
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("hub dev printed no console login: %q %q", out.String(), errOut.String())
			}
			m = consoleLogin.FindStringSubmatch(out.String())
			time.Sleep(50 * time.Millisecond)
		}
		return m[1], m[2], m[3], func() {
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
	}
	login := func(link, email, password string) {
		t.Helper()
		if link != "http://"+addr+"/console/login" {
			t.Errorf("console link = %q", link)
		}
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		var res *http.Response
		var err error
		for range 50 {
			if res, err = c.PostForm(link, url.Values{"email": {email}, "password": {password}}); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || res.Request.URL.Path != "/console/api-keys" || !strings.Contains(string(body), "Demo key") {
			t.Fatalf("login with the printed password: %d at %s\n%s", res.StatusCode, res.Request.URL, body)
		}
		if res.Header.Get("Content-Security-Policy") == "" {
			t.Error("console page without Content-Security-Policy")
		}
	}
	link, email, password, stop := start()
	login(link, email, password)
	stop()
	link2, email2, password2, stop := start()
	defer stop()
	if email2 != email || password2 != password {
		t.Errorf("the console login changed across a restart: %s/%s then %s/%s", email, password, email2, password2)
	}
	login(link2, email2, password2)
	// The API's routes are unchanged beside the console.
	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Errorf("/healthz beside the console: %v %v", res, err)
	}
	if res != nil {
		res.Body.Close()
	}
}

func TestClientIP(t *testing.T) {
	proxies, err := parseProxies("10.0.0.0/8, 192.168.1.1")
	if err != nil {
		t.Fatal(err)
	}
	ip := clientIP(proxies)
	tests := []struct {
		name, remote, xff, want string
	}{
		{"direct", "203.0.113.5:4000", "198.51.100.1", "203.0.113.5"},
		{"through a trusted proxy", "10.1.2.3:4000", "198.51.100.1, 10.0.0.9", "198.51.100.1"},
		{"single trusted address", "192.168.1.1:4000", "198.51.100.7", "198.51.100.7"},
		{"forged hops before", "10.1.2.3:4000", "1.1.1.1, 198.51.100.1", "198.51.100.1"},
		{"no header", "10.1.2.3:4000", "", "10.1.2.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if got := ip(r); got != tt.want {
				t.Errorf("clientIP = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := parseProxies("not-an-address"); err == nil {
		t.Error("a malformed proxy was accepted")
	}
}
