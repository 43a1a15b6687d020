package console

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
)

// resetTimeout bounds the work behind a reset request (lookup and email).
const resetTimeout = time.Minute

// resetData is the "Forgot password?" form's state.
type resetData struct {
	Email string
	// Sent says the request was taken: the one answer, whether or not an
	// account exists.
	Sent bool
	// Minutes is how long a throttled client waits.
	Minutes int
}

func (s *server) resetForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "reset", &view{Title: "reset.title", Data: resetData{}})
}

// requestReset takes a "Forgot password?" request. It answers the same
// whatever the email (no account enumeration), throttled as logins are, and
// leaves the lookup and the email to s.background, so that the answer's
// delay does not tell either.
func (s *server) requestReset(w http.ResponseWriter, r *http.Request) {
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	ctx := r.Context()
	v := &view{Title: "reset.title", Data: resetData{Email: email}}
	ip := s.clientIP(r)
	if !s.throttle(w, r, "reset", v, [2]string{"reset-ip:" + ip, "reset:" + email},
		func(minutes int) any { return resetData{Email: email, Minutes: minutes} }) {
		return
	}
	accept, query := r.Header.Get("Accept-Language"), r.URL.Query().Get("lang")
	compose := func(o *hub.Owner, link string) (string, string) {
		t := s.i18n.translator(s.i18n.choose(query, o.Language, accept, ""))
		return t.T("reset.mail.subject"), t.T("reset.mail.text", "Email", o.Email, "URL", link,
			"Minutes", int(hub.PasswordResetTTL/time.Minute))
	}
	bg := context.WithoutCancel(ctx)
	s.background(func() {
		ctx, cancel := context.WithTimeout(bg, resetTimeout)
		defer cancel()
		sent, err := s.svc.RequestPasswordReset(ctx, email, compose)
		if err != nil {
			s.log.ErrorContext(ctx, "password reset failed", "client", ip, "err", err)
			return
		}
		s.log.InfoContext(ctx, "password reset requested", "client", ip, "sent", sent)
	})
	v.Data = resetData{Sent: true}
	s.render(w, r, http.StatusOK, "reset", v)
}
