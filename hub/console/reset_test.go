package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/console"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// mailbox is a hub.OwnerMailer that records the mails with the SMTP host
// they were sent through.
type mailbox struct {
	mu   sync.Mutex
	sent []sentMail
}

type sentMail struct {
	Host, To, Subject, Text string
}

func (m *mailbox) SendOwnerEmail(_ context.Context, cfg *hub.ChannelConfig, msg hub.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, sentMail{Host: cfg.Get("host"), To: msg.To, Subject: msg.Subject, Text: msg.Text})
	return nil
}

// take returns the mails sent since the last take.
func (m *mailbox) take() []sentMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.sent
	m.sent = nil
	return out
}

// inline runs the console's background work at once, so that a test sees
// the mail when the answer arrives.
func inline(c *console.Config) { c.Background = func(f func()) { f() } }

var resetLinkRE = regexp.MustCompile(`https://hub\.test(/console/reset/[A-Za-z0-9]+)`)

// requestReset posts the "Forgot password?" form and checks the one answer.
func requestReset(t *testing.T, b *browser, email string) {
	t.Helper()
	p := b.post("/console/reset", url.Values{"email": {email}})
	want(t, p, http.StatusOK)
	contains(t, p, "If an account exists for this email, we sent a link to it.",
		"ask the hub&#39;s operator for a new invitation link")
}

// TestPasswordReset: "Forgot password?" on the login page leads to a form
// that answers the same for every email; an owner whose business has an
// email channel gets a one-time link through it, which sets a new password
// and ends the owner's sessions, once and within the hour.
func TestPasswordReset(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st, inline)
		if _, err := h.svc.PutChannelConfig(h.ctx, h.business.ID, "email",
			map[string]any{"host": "smtp.cafe.test", "from": "cafe@example.com"}); err != nil {
			t.Fatal(err)
		}
		h.newBusiness("Bakery", "ben", "baker@example.com") // no email channel
		b := h.browser()
		contains(t, b.get("/console/login"), `<a href="/console/reset">Forgot password?</a>`)
		p := b.get("/console/reset")
		want(t, p, http.StatusOK)
		contains(t, p, `<label for="email">Email</label>`, `<button type="submit">Send link</button>`)

		// Unknown emails, and an owner whose business has no email channel,
		// get the same answer and no mail.
		for _, email := range []string{"nobody@example.com", "baker@example.com", "not an email"} {
			requestReset(t, b, email)
		}
		if got := h.mail.take(); len(got) != 0 {
			t.Fatalf("mails without an account or an email channel: %+v", got)
		}

		// The owner of Café is logged in elsewhere; the mail goes out
		// through Café's email channel.
		other := h.browser()
		other.login("owner@example.com")
		requestReset(t, b, "Owner@Example.com")
		mails := h.mail.take()
		if len(mails) != 1 {
			t.Fatalf("%d mails, want 1: %+v", len(mails), mails)
		}
		m := mails[0]
		if diff := cmp.Diff(sentMail{Host: "smtp.cafe.test", To: "owner@example.com",
			Subject: "Choose a new password for the console"}, sentMail{Host: m.Host, To: m.To, Subject: m.Subject}); diff != "" {
			t.Errorf("mail (-want +got):\n%s", diff)
		}
		link := resetLinkRE.FindStringSubmatch(m.Text)
		if link == nil || !strings.Contains(m.Text, "within 60 minutes") {
			t.Fatalf("no link for an hour in the mail:\n%s", m.Text)
		}
		path := link[1]

		p = b.get(path)
		want(t, p, http.StatusOK)
		contains(t, p, `<label for="password">New password</label>`, `<button type="submit">Set password</button>`, "owner@example.com")
		want(t, b.post(path, url.Values{"password": {"short"}}), http.StatusUnprocessableEntity)
		const newPassword = "amber-heron-sings-7"
		p = b.post(path, url.Values{"password": {newPassword}})
		want(t, p, http.StatusSeeOther)
		if p.header.Get("Location") != "/console/login?done=password_set" {
			t.Errorf("went to %q", p.header.Get("Location"))
		}
		// The other session ended; the new password logs in, the old does not.
		want(t, other.get("/console/api-keys"), http.StatusSeeOther)
		want(t, b.post("/console/login", url.Values{"email": {"owner@example.com"}, "password": {ownerPassword}}), http.StatusUnauthorized)
		want(t, b.post("/console/login", url.Values{"email": {"owner@example.com"}, "password": {newPassword}}), http.StatusSeeOther)

		// Used once, the link is gone.
		p = b.post(path, url.Values{"password": {"another-one-sings-8"}})
		want(t, p, http.StatusNotFound)
		contains(t, p, "This password reset link was used already or has expired")
		want(t, b.get(path), http.StatusNotFound)
		want(t, b.get("/console/reset/nonsense"), http.StatusNotFound)

		// An hour later a new link is expired.
		requestReset(t, h.browser(), "owner@example.com")
		late := resetLinkRE.FindStringSubmatch(h.mail.take()[0].Text)[1]
		h.clock.advance(hub.PasswordResetTTL)
		want(t, b.post(late, url.Values{"password": {"another-one-sings-8"}}), http.StatusNotFound)

		// A reset link is no invitation, and an invitation no reset link.
		inv, err := h.svc.InviteOwner(h.ctx, h.business.ID, hub.OwnerInput{Email: "owner@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		want(t, b.get("/console/reset/"+inv.Token), http.StatusNotFound)
		requestReset(t, h.browser(), "owner@example.com")
		token := strings.TrimPrefix(resetLinkRE.FindStringSubmatch(h.mail.take()[0].Text)[1], "/console/reset/")
		want(t, b.get("/console/invitations/"+token), http.StatusNotFound)
	})
}

// TestPasswordResetDisabledChannel: a business whose email channel is
// switched off sends no reset mail.
func TestPasswordResetDisabledChannel(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st, inline)
		if _, err := h.svc.PutChannelConfig(h.ctx, h.business.ID, "email",
			map[string]any{"host": "smtp.cafe.test", "from": "cafe@example.com", "enabled": false}); err != nil {
			t.Fatal(err)
		}
		requestReset(t, h.browser(), "owner@example.com")
		if got := h.mail.take(); len(got) != 0 {
			t.Fatalf("mails through a disabled channel: %+v", got)
		}
	})
}

// TestNewInvitationResetsPassword: without an email channel the operator's
// new invitation for an existing owner sets a new password and ends the
// owner's sessions.
func TestNewInvitationResetsPassword(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		b := h.browser()
		b.login("owner@example.com")
		inv, err := h.svc.InviteOwner(h.ctx, h.business.ID, hub.OwnerInput{Email: "owner@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if inv.Owner.ID != h.owner.ID {
			t.Fatalf("the invitation made another owner %s, want %s", inv.Owner.ID, h.owner.ID)
		}
		const newPassword = "amber-heron-sings-7"
		want(t, h.browser().post(strings.TrimPrefix(inv.URL, "https://hub.test"), url.Values{"password": {newPassword}}),
			http.StatusSeeOther)
		want(t, b.get("/console/api-keys"), http.StatusSeeOther)
		want(t, b.post("/console/login", url.Values{"email": {"owner@example.com"}, "password": {newPassword}}), http.StatusSeeOther)
	})
}

// TestPasswordResetThrottle: reset requests are throttled per account as
// logins are, with the same answer for every email.
func TestPasswordResetThrottle(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st, inline)
		b := h.browser()
		for range console.DefaultAccountLimit.Burst {
			requestReset(t, b, "nobody@example.com")
		}
		p := b.post("/console/reset", url.Values{"email": {"nobody@example.com"}})
		want(t, p, http.StatusTooManyRequests)
		contains(t, p, "Too many requests.", "Try again in 3 min.")
		if p.header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		// Another account still can.
		requestReset(t, b, "owner@example.com")
	})
}
