package console

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
)

// loginData is the login form's state.
type loginData struct {
	Email string
	// Minutes is how long a throttled client waits.
	Minutes int
}

func (s *server) loginForm(w http.ResponseWriter, r *http.Request) {
	if _, err := s.currentSession(r); err == nil {
		http.Redirect(w, r, Prefix+"/api-keys", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", &view{Title: "login.title", Data: loginData{}})
}

// login checks the throttles, then the email and password, and starts a
// session.
func (s *server) login(w http.ResponseWriter, r *http.Request) {
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	pw := r.PostFormValue("password")
	v := &view{Title: "login.title", Data: loginData{Email: email}}
	ctx := r.Context()
	ip := s.clientIP(r)
	if !s.throttle(w, r, "login", v, [2]string{"ip:" + ip, "account:" + email},
		func(minutes int) any { return loginData{Email: email, Minutes: minutes} }) {
		return
	}
	sess, err := s.svc.LoginOwner(ctx, email, pw)
	if err != nil {
		if hub.ErrorCode(err) == hub.EUnauthorized {
			s.log.InfoContext(ctx, "console login failed", "client", ip)
			v.ErrorID = "login.wrong"
			s.render(w, r, http.StatusUnauthorized, "login", v)
			return
		}
		s.render(w, r, status(err), "login", withError(v, err))
		return
	}
	if err := s.account.Reset(ctx, "account:"+email); err != nil {
		s.log.WarnContext(ctx, "resetting the login throttle failed", "err", err)
	}
	s.setSession(w, sess)
	http.Redirect(w, r, Prefix+"/api-keys", http.StatusSeeOther)
}

func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(s.cookieName()); err == nil {
		if err := s.svc.LogoutOwner(r.Context(), c.Value); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.clearSession(w)
	http.Redirect(w, r, Prefix+"/login?done=logged_out", http.StatusSeeOther)
}

func (s *server) logoutEverywhere(w http.ResponseWriter, r *http.Request) {
	sess := session(r)
	if _, err := s.svc.LogoutOwnerEverywhere(r.Context(), sess.BusinessID, sess.OwnerID); err != nil {
		s.fail(w, r, err)
		return
	}
	s.clearSession(w)
	http.Redirect(w, r, Prefix+"/login?done=logged_out_everywhere", http.StatusSeeOther)
}

// throttle asks the per-address and the per-account throttle (keys, in
// that order) for one more attempt at the page ("login" or "reset"). When
// one refuses, or cannot answer (then no guess goes through unmetered), it
// answers with the page, 429 with Retry-After and the message
// "<page>.throttled" (data gives the form's state with the minutes to
// wait) or 503, and returns false.
func (s *server) throttle(w http.ResponseWriter, r *http.Request, page string, v *view, keys [2]string, data func(minutes int) any) bool {
	ctx := r.Context()
	what := page
	if page == "reset" {
		what = "password reset"
	}
	for i, t := range []Throttle{s.address, s.account} {
		ok, wait, err := t.Allow(ctx, keys[i])
		if err != nil {
			s.log.ErrorContext(ctx, what+" throttle unavailable", "err", err)
			s.render(w, r, http.StatusServiceUnavailable, page, withError(v, hub.Unavailable("the login throttle", err)))
			return false
		}
		if !ok {
			s.log.WarnContext(ctx, what+" throttled", "key", strings.SplitN(keys[i], ":", 2)[0], "client", s.clientIP(r))
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(wait.Seconds()))))
			v.ErrorID = page + ".throttled"
			v.Data = data(max(1, int((wait+time.Minute-1)/time.Minute)))
			s.render(w, r, http.StatusTooManyRequests, page, v)
			return false
		}
	}
	return true
}

// passwordLink is a one-time link where an owner sets a password: an
// invitation, or a password reset. Both show the same form and differ
// only in how the link is checked and used and in their messages.
type passwordLink struct {
	// check finds the link's invitation; use sets the password through it.
	check func(ctx context.Context, token string) (*hub.Invitation, error)
	use   func(ctx context.Context, token, password string) (*hub.Owner, error)
	// title, intro, label and submit are the page's message ids; gone is
	// the message of a used, expired or unknown link.
	title, intro, label, submit, gone string
}

// invitationLink and resetLink are the console's two password links.
func (s *server) invitationLink() passwordLink {
	return passwordLink{check: s.svc.Invitation, use: s.svc.AcceptInvitation, title: "invitation.title",
		intro: "invitation.intro", label: "invitation.password", submit: "invitation.submit", gone: "invitation.gone"}
}

func (s *server) resetLink() passwordLink {
	return passwordLink{check: s.svc.PasswordReset, use: s.svc.ResetPassword, title: "reset.password.title",
		intro: "reset.password.intro", label: "reset.password.label", submit: "reset.password.submit", gone: "reset.gone"}
}

// setPasswordData is the set-password form's state.
type setPasswordData struct {
	Email                string
	Intro, Label, Submit string
}

// view is the link's form for the invitation's owner.
func (l passwordLink) view(inv *hub.Invitation) *view {
	return &view{Title: l.title, Data: setPasswordData{Email: inv.Owner.Email, Intro: l.intro, Label: l.label, Submit: l.submit}}
}

// passwordForm shows the link's form, or the gone page.
func (s *server) passwordForm(l passwordLink) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		inv, err := l.check(r.Context(), r.PathValue("token"))
		if err != nil {
			s.linkGone(w, r, l, err)
			return
		}
		s.render(w, r, http.StatusOK, "set-password", l.view(inv))
	}
}

// setPassword uses the link: the password is set and the owner goes to the
// login page; a refused password shows the form again with the problem.
func (s *server) setPassword(l passwordLink) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := r.PathValue("token")
		inv, err := l.check(r.Context(), token)
		if err != nil {
			s.linkGone(w, r, l, err)
			return
		}
		if _, err := l.use(r.Context(), token, r.PostFormValue("password")); err != nil {
			if hub.ErrorCode(err) == hub.ENotFound {
				s.linkGone(w, r, l, err)
				return
			}
			s.render(w, r, status(err), "set-password", withError(l.view(inv), err))
			return
		}
		http.Redirect(w, r, Prefix+"/login?done=password_set", http.StatusSeeOther)
	}
}

// linkGone answers a used, expired or unknown link.
func (s *server) linkGone(w http.ResponseWriter, r *http.Request, l passwordLink, err error) {
	if hub.ErrorCode(err) != hub.ENotFound {
		s.fail(w, r, err)
		return
	}
	s.errorPage(w, r, http.StatusNotFound, l.gone)
}

// setLanguage stores the owner's console language and goes back.
func (s *server) setLanguage(w http.ResponseWriter, r *http.Request) {
	sess := session(r)
	lang := r.PostFormValue("language")
	if lang != "" && !supported(lang) {
		s.errorPage(w, r, http.StatusUnprocessableEntity, "error.language")
		return
	}
	if err := s.svc.SetOwnerLanguage(r.Context(), sess.BusinessID, sess.OwnerID, lang); err != nil {
		s.fail(w, r, err)
		return
	}
	back := r.PostFormValue("back")
	if !strings.HasPrefix(back, Prefix+"/") || strings.HasPrefix(back, Prefix+"//") || strings.ContainsAny(back, "\\?#") {
		back = Prefix + "/api-keys"
	}
	http.Redirect(w, r, back+"?done=language_saved", http.StatusSeeOther)
}
