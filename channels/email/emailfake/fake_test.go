package emailfake_test

import (
	"errors"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/channels/email/emailfake"
)

const raw = "From: a@shop.example\r\nTo: b@example.org\r\nSubject: Hi\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=XX\r\n\r\n" +
	"--XX\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe\r\n" +
	"--XX\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\nPHA+SGk8L3A+\r\n" +
	"--XX--\r\n"

// send uses the standard library's client, independent of the sender under test.
func send(t *testing.T, f *emailfake.Server, auth smtp.Auth, to ...string) error {
	t.Helper()
	c, err := smtp.Dial(f.Addr())
	if err != nil {
		return err
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := f.ClientTLSConfig()
		cfg.ServerName = f.Host()
		if err := c.StartTLS(cfg); err != nil {
			return err
		}
	}
	if auth != nil {
		if err := c.Auth(auth); err != nil {
			return err
		}
	}
	if err := c.Mail("a@shop.example"); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(raw)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func code(err error) int {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return tp.Code
	}
	return 0
}

func TestRecordsAndParses(t *testing.T) {
	f := emailfake.Start(t, emailfake.Options{StartTLS: true, Username: "u", Password: "p"})
	if err := send(t, f, smtp.PlainAuth("", "u", "p", f.Host()), "b@example.org", "c@example.org"); err != nil {
		t.Fatalf("send: %v", err)
	}
	msgs := f.Messages()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages", len(msgs))
	}
	m := msgs[0]
	if m.From != "a@shop.example" || !cmp.Equal(m.To, []string{"b@example.org", "c@example.org"}) || !m.TLS || m.AuthUser != "u" {
		t.Errorf("envelope %q %q tls=%v auth=%q", m.From, m.To, m.TLS, m.AuthUser)
	}
	if got := m.Header.Get("Subject"); got != "Hi" {
		t.Errorf("Subject = %q", got)
	}
	parts, err := m.Parts()
	if err != nil {
		t.Fatal(err)
	}
	type p struct{ MediaType, Parent, Body string }
	var got []p
	for _, x := range parts {
		got = append(got, p{x.MediaType, x.Parent, x.Body})
	}
	want := []p{{"text/plain", "multipart/alternative", "Grüße"}, {"text/html", "multipart/alternative", "<p>Hi</p>"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
	if html, ok := m.Part("text/html"); !ok || html.Body != "<p>Hi</p>" {
		t.Errorf("Part(text/html) = %+v, %v", html, ok)
	}
}

func TestScripts(t *testing.T) {
	tests := []struct {
		name     string
		opt      emailfake.Options
		script   func(*emailfake.Server)
		auth     func(*emailfake.Server) smtp.Auth
		wantCode int
		wantMsgs int
	}{
		{name: "accepts", wantMsgs: 1},
		{name: "reject rcpt", script: func(f *emailfake.Server) { f.RejectRcpt("B@example.org", emailfake.NoSuchUser()) }, wantCode: 550},
		{name: "fail next any", script: func(f *emailfake.Server) { f.FailNext(1, emailfake.Temporary()) }, wantCode: 451},
		{name: "fail next data", script: func(f *emailfake.Server) {
			f.FailNext(1, emailfake.Failure{Stage: emailfake.StageData, Code: 554, Enhanced: "5.6.0"})
		}, wantCode: 554},
		{name: "fail next connect", script: func(f *emailfake.Server) {
			f.FailNext(1, emailfake.Failure{Stage: emailfake.StageConnect, Code: 421, Enhanced: "4.7.0", Message: "Too many connections"})
		}, wantCode: 421},
		{name: "auth required", opt: emailfake.Options{StartTLS: true, Username: "u", Password: "p"}, wantCode: 530},
		{name: "wrong password", opt: emailfake.Options{StartTLS: true, Username: "u", Password: "p"},
			auth: func(f *emailfake.Server) smtp.Auth { return smtp.PlainAuth("", "u", "x", f.Host()) }, wantCode: 535},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := emailfake.Start(t, tt.opt)
			if tt.script != nil {
				tt.script(f)
			}
			var auth smtp.Auth
			if tt.auth != nil {
				auth = tt.auth(f)
			}
			err := send(t, f, auth, "b@example.org")
			if got := code(err); got != tt.wantCode {
				t.Errorf("reply code = %d (%v), want %d", got, err, tt.wantCode)
			}
			if n := len(f.Messages()); n != tt.wantMsgs {
				t.Errorf("recorded %d messages, want %d", n, tt.wantMsgs)
			}
			// Scripted failures are used once.
			if tt.auth == nil && !strings.Contains(tt.name, "auth") && tt.name != "reject rcpt" {
				if err := send(t, f, nil, "b@example.org"); err != nil {
					t.Errorf("second send: %v", err)
				}
			}
		})
	}
}

func TestDownAndUp(t *testing.T) {
	f := emailfake.Start(t, emailfake.Options{})
	addr := f.Addr()
	// An open idle connection is cut too.
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if err := f.SetDown(true); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("dial succeeded while down")
	}
	_ = idle.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 512)
	for {
		if _, err := idle.Read(buf); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Error("idle connection still open while down")
			}
			break
		}
	}
	if err := f.SetDown(false); err != nil {
		t.Fatal(err)
	}
	if f.Addr() != addr {
		t.Errorf("address changed: %s -> %s", addr, f.Addr())
	}
	if err := send(t, f, nil, "b@example.org"); err != nil {
		t.Errorf("send after up: %v", err)
	}
}

func TestDataDelayRecordsFirst(t *testing.T) {
	f := emailfake.Start(t, emailfake.Options{})
	f.SetDataDelay(200 * time.Millisecond)
	start := time.Now()
	if err := send(t, f, nil, "b@example.org"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("answered after %v, want >= 200ms", d)
	}
}

func TestConcurrentUse(t *testing.T) {
	f := emailfake.Start(t, emailfake.Options{})
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if err := send(t, f, nil, "b@example.org"); err != nil {
				t.Errorf("send: %v", err)
			}
		})
		wg.Go(func() { _ = f.Messages(); f.RejectRcpt("x@example.org", emailfake.NoSuchUser()) })
	}
	wg.Wait()
	if n := len(f.Messages()); n != 10 {
		t.Errorf("recorded %d, want 10", n)
	}
	if f.Connections() < 10 {
		t.Errorf("connections = %d", f.Connections())
	}
}
