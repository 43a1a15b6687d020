package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/console"
	"github.com/7loc/hub/hub/ratelimit"
)

// withConsole serves the business console under /console and everything
// else with the API handler; the API's routes are unchanged.
func (a *app) withConsole(api http.Handler) (http.Handler, error) {
	proxies, err := parseProxies(a.cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	c, err := console.New(console.Config{
		Service: a.svc,
		Secure:  strings.HasPrefix(a.cfg.publicURL(), "https://"),
		AccountThrottle: ratelimit.NewThrottle(a.rdb, console.DefaultAccountLimit.Burst, console.DefaultAccountLimit.Every,
			a.cfg.QueuePrefix, "console-account"),
		AddressThrottle: ratelimit.NewThrottle(a.rdb, console.DefaultAddressLimit.Burst, console.DefaultAddressLimit.Every,
			a.cfg.QueuePrefix, "console-address"),
		ClientIP: clientIP(proxies),
		Logger:   a.log,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(console.Prefix, c)
	mux.Handle(console.Prefix+"/", c)
	mux.Handle("/", api)
	return mux, nil
}

// parseProxies reads HUB_TRUSTED_PROXIES: addresses and ranges.
func parseProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if p, err := netip.ParsePrefix(part); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, fmt.Errorf("HUB_TRUSTED_PROXIES: %q is neither an address nor a range", part)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// clientIP names a request's client: the connection's peer, or, when the
// peer is a trusted proxy, the last address in X-Forwarded-For that is not
// one (as the API's per-address limits count).
func clientIP(trusted []netip.Prefix) func(*http.Request) string {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		peer, err := netip.ParseAddr(host)
		if err != nil || !isTrusted(peer) {
			return host
		}
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			if !isTrusted(a) {
				return a.String()
			}
		}
		return host
	}
}

const ownersUsage = "usage: hub owners invite --business NAME --email EMAIL"

// runOwners is `hub owners invite`: it prints a one-time invitation link to
// the console for the owner with the email.
func runOwners(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	if len(args) == 0 || args[0] != "invite" {
		return errors.New(ownersUsage)
	}
	var business, email string
	cfg, _, err := parseConfig("owners invite", args[1:], lookup, func(fs *flag.FlagSet) {
		fs.StringVar(&business, "business", "", "business name (it must exist)")
		fs.StringVar(&email, "email", "", "the owner's email, the console login")
	})
	if err != nil {
		return err
	}
	if business == "" || email == "" {
		return errors.New(ownersUsage)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	svc, err := newOfflineService(st, cfg, stderr)
	if err != nil {
		return err
	}
	inv, err := svc.InviteOwnerByName(ctx, business, email)
	if err != nil {
		return fmt.Errorf("%s", hub.ErrorMessage(err)+fieldList(err))
	}
	_, err = fmt.Fprintln(stdout, inv.URL)
	return err
}

// fieldList formats a validation error's fields for the command line.
func fieldList(err error) string {
	var b strings.Builder
	for f, p := range hub.ErrorFields(err) {
		fmt.Fprintf(&b, "; %s %s", f, p)
	}
	return b.String()
}

// demoOwnerEmail is the demo business's console login in `hub dev`.
const demoOwnerEmail = "owner@demo.example"

// ensureDemoOwner keeps a working console login for the demo business: the
// remembered email and password when they still log in to it, otherwise a
// new password set through an invitation (a new email if the old one belongs
// to an older demo business).
func ensureDemoOwner(ctx context.Context, svc *hub.Service, st *devState) error {
	if st.OwnerEmail != "" && st.OwnerPassword != "" {
		sess, err := svc.LoginOwner(ctx, st.OwnerEmail, st.OwnerPassword)
		switch {
		case err == nil:
			_ = svc.LogoutOwner(ctx, sess.Token) // the check leaves no session behind
			if sess.BusinessID == st.BusinessID {
				return nil
			}
		case hub.ErrorCode(err) != hub.EUnauthorized:
			return err
		}
	}
	email := demoOwnerEmail
	inv, err := svc.InviteOwner(ctx, st.BusinessID, hub.OwnerInput{Email: email, Name: ptr("Demo owner")})
	if hub.ErrorCode(err) == hub.EConflict {
		email = "owner-" + strings.ToLower(hub.RandomString("abcdefghijkmnpqrstuvwxyz23456789", 6)) + "@demo.example"
		inv, err = svc.InviteOwner(ctx, st.BusinessID, hub.OwnerInput{Email: email, Name: ptr("Demo owner")})
	}
	if err != nil {
		return err
	}
	password := "demo-" + hub.RandomString("abcdefghijkmnpqrstuvwxyz23456789", 16)
	if _, err := svc.AcceptInvitation(ctx, inv.Token, password); err != nil {
		return err
	}
	st.OwnerEmail, st.OwnerPassword = email, password
	return nil
}
