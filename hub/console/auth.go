package console

import (
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
	for _, c := range []struct {
		t   Throttle
		key string
	}{{s.address, "ip:" + ip}, {s.account, "account:" + email}} {
		ok, wait, err := c.t.Allow(ctx, c.key)
		if err != nil {
			// Refuse rather than let guesses through unmetered.
			s.log.ErrorContext(ctx, "login throttle unavailable", "err", err)
			s.render(w, r, http.StatusServiceUnavailable, "login", withError(v, hub.Unavailable("the login throttle", err)))
			return
		}
		if !ok {
			mins := max(1, int((wait+time.Minute-1)/time.Minute))
			s.log.WarnContext(ctx, "login throttled", "key", strings.SplitN(c.key, ":", 2)[0], "client", ip)
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(wait.Seconds()))))
			v.ErrorID = "login.throttled"
			v.Data = loginData{Email: email, Minutes: mins}
			s.render(w, r, http.StatusTooManyRequests, "login", v)
			return
		}
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

// invitationData is the set-password form's state.
type invitationData struct {
	Email string
	Name  string
}

func (s *server) invitationForm(w http.ResponseWriter, r *http.Request) {
	inv, err := s.svc.Invitation(r.Context(), r.PathValue("token"))
	if err != nil {
		s.invitationGone(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "invitation", &view{Title: "invitation.title",
		Data: invitationData{Email: inv.Owner.Email, Name: inv.Owner.Name}})
}

func (s *server) acceptInvitation(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	inv, err := s.svc.Invitation(r.Context(), token)
	if err != nil {
		s.invitationGone(w, r, err)
		return
	}
	if _, err := s.svc.AcceptInvitation(r.Context(), token, r.PostFormValue("password")); err != nil {
		if hub.ErrorCode(err) == hub.ENotFound {
			s.invitationGone(w, r, err)
			return
		}
		v := &view{Title: "invitation.title", Data: invitationData{Email: inv.Owner.Email, Name: inv.Owner.Name}}
		s.render(w, r, status(err), "invitation", withError(v, err))
		return
	}
	http.Redirect(w, r, Prefix+"/login?done=password_set", http.StatusSeeOther)
}

// invitationGone answers a used, expired or unknown invitation link.
func (s *server) invitationGone(w http.ResponseWriter, r *http.Request, err error) {
	if hub.ErrorCode(err) != hub.ENotFound {
		s.fail(w, r, err)
		return
	}
	s.errorPage(w, r, http.StatusNotFound, "invitation.gone")
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
