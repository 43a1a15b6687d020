package hub_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/password"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// ownerService is the fixture's service with a password hasher.
func ownerService(t *testing.T, f *fixture) *hub.Service {
	t.Helper()
	svc, err := hub.NewService(hub.Config{Store: f.store, Now: f.clock, PublicURL: "https://hub.test",
		Passwords: password.New(password.Fast)})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		name, pw string
		ok       bool
	}{
		{"long and rare", "teal-otter-grows-42", true},
		{"too short", "Sh0rt!pw", false},
		{"Thai letters count as characters", "ตัวอักษรเก้าตั", true},
		{"common", "password123", false},
		{"common in other case", "QwertyUiop", false},
		{"digits", "1234567890", false},
		{"too long", strings.Repeat("x", 257), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := hub.CheckPassword(tt.pw)
			if (err == nil) != tt.ok {
				t.Errorf("CheckPassword(%q) = %v, want ok %v", tt.pw, err, tt.ok)
			}
		})
	}
}

func TestOwnerInvitationLoginAndSessions(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		svc := ownerService(t, f)
		biz := f.pr.Business.ID

		inv, err := svc.InviteOwner(f.ctx, biz, hub.OwnerInput{Email: " Owner@Example.com ", Name: ptr("Olga")})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(inv.URL, "https://hub.test/console/invitations/") || inv.Token == "" ||
			!strings.HasSuffix(inv.URL, inv.Token) {
			t.Fatalf("invitation URL %q, token %q", inv.URL, inv.Token)
		}
		if diff := cmp.Diff(f.now.Add(72*time.Hour), inv.ExpiresAt); diff != "" {
			t.Errorf("expiry (-want +got):\n%s", diff)
		}
		if inv.Owner.Email != "owner@example.com" || inv.Owner.Name != "Olga" {
			t.Errorf("owner = %+v", inv.Owner)
		}

		// No password yet: login fails the same way as a wrong one.
		_, err = svc.LoginOwner(f.ctx, "owner@example.com", "anything-at-all")
		wantCode(t, err, hub.EUnauthorized)

		// The rules are checked, and a refused password leaves the link usable.
		_, err = svc.AcceptInvitation(f.ctx, inv.Token, "password123")
		wantCode(t, err, hub.EValidation)
		if _, err := svc.Invitation(f.ctx, inv.Token); err != nil {
			t.Fatalf("invitation after a refused password: %v", err)
		}
		if _, err := svc.AcceptInvitation(f.ctx, inv.Token, "teal-otter-grows-42"); err != nil {
			t.Fatal(err)
		}
		_, err = svc.AcceptInvitation(f.ctx, inv.Token, "teal-otter-grows-43")
		wantCode(t, err, hub.ENotFound)

		_, err = svc.LoginOwner(f.ctx, "owner@example.com", "teal-otter-grows-43")
		wantCode(t, err, hub.EUnauthorized)
		_, err = svc.LoginOwner(f.ctx, "nobody@example.com", "teal-otter-grows-42")
		wantCode(t, err, hub.EUnauthorized)
		sess, err := svc.LoginOwner(f.ctx, "OWNER@example.com", "teal-otter-grows-42")
		if err != nil {
			t.Fatal(err)
		}
		got, err := svc.OwnerSession(f.ctx, sess.Token)
		if err != nil {
			t.Fatal(err)
		}
		if got.Owner.ID != inv.Owner.ID || got.Business.ID != biz {
			t.Errorf("session owner %s business %s", got.Owner.ID, got.Business.ID)
		}

		// Idle timeout: used 11 h later it lives on, 12 h after that it has ended.
		f.advance(11 * time.Hour)
		if _, err := svc.OwnerSession(f.ctx, sess.Token); err != nil {
			t.Fatalf("after 11 h: %v", err)
		}
		f.advance(12 * time.Hour)
		_, err = svc.OwnerSession(f.ctx, sess.Token)
		wantCode(t, err, hub.EUnauthorized)

		// Absolute age: used every 11 h, it still ends after 30 days.
		sess, err = svc.LoginOwner(f.ctx, "owner@example.com", "teal-otter-grows-42")
		if err != nil {
			t.Fatal(err)
		}
		for elapsed := time.Duration(0); elapsed+11*time.Hour < hub.SessionMaxAge; elapsed += 11 * time.Hour {
			f.advance(11 * time.Hour)
			if _, err := svc.OwnerSession(f.ctx, sess.Token); err != nil {
				t.Fatalf("after %v: %v", elapsed+11*time.Hour, err)
			}
		}
		f.advance(11 * time.Hour)
		_, err = svc.OwnerSession(f.ctx, sess.Token)
		wantCode(t, err, hub.EUnauthorized)

		// Logout ends one session, logout everywhere all of them.
		a, _ := svc.LoginOwner(f.ctx, "owner@example.com", "teal-otter-grows-42")
		b, _ := svc.LoginOwner(f.ctx, "owner@example.com", "teal-otter-grows-42")
		c, _ := svc.LoginOwner(f.ctx, "owner@example.com", "teal-otter-grows-42")
		if err := svc.LogoutOwner(f.ctx, a.Token); err != nil {
			t.Fatal(err)
		}
		_, err = svc.OwnerSession(f.ctx, a.Token)
		wantCode(t, err, hub.EUnauthorized)
		if _, err := svc.OwnerSession(f.ctx, b.Token); err != nil {
			t.Fatal(err)
		}
		n, err := svc.LogoutOwnerEverywhere(f.ctx, biz, b.OwnerID)
		if err != nil || n != 2 {
			t.Fatalf("LogoutOwnerEverywhere = %d, %v; want 2", n, err)
		}
		for _, s := range []*hub.OwnerSession{b, c} {
			_, err = svc.OwnerSession(f.ctx, s.Token)
			wantCode(t, err, hub.EUnauthorized)
		}

		// A new invitation resets the password and ends the sessions.
		d, _ := svc.LoginOwner(f.ctx, "owner@example.com", "teal-otter-grows-42")
		again, err := svc.InviteOwner(f.ctx, biz, hub.OwnerInput{Email: "owner@example.com"})
		if err != nil || again.Owner.ID != inv.Owner.ID {
			t.Fatalf("second invitation: %v, owner %v", err, again)
		}
		if _, err := svc.AcceptInvitation(f.ctx, again.Token, "purple-kettle-sings-7"); err != nil {
			t.Fatal(err)
		}
		_, err = svc.OwnerSession(f.ctx, d.Token)
		wantCode(t, err, hub.EUnauthorized)
		if _, err := svc.LoginOwner(f.ctx, "owner@example.com", "purple-kettle-sings-7"); err != nil {
			t.Fatal(err)
		}

		// Invitations expire after 72 hours.
		late, _ := svc.InviteOwner(f.ctx, biz, hub.OwnerInput{Email: "late@example.com"})
		f.advance(72 * time.Hour)
		_, err = svc.AcceptInvitation(f.ctx, late.Token, "purple-kettle-sings-7")
		wantCode(t, err, hub.ENotFound)

		// One email, one business.
		other := f.business("Other shop", "till")
		_, err = svc.InviteOwner(f.ctx, other.Business.ID, hub.OwnerInput{Email: "owner@example.com"})
		wantCode(t, err, hub.EConflict)
		_, err = svc.InviteOwner(f.ctx, biz, hub.OwnerInput{Email: "not an email"})
		wantCode(t, err, hub.EValidation)
		_, err = svc.InviteOwner(f.ctx, "b_01JTZ6W1Q9M3N4R5S6T7V8W9XY", hub.OwnerInput{Email: "x@example.com"})
		wantCode(t, err, hub.ENotFound)
		// Another business cannot end this owner's sessions.
		_, err = svc.LogoutOwnerEverywhere(f.ctx, other.Business.ID, inv.Owner.ID)
		wantCode(t, err, hub.ENotFound)
	})
}

func TestOwnerLanguageAndStaffList(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		svc := ownerService(t, f)
		biz := f.pr.Business.ID
		inv, err := svc.InviteOwnerByName(f.ctx, "Café", "lang@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.SetOwnerLanguage(f.ctx, biz, inv.Owner.ID, "th"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, svc.SetOwnerLanguage(f.ctx, biz, inv.Owner.ID, "!!"), hub.EValidation)
		if _, err := svc.AcceptInvitation(f.ctx, inv.Token, "teal-otter-grows-42"); err != nil {
			t.Fatal(err)
		}
		sess, err := svc.LoginOwner(f.ctx, "lang@example.com", "teal-otter-grows-42")
		if err != nil {
			t.Fatal(err)
		}
		if sess.Owner.Language != "th" {
			t.Errorf("language = %q, want th", sess.Owner.Language)
		}
		_, err = svc.InviteOwnerByName(f.ctx, "No such business", "x@example.com")
		wantCode(t, err, hub.ENotFound)

		if _, err := svc.CreateStaff(f.ctx, biz, hub.StaffInput{Login: "bob"}); err != nil {
			t.Fatal(err)
		}
		staff, err := svc.StaffList(f.ctx, biz)
		if err != nil {
			t.Fatal(err)
		}
		var logins []string
		for _, s := range staff {
			logins = append(logins, s.Login)
		}
		if diff := cmp.Diff([]string{"anna", "bob"}, logins); diff != "" {
			t.Errorf("staff (-want +got):\n%s", diff)
		}
	})
}

func TestOwnersUnavailableWithoutHasher(t *testing.T) {
	st := sqltest.Open(t, sqlstore.DialectSQLite)
	f := newFixture(t, st)
	_, err := f.svc.LoginOwner(f.ctx, "a@example.com", "teal-otter-grows-42")
	wantCode(t, err, hub.EUnavailable)
}
