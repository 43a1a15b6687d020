package webhook

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

func TestForbiddenReason(t *testing.T) {
	tests := []struct {
		addr  string
		allow []netip.Prefix
		want  string // "" when allowed
	}{
		{"169.254.169.254", nil, "in 169.254.0.0/16 (link-local, cloud metadata)"},
		{"10.0.0.1", nil, "in 10.0.0.0/8 (private network)"},
		{"172.16.0.1", nil, "in 172.16.0.0/12 (private network)"},
		{"172.31.255.255", nil, "in 172.16.0.0/12 (private network)"},
		{"192.168.1.1", nil, "in 192.168.0.0/16 (private network)"},
		{"100.64.0.1", nil, "in 100.64.0.0/10 (carrier-grade NAT)"},
		{"100.127.255.254", nil, "in 100.64.0.0/10 (carrier-grade NAT)"},
		{"127.0.0.1", nil, "in 127.0.0.0/8 (loopback)"},
		{"127.255.0.9", nil, "in 127.0.0.0/8 (loopback)"},
		{"0.0.0.0", nil, "in 0.0.0.0/8 (this network)"},
		{"0.1.2.3", nil, "in 0.0.0.0/8 (this network)"},
		{"255.255.255.255", nil, "in 255.255.255.255/32 (broadcast)"},
		{"240.0.0.1", nil, "in 240.0.0.0/4 (reserved)"},
		{"224.0.0.1", nil, "in 224.0.0.0/4 (multicast)"},
		{"239.255.255.250", nil, "in 224.0.0.0/4 (multicast)"},
		{"192.0.0.8", nil, "in 192.0.0.0/24 (IETF protocol assignments)"},
		{"192.0.2.1", nil, "in 192.0.2.0/24 (documentation)"},
		{"198.51.100.7", nil, "in 198.51.100.0/24 (documentation)"},
		{"203.0.113.5", nil, "in 203.0.113.0/24 (documentation)"},
		{"198.18.0.1", nil, "in 198.18.0.0/15 (benchmarking)"},
		{"::1", nil, "in ::1/128 (loopback)"},
		{"::", nil, "in ::/128 (unspecified)"},
		{"fe80::1", nil, "in fe80::/10 (link-local)"},
		{"fe80::1%eth0", nil, "in fe80::/10 (link-local)"},
		{"fc00::1", nil, "in fc00::/7 (unique local)"},
		{"fd12:3456::1", nil, "in fc00::/7 (unique local)"},
		{"fec0::1", nil, "in fec0::/10 (site-local)"},
		{"ff02::1", nil, "in ff00::/8 (multicast)"},
		{"2001:db8::1", nil, "in 2001:db8::/32 (documentation)"},
		{"3fff::1", nil, "in 3fff::/20 (documentation)"},
		{"2001::1", nil, "in 2001::/23 (IETF protocol assignments, Teredo)"},
		{"2002:a00:1::1", nil, "in 2002::/16 (6to4)"},
		{"100::1", nil, "in 100::/64 (discard-only)"},
		{"64:ff9b:1::1", nil, "in 64:ff9b:1::/48 (local-use NAT64)"},
		{"::127.0.0.1", nil, "outside the IPv6 global unicast range 2000::/3"},
		{"::ffff:127.0.0.1", nil, "an IPv4-mapped address of 127.0.0.1 in 127.0.0.0/8 (loopback)"},
		{"::ffff:169.254.169.254", nil, "an IPv4-mapped address of 169.254.169.254 in 169.254.0.0/16 (link-local, cloud metadata)"},
		{"64:ff9b::7f00:1", nil, "a NAT64 address of 127.0.0.1 in 127.0.0.0/8 (loopback)"},
		{"64:ff9b::a9fe:a9fe", nil, "a NAT64 address of 169.254.169.254 in 169.254.0.0/16 (link-local, cloud metadata)"},

		{"8.8.8.8", nil, ""},
		{"1.1.1.1", nil, ""},
		{"172.32.0.1", nil, ""},
		{"100.128.0.1", nil, ""},
		{"192.169.0.1", nil, ""},
		{"2606:4700:4700::1111", nil, ""},
		{"2a00:1450:4001::1", nil, ""},
		{"::ffff:8.8.8.8", nil, ""},
		{"64:ff9b::808:808", nil, ""},

		{"127.0.0.1", loopback, ""},
		{"::ffff:127.0.0.1", loopback, ""},
		{"64:ff9b::7f00:1", loopback, ""},
		{"10.0.0.1", loopback, "in 10.0.0.0/8 (private network)"},
		{"::1", loopback, "in ::1/128 (loopback)"},
		{"::1", []netip.Prefix{netip.MustParsePrefix("::1/128")}, ""},
		{"10.1.2.3", []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, ""},
		{"10.2.0.1", []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, "in 10.0.0.0/8 (private network)"},
	}
	for _, tt := range tests {
		got := forbiddenReason(netip.MustParseAddr(tt.addr), tt.allow)
		if got != tt.want {
			t.Errorf("forbiddenReason(%s, %v) = %q, want %q", tt.addr, tt.allow, got, tt.want)
		}
	}
	if got := forbiddenReason(netip.Addr{}, nil); got == "" {
		t.Error("the zero Addr is allowed")
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url     string
		allow   []netip.Prefix
		wantErr string // substring; "" when accepted
	}{
		{"https://hooks.example.com/in?x=1", nil, ""},
		{"http://hooks.example.com:8080/", nil, ""},
		{"HTTPS://Hooks.Example.com/", nil, ""},
		{"https://8.8.8.8/hook", nil, ""},
		{"https://[2606:4700:4700::1111]/hook", nil, ""},
		{"http://127.0.0.1:8080/", loopback, ""},
		{"http://localhost:8080/", loopback, ""},

		{"ftp://hooks.example.com/", nil, "must use http or https"},
		{"javascript:alert(1)", nil, "must use http or https"},
		{"hooks.example.com/in", nil, "must use http or https"},
		{"https://user:pass@hooks.example.com/", nil, "user name or password"},
		{"https://token@hooks.example.com/", nil, "user name or password"},
		{"https:///path", nil, "no host"},
		{"http://[::1", nil, "not a valid URL"},
		{"http://127.0.0.1/", nil, "forbidden address: 127.0.0.1 is in 127.0.0.0/8 (loopback)"},
		{"http://169.254.169.254/latest/meta-data/", nil, "forbidden address: 169.254.169.254 is in 169.254.0.0/16"},
		{"http://10.0.0.1/", nil, "forbidden address: 10.0.0.1 is in 10.0.0.0/8"},
		{"http://100.64.0.1/", nil, "forbidden address: 100.64.0.1"},
		{"http://[::1]:8080/", nil, "forbidden address: ::1 is in ::1/128 (loopback)"},
		{"http://[fe80::1%25eth0]/", nil, "forbidden address: fe80::1%eth0 is in fe80::/10"},
		{"http://[::ffff:127.0.0.1]/", nil, "forbidden address: ::ffff:127.0.0.1 is an IPv4-mapped address of 127.0.0.1"},
		{"http://0.0.0.0:80/", nil, "forbidden address: 0.0.0.0"},
		{"http://localhost/", nil, "forbidden address: localhost resolves to 127.0.0.1"},
		{"http://LOCALHOST./", nil, "forbidden address: LOCALHOST. resolves to 127.0.0.1"},
		{"http://api.localhost/", nil, "forbidden address: api.localhost resolves to 127.0.0.1"},
		{"http://10.0.0.1/", loopback, "forbidden address"},
		{"http://2130706433/", nil, "looks like an IP address in a non-standard form"},
		{"http://127.1/", nil, "looks like an IP address in a non-standard form"},
		{"http://0x7f.0.0.1/", nil, "looks like an IP address in a non-standard form"},
		{"http://0x7f000001/", nil, "looks like an IP address in a non-standard form"},
	}
	for _, tt := range tests {
		err := CheckURL(tt.url, tt.allow)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("CheckURL(%q) = %v, want nil", tt.url, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("CheckURL(%q) = %v, want an error containing %q", tt.url, err, tt.wantErr)
		case tt.wantErr != "" && strings.HasPrefix(tt.wantErr, "forbidden") && !errors.Is(err, ErrForbiddenAddress):
			t.Errorf("CheckURL(%q) = %v, does not wrap ErrForbiddenAddress", tt.url, err)
		}
	}
}

// hitCounter is a test receiver that counts requests and remembers the last.
type hitCounter struct {
	hits atomic.Int32
	last atomic.Pointer[http.Request]
}

func (h *hitCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.hits.Add(1)
	h.last.Store(r)
	w.WriteHeader(http.StatusNoContent)
}

func newServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

func TestClientLoopback(t *testing.T) {
	var recv hitCounter
	ts := newServer(t, &recv)

	_, err := NewClient(Options{}).Get(ts.URL)
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("GET %s without AllowCIDRs: error = %v, want ErrForbiddenAddress", ts.URL, err)
	}
	if n := recv.hits.Load(); n != 0 {
		t.Fatalf("the receiver was reached %d times", n)
	}

	resp, err := NewClient(Options{AllowCIDRs: loopback, UserAgent: "test-agent/2"}).Get(ts.URL)
	if err != nil {
		t.Fatalf("GET %s with 127.0.0.0/8 allowed: %v", ts.URL, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || recv.hits.Load() != 1 {
		t.Errorf("status %d, %d hits; want 204, 1 hit", resp.StatusCode, recv.hits.Load())
	}
	if ua := recv.last.Load().UserAgent(); ua != "test-agent/2" {
		t.Errorf("User-Agent = %q, want test-agent/2", ua)
	}

	resp, err = NewClient(Options{AllowCIDRs: loopback}).Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ua := recv.last.Load().UserAgent(); ua != DefaultUserAgent {
		t.Errorf("User-Agent = %q, want %q", ua, DefaultUserAgent)
	}
}

// fakeResolver resolves every name to addrs and counts the look-ups.
type fakeResolver struct {
	addrs   []netip.Addr
	lookups atomic.Int32
}

func (r *fakeResolver) LookupNetIP(_ context.Context, _, _ string) ([]netip.Addr, error) {
	r.lookups.Add(1)
	return r.addrs, nil
}

func TestClientChecksResolvedAddresses(t *testing.T) {
	var recv hitCounter
	ts := newServer(t, &recv)
	port := ts.Listener.Addr().(*net.TCPAddr).Port
	named := func(host string) string { return "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/hook" }

	// "localhost" through the system resolver.
	_, err := NewClient(Options{}).Get(named("localhost"))
	if !errors.Is(err, ErrForbiddenAddress) || !strings.Contains(err.Error(), "localhost resolves to") {
		t.Errorf("GET localhost: error = %v, want ErrForbiddenAddress naming localhost", err)
	}

	// DNS rebinding: the name passes CheckURL, then resolves to loopback.
	const host = "hooks.example.test"
	if err := CheckURL(named(host), nil); err != nil {
		t.Fatalf("CheckURL(%s) = %v", host, err)
	}
	res := &fakeResolver{addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}
	_, err = NewClient(Options{Resolver: res}).Get(named(host))
	if !errors.Is(err, ErrForbiddenAddress) || !strings.Contains(err.Error(), host+" resolves to 127.0.0.1") {
		t.Errorf("GET %s resolving to 127.0.0.1: error = %v, want ErrForbiddenAddress", host, err)
	}
	if res.lookups.Load() == 0 {
		t.Error("the Options.Resolver was not used")
	}

	// Only the allowed addresses of a name are dialled.
	res = &fakeResolver{addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("127.0.0.1")}}
	resp, err := NewClient(Options{Resolver: res, AllowCIDRs: loopback}).Get(named(host))
	if err != nil {
		t.Fatalf("GET %s resolving to 10.0.0.1 and 127.0.0.1, loopback allowed: %v", host, err)
	}
	resp.Body.Close()
	if got := recv.last.Load().Host; got != net.JoinHostPort(host, strconv.Itoa(port)) {
		t.Errorf("Host header = %q, want the name", got)
	}
	if n := recv.hits.Load(); n != 1 {
		t.Errorf("%d hits, want 1", n)
	}
}

func TestDialerControl(t *testing.T) {
	// The second check, on the socket's address just before connecting.
	d := &dialer{allow: loopback}
	for addr, wantErr := range map[string]bool{
		"10.0.0.1:80":          true,
		"169.254.169.254:80":   true,
		"[::ffff:10.0.0.1]:80": true,
		"[fe80::1%eth0]:80":    true,
		"no port":              true,
		"127.0.0.1:8080":       false,
		"8.8.8.8:443":          false,
	} {
		err := d.control("tcp", addr, nil)
		if (err != nil) != wantErr || err != nil && !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("control(%q) = %v, want error: %v", addr, err, wantErr)
		}
	}
}

func TestClientNoRedirects(t *testing.T) {
	var target hitCounter
	mux := http.NewServeMux()
	mux.Handle("/target", &target)
	mux.Handle("/hook", http.RedirectHandler("/target", http.StatusFound))
	ts := newServer(t, mux)

	resp, err := NewClient(Options{AllowCIDRs: loopback}).Get(ts.URL + "/hook")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/target" {
		t.Errorf("status %d, Location %q; want 302 /target", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := target.hits.Load(); n != 0 {
		t.Errorf("the redirect was followed (%d hits)", n)
	}
}

func TestClientTimeout(t *testing.T) {
	ts := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	start := time.Now()
	_, err := NewClient(Options{AllowCIDRs: loopback, Timeout: 200 * time.Millisecond}).Get(ts.URL)
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Errorf("error = %v, want a timeout", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v with a 200ms timeout", took)
	}
}

func TestNewClientDefaults(t *testing.T) {
	c := NewClient(Options{})
	if c.Timeout != DefaultTimeout || DefaultTimeout != 10*time.Second {
		t.Errorf("Timeout = %v, want 10s", c.Timeout)
	}
	tr := c.Transport.(*userAgentTransport).base
	if tr.Proxy != nil {
		t.Error("the transport uses a proxy")
	}
	if tr.DialContext == nil || tr.DialTLSContext != nil {
		t.Error("connections do not all go through the checking dialer")
	}
	if c.CheckRedirect == nil {
		t.Error("redirects are followed")
	}
	if got := NewClient(Options{Timeout: time.Second}).Timeout; got != time.Second {
		t.Errorf("Timeout = %v, want 1s", got)
	}
}
