package webhook

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"
)

// DefaultTimeout bounds one delivery when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// DefaultUserAgent is sent when Options.UserAgent is empty.
const DefaultUserAgent = "7loc-hub-webhooks/1"

// ErrForbiddenAddress is wrapped by every error about a target that is, or
// resolves to, an address webhooks may not reach (loopback, private,
// link-local, reserved...). The message names the host and the address.
var ErrForbiddenAddress = errors.New("forbidden address")

// Resolver looks up the IP addresses of a host name; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Options configures NewClient. The zero value is ready to use.
type Options struct {
	// Timeout bounds a whole request: connecting, TLS, sending, and reading
	// the response. Zero means DefaultTimeout.
	Timeout time.Duration
	// AllowCIDRs are ranges reachable although forbidden by default, such as
	// 127.0.0.0/8 for tests and `hub dev`. Nil allows only public addresses.
	AllowCIDRs []netip.Prefix
	// UserAgent is sent with every request. Empty means DefaultUserAgent.
	UserAgent string
	// Resolver looks up host names. Nil means net.DefaultResolver.
	Resolver Resolver
}

// NewClient returns an HTTP client for webhook deliveries that connects only
// to allowed addresses: every address is checked after DNS resolution, at
// connect time, so a name that resolves to a public address when the hook is
// created and to an internal one later (DNS rebinding) is still refused.
// Refused connections fail with an error wrapping ErrForbiddenAddress.
//
// The client does not follow redirects (a 3xx is returned as the response)
// and does not use the proxy from the environment.
func NewClient(opts Options) *http.Client {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	d := &dialer{allow: slices.Clone(opts.AllowCIDRs), resolver: opts.Resolver}
	if d.resolver == nil {
		d.resolver = net.DefaultResolver
	}
	d.net = net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: d.control}
	tr := &http.Transport{
		Proxy:             nil, // never from the environment
		DialContext:       d.dialContext,
		ForceAttemptHTTP2: true,
		MaxIdleConns:      100,
		// Keep connections to a busy endpoint: the default of 2 idle per
		// host made every burst of deliveries to one receiver redial it.
		MaxIdleConnsPerHost:    16,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    timeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	ua := opts.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	return &http.Client{
		Transport:     &userAgentTransport{base: tr, ua: ua},
		Timeout:       timeout,
		CheckRedirect: noRedirects,
	}
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// CheckURL vets a hook's target URL when it is subscribed: the scheme must be
// http or https, there must be a host and no user name or password, and a
// host that is an IP literal or "localhost" must not be in a forbidden range
// (unless allowed). Host names are resolved only at delivery time, where
// NewClient's checks apply. The messages are fit for API users.
func CheckURL(raw string, allow []netip.Prefix) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("target URL is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("target URL must use http or https")
	}
	if u.User != nil {
		return errors.New("target URL must not contain a user name or password")
	}
	host := u.Hostname()
	if host == "" {
		return errors.New("target URL has no host")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return checkAddr(host, ip, allow)
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return checkAddr(host, netip.AddrFrom4([4]byte{127, 0, 0, 1}), allow)
	}
	// No top-level domain is numeric: "127.1", "2130706433" and "0x7f.1"
	// are IP addresses in forms some resolvers accept.
	tld := name[strings.LastIndexByte(name, '.')+1:]
	if strings.HasPrefix(tld, "0x") || strings.Trim(tld, "0123456789") == "" {
		return fmt.Errorf("target URL host %q looks like an IP address in a non-standard form", host)
	}
	return nil
}

// checkAddr returns an error wrapping ErrForbiddenAddress when ip is
// forbidden; host is the name that resolved to ip, or ip itself.
func checkAddr(host string, ip netip.Addr, allow []netip.Prefix) error {
	reason := forbiddenReason(ip, allow)
	if reason == "" {
		return nil
	}
	if host == "" || host == ip.String() {
		return fmt.Errorf("%w: %s is %s", ErrForbiddenAddress, ip, reason)
	}
	return fmt.Errorf("%w: %s resolves to %s, %s", ErrForbiddenAddress, host, ip, reason)
}

type namedPrefix struct {
	prefix netip.Prefix
	name   string
}

// forbidden are the ranges webhooks may not reach: anything not globally
// reachable unicast (IANA special-purpose registries, RFC 6890 and updates).
var forbidden = []namedPrefix{
	{netip.MustParsePrefix("0.0.0.0/8"), "this network"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private network"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local, cloud metadata"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private network"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay anycast"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private network"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},

	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001::/23"), "IETF protocol assignments, Teredo"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("2002::/16"), "6to4"},
	{netip.MustParsePrefix("3fff::/20"), "documentation"},
	{netip.MustParsePrefix("fc00::/7"), "unique local"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

var (
	nat64         = netip.MustParsePrefix("64:ff9b::/96")
	globalUnicast = netip.MustParsePrefix("2000::/3")
)

// forbiddenReason says why ip may not be reached ("in 10.0.0.0/8 (private
// network)"), or returns "" when it may: ip is in allow or is public.
// IPv4-mapped and NAT64 (64:ff9b::/96) addresses are judged by the IPv4
// address they carry.
func forbiddenReason(ip netip.Addr, allow []netip.Prefix) string {
	ip = ip.WithZone("")
	if !ip.IsValid() {
		return "not an IP address"
	}
	for _, p := range allow {
		if p.Contains(ip) {
			return ""
		}
	}
	var v4, kind = ip, ""
	switch {
	case ip.Is4In6():
		v4, kind = ip.Unmap(), "an IPv4-mapped address of "
	case nat64.Contains(ip):
		b := ip.As16()
		v4, kind = netip.AddrFrom4([4]byte(b[12:])), "a NAT64 address of "
	}
	if kind != "" {
		if r := forbiddenReason(v4, allow); r != "" {
			return kind + v4.String() + " " + r
		}
		return ""
	}
	for _, f := range forbidden {
		if f.prefix.Contains(ip) {
			return "in " + f.prefix.String() + " (" + f.name + ")"
		}
	}
	if ip.Is6() && !globalUnicast.Contains(ip) {
		return "outside the IPv6 global unicast range 2000::/3"
	}
	return ""
}

// dialer resolves host names itself and connects only to allowed addresses.
type dialer struct {
	allow    []netip.Prefix
	resolver Resolver
	net      net.Dialer
}

func (d *dialer) dialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		ipNet := "ip" + strings.TrimPrefix(network, "tcp") // ip, ip4, ip6
		if ips, err = d.resolver.LookupNetIP(ctx, ipNet, host); err != nil {
			return nil, err
		}
	}
	var refused, dialErr error
	for _, ip := range ips {
		if err := checkAddr(host, ip, d.allow); err != nil {
			refused = cmp.Or(refused, err)
			continue
		}
		conn, err := d.net.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return conn, nil
		}
		dialErr = err
		if ctx.Err() != nil {
			break
		}
	}
	if err := cmp.Or(dialErr, refused); err != nil {
		return nil, err
	}
	return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
}

// control checks, once more, the address the socket is about to connect to.
func (d *dialer) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot check %q", ErrForbiddenAddress, address)
	}
	return checkAddr("", ap.Addr(), d.allow)
}

// userAgentTransport sets the User-Agent of every request.
type userAgentTransport struct {
	base *http.Transport
	ua   string
}

func (t *userAgentTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("User-Agent", t.ua)
	return t.base.RoundTrip(req)
}

// CloseIdleConnections closes the idle connections of the underlying
// transport; http.Client.CloseIdleConnections calls it.
func (t *userAgentTransport) CloseIdleConnections() { t.base.CloseIdleConnections() }
