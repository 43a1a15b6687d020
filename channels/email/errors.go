package email

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/7loc/hub/hub"
)

// stage is the step of the SMTP session a failure happened in.
type stage int

const (
	// stageConnect: dialing, greeting, EHLO, STARTTLS, AUTH.
	stageConnect stage = iota
	stageMail
	stageRcpt
	// stageData: the DATA command, before any content was sent.
	stageData
	// stageContent: writing the message, before the final dot.
	stageContent
	// stageEndData: the final dot was sent; the answer is awaited.
	stageEndData
)

// failure is what is known of a failed Send, as classify's input.
type failure struct {
	stage stage
	// connected: a TCP connection was made.
	connected bool
	// code and enhanced are the server's reply codes (0 and "" for none).
	code     int
	enhanced string
	// text is the reply text or the error text.
	text string
	// timedOut: the transport timed out or the context ended.
	timedOut bool
	// config: refused for a configuration reason (certificate, no STARTTLS,
	// no usable AUTH mechanism, invalid sender).
	config bool
	// badAddress: go-mail refused the recipient before sending.
	badAddress bool
	err        error
}

// dialFailure describes an error of DialToSMTPClientWithContext.
func (s *session) dialFailure(err error) failure {
	connected, timedOut, _ := s.state()
	f := failure{stage: stageConnect, connected: connected, timedOut: timedOut || isTimeout(err), err: err, text: err.Error()}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		f.code, f.text = tp.Code, tp.Msg
		f.enhanced = enhancedCode(tp.Msg)
	}
	f.config = isConfigError(err)
	return f
}

// sendFailure describes an error of SendWithSMTPClient for an undelivered
// message.
func (s *session) sendFailure(err error) failure {
	connected, timedOut, _ := s.state()
	f := failure{stage: stageEndData, connected: connected, timedOut: timedOut, err: err}
	if err == nil {
		// Not delivered and no error: go-mail never does this; assume the worst.
		f.err = errors.New("email: message not delivered")
		f.text = f.err.Error()
		return f
	}
	f.text = err.Error()
	var se *mail.SendError
	if !errors.As(err, &se) {
		var tp *textproto.Error
		if errors.As(err, &tp) {
			f.code, f.text, f.enhanced = tp.Code, tp.Msg, enhancedCode(tp.Msg)
		}
		return f
	}
	// go-mail's SendError does not unwrap: read its codes and its text, without
	// the recipient and Message-ID it appends.
	f.text = se.Error()
	if i := strings.Index(f.text, ", affected "); i >= 0 {
		f.text = f.text[:i]
	}
	f.code = se.ErrorCode()
	f.enhanced = se.EnhancedStatusCode()
	if f.enhanced == "" && f.code != 0 {
		if m := replyRe.FindStringSubmatch(f.text); m != nil {
			f.enhanced = m[2]
		}
	}
	switch se.Reason {
	case mail.ErrConnCheck:
		f.stage = stageConnect
	case mail.ErrSMTPMailFrom:
		f.stage = stageMail
	case mail.ErrSMTPRcptTo:
		f.stage = stageRcpt
	case mail.ErrSMTPData:
		f.stage = stageData
	case mail.ErrWriteContent:
		f.stage = stageContent
	case mail.ErrGetRcpts:
		f.stage, f.badAddress = stageRcpt, true
	case mail.ErrGetSender, mail.ErrNoUnencoded:
		f.stage, f.config = stageMail, true
	default: // ErrSMTPDataClose and anything unforeseen
		f.stage = stageEndData
	}
	return f
}

var (
	enhancedRe = regexp.MustCompile(`^([245])\.(\d{1,3})\.(\d{1,3})\b`)
	replyRe    = regexp.MustCompile(`\b([245]\d\d)[ -]"?([245]\.\d{1,3}\.\d{1,3})\b`)
	rateRe     = regexp.MustCompile(`(?i)\brate\b|rate[- ]?limit|too many|throttl`)
	retryRe    = regexp.MustCompile(`(?i)\b(?:in|after)\s+(\d{1,5})\s*(seconds?|secs?|s|minutes?|mins?|m)\b`)
)

// enhancedCode returns the RFC 3463 code a reply text starts with.
func enhancedCode(text string) string {
	return enhancedRe.FindString(strings.TrimSpace(text))
}

// isConfigError reports errors only the operator of the account can fix.
func isConfigError(err error) bool {
	var cve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &cve), errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci):
		return true
	case errors.Is(err, mail.ErrPlainAuthNotSupported), errors.Is(err, mail.ErrLoginAuthNotSupported),
		errors.Is(err, mail.ErrNoSupportedAuthDiscovered), errors.Is(err, smtp.ErrUnencrypted),
		errors.Is(err, smtp.ErrWrongHostname):
		return true
	}
	s := err.Error()
	return strings.Contains(s, "does not support STARTTLS") || strings.Contains(s, "does not support SMTP AUTH")
}

// retryAfter reads "try again in 30 seconds"-style hints, capped at an hour.
func retryAfter(text string) time.Duration {
	m := retryRe.FindStringSubmatch(text)
	if m == nil {
		return DefaultRetryAfter
	}
	n, _ := strconv.Atoi(m[1])
	d := time.Duration(n) * time.Second
	if strings.HasPrefix(strings.ToLower(m[2]), "m") {
		d = time.Duration(n) * time.Minute
	}
	if d <= 0 {
		return DefaultRetryAfter
	}
	return min(d, time.Hour)
}

// authCodes are replies to AUTH or to MAIL without AUTH: the credentials or
// the account are wrong.
var authCodes = map[int]bool{530: true, 534: true, 535: true, 538: true}

// classify turns a failure into the router's *hub.SendError.
func classify(f failure) *hub.SendError {
	se := &hub.SendError{Err: f.err}
	if f.code != 0 {
		se.Code = strconv.Itoa(f.code)
		if f.enhanced != "" {
			se.Code += " " + f.enhanced
		}
	}
	policy := strings.HasPrefix(f.enhanced, "5.7.")
	switch {
	case f.badAddress:
		se.Kind, se.Reason, se.Unreachable = hub.SendPermanent, "bad_address", true
	case f.code >= 500 && f.stage == stageRcpt && !policy &&
		(f.code == 550 || f.code == 551 || f.code == 553 ||
			strings.HasPrefix(f.enhanced, "5.1.") || f.enhanced == "5.2.1"):
		// Mailbox unavailable, no such user, bad address, mailbox disabled.
		se.Kind, se.Reason, se.Unreachable = hub.SendPermanent, "bad_address", true
	case f.code >= 500 && (authCodes[f.code] || (f.stage == stageConnect && policy)):
		se.Kind, se.Reason = hub.SendPermanent, "config"
	case f.code >= 500:
		se.Kind, se.Reason = hub.SendPermanent, "rejected"
	case f.code >= 400 && rateRe.MatchString(f.text):
		se.Kind, se.Reason, se.RetryAfter = hub.SendRateLimited, "rate_limited", retryAfter(f.text)
		se.Scope = hub.ScopeSender
		if f.stage == stageRcpt && f.enhanced == "4.2.1" {
			// "The user you are trying to contact is receiving mail at a rate
			// that prevents additional messages from being delivered."
			se.Scope = hub.ScopeRecipient
		}
	case f.code >= 400:
		se.Kind, se.Reason = hub.SendTransient, "provider_error"
	case f.config:
		se.Kind, se.Reason = hub.SendPermanent, "config"
	case f.stage == stageEndData:
		// The whole message was sent and no answer came: it may be queued.
		se.Kind, se.Reason, se.MaybeSent = hub.SendTransient, "timeout", true
	case f.code != 0:
		se.Kind, se.Reason = hub.SendTransient, "provider_error"
	case f.stage == stageConnect && !f.connected:
		se.Kind, se.Reason = hub.SendTransient, "provider_down"
	case f.timedOut:
		se.Kind, se.Reason = hub.SendTransient, "timeout"
	default:
		se.Kind, se.Reason = hub.SendTransient, "provider_down"
	}
	return se
}
