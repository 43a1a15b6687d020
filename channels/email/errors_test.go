package email

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/7loc/hub/hub"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		in   failure
		want hub.SendError
	}{
		{"550 on RCPT", failure{stage: stageRcpt, code: 550, enhanced: "5.1.1", text: "5.1.1 No such user"},
			hub.SendError{Kind: hub.SendPermanent, Code: "550 5.1.1", Reason: "bad_address", Unreachable: true}},
		{"551 on RCPT without enhanced code", failure{stage: stageRcpt, code: 551, text: "User not local"},
			hub.SendError{Kind: hub.SendPermanent, Code: "551", Reason: "bad_address", Unreachable: true}},
		{"553 on RCPT", failure{stage: stageRcpt, code: 553, enhanced: "5.1.3"},
			hub.SendError{Kind: hub.SendPermanent, Code: "553 5.1.3", Reason: "bad_address", Unreachable: true}},
		{"554 5.2.1 mailbox disabled on RCPT", failure{stage: stageRcpt, code: 554, enhanced: "5.2.1"},
			hub.SendError{Kind: hub.SendPermanent, Code: "554 5.2.1", Reason: "bad_address", Unreachable: true}},
		{"550 5.7.1 policy on RCPT", failure{stage: stageRcpt, code: 550, enhanced: "5.7.1"},
			hub.SendError{Kind: hub.SendPermanent, Code: "550 5.7.1", Reason: "rejected"}},
		{"552 mailbox full on RCPT", failure{stage: stageRcpt, code: 552, enhanced: "5.2.2"},
			hub.SendError{Kind: hub.SendPermanent, Code: "552 5.2.2", Reason: "rejected"}},
		{"550 on MAIL", failure{stage: stageMail, code: 550, enhanced: "5.1.0"},
			hub.SendError{Kind: hub.SendPermanent, Code: "550 5.1.0", Reason: "rejected"}},
		{"535 on AUTH", failure{stage: stageConnect, connected: true, code: 535, enhanced: "5.7.8"},
			hub.SendError{Kind: hub.SendPermanent, Code: "535 5.7.8", Reason: "config"}},
		{"530 on MAIL", failure{stage: stageMail, code: 530, enhanced: "5.7.0"},
			hub.SendError{Kind: hub.SendPermanent, Code: "530 5.7.0", Reason: "config"}},
		{"554 5.7.1 greeting", failure{stage: stageConnect, connected: true, code: 554, enhanced: "5.7.1", text: "5.7.1 Client host blocked"},
			hub.SendError{Kind: hub.SendPermanent, Code: "554 5.7.1", Reason: "config"}},
		{"554 after DATA", failure{stage: stageEndData, code: 554, enhanced: "5.6.0"},
			hub.SendError{Kind: hub.SendPermanent, Code: "554 5.6.0", Reason: "rejected"}},
		{"421 too many", failure{stage: stageMail, code: 421, enhanced: "4.7.0", text: "4.7.0 Too many messages"},
			hub.SendError{Kind: hub.SendRateLimited, Code: "421 4.7.0", Reason: "rate_limited", RetryAfter: time.Minute, Scope: hub.ScopeSender}},
		{"421 rate limited with a pause", failure{stage: stageConnect, connected: true, code: 421, text: "Rate limited, try again in 30 seconds"},
			hub.SendError{Kind: hub.SendRateLimited, Code: "421", Reason: "rate_limited", RetryAfter: 30 * time.Second, Scope: hub.ScopeSender}},
		{"451 throttled", failure{stage: stageEndData, code: 451, enhanced: "4.7.0", text: "4.7.0 Throttled"},
			hub.SendError{Kind: hub.SendRateLimited, Code: "451 4.7.0", Reason: "rate_limited", RetryAfter: time.Minute, Scope: hub.ScopeSender}},
		{"450 4.2.1 on RCPT", failure{stage: stageRcpt, code: 450, enhanced: "4.2.1", text: "4.2.1 receiving mail at a rate that prevents delivery"},
			hub.SendError{Kind: hub.SendRateLimited, Code: "450 4.2.1", Reason: "rate_limited", RetryAfter: time.Minute, Scope: hub.ScopeRecipient}},
		{"421 shutting down", failure{stage: stageMail, code: 421, enhanced: "4.3.2", text: "4.3.2 Service shutting down"},
			hub.SendError{Kind: hub.SendTransient, Code: "421 4.3.2", Reason: "provider_error"}},
		{"450 on RCPT", failure{stage: stageRcpt, code: 450, enhanced: "4.2.0", text: "4.2.0 Greylisted"},
			hub.SendError{Kind: hub.SendTransient, Code: "450 4.2.0", Reason: "provider_error"}},
		{"451 after DATA", failure{stage: stageEndData, code: 451},
			hub.SendError{Kind: hub.SendTransient, Code: "451", Reason: "provider_error"}},
		{"452 on RCPT", failure{stage: stageRcpt, code: 452, enhanced: "4.5.3", text: "4.5.3 Insufficient system storage"},
			hub.SendError{Kind: hub.SendTransient, Code: "452 4.5.3", Reason: "provider_error"}},
		{"no answer after the dot", failure{stage: stageEndData, connected: true, timedOut: true},
			hub.SendError{Kind: hub.SendTransient, Reason: "timeout", MaybeSent: true}},
		{"connection lost after the dot", failure{stage: stageEndData, connected: true},
			hub.SendError{Kind: hub.SendTransient, Reason: "timeout", MaybeSent: true}},
		{"timeout writing content", failure{stage: stageContent, connected: true, timedOut: true},
			hub.SendError{Kind: hub.SendTransient, Reason: "timeout"}},
		{"timeout waiting for 354", failure{stage: stageData, connected: true, timedOut: true},
			hub.SendError{Kind: hub.SendTransient, Reason: "timeout"}},
		{"connection lost on RCPT", failure{stage: stageRcpt, connected: true},
			hub.SendError{Kind: hub.SendTransient, Reason: "provider_down"}},
		{"refused", failure{stage: stageConnect},
			hub.SendError{Kind: hub.SendTransient, Reason: "provider_down"}},
		{"dial timeout", failure{stage: stageConnect, timedOut: true},
			hub.SendError{Kind: hub.SendTransient, Reason: "provider_down"}},
		{"greeting timeout", failure{stage: stageConnect, connected: true, timedOut: true},
			hub.SendError{Kind: hub.SendTransient, Reason: "timeout"}},
		{"certificate", failure{stage: stageConnect, connected: true, config: true},
			hub.SendError{Kind: hub.SendPermanent, Reason: "config"}},
		{"recipient refused by go-mail", failure{stage: stageRcpt, badAddress: true},
			hub.SendError{Kind: hub.SendPermanent, Reason: "bad_address", Unreachable: true}},
		{"unexpected 250 to DATA", failure{stage: stageData, code: 250},
			hub.SendError{Kind: hub.SendTransient, Code: "250", Reason: "provider_error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cause := errors.New("cause")
			tt.in.err = cause
			got := classify(tt.in)
			if diff := cmp.Diff(tt.want, *got, cmpopts.IgnoreFields(hub.SendError{}, "Err")); diff != "" {
				t.Errorf("classify (-want +got):\n%s", diff)
			}
			if !errors.Is(got, cause) {
				t.Errorf("classify lost the cause: %v", got)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		text string
		want time.Duration
	}{
		{"Too many messages", DefaultRetryAfter},
		{"try again in 30 seconds", 30 * time.Second},
		{"Try again after 2 minutes", 2 * time.Minute},
		{"retry in 15s", 15 * time.Second},
		{"wait in 10 min", 10 * time.Minute},
		{"try again in 999 minutes", time.Hour},
		{"try again in 0 seconds", DefaultRetryAfter},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.text); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestEnhancedCode(t *testing.T) {
	tests := map[string]string{
		"5.1.1 No such user":     "5.1.1",
		" 4.7.0 Too many":        "4.7.0",
		"No such user":           "",
		"5.1.1x":                 "",
		"2.0.0 OK":               "2.0.0",
		"3.1.1 not a class":      "",
		"5.100.100 long numbers": "5.100.100",
	}
	for in, want := range tests {
		if got := enhancedCode(in); got != want {
			t.Errorf("enhancedCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestComposeHelpers(t *testing.T) {
	for s, want := range map[string]bool{"dlv_01HZX": true, "a.b": true, "": false, ".a": false, "a..b": false, "a b": false, "a@b": false, "a>b": false} {
		if got := isDotAtom(s); got != want {
			t.Errorf("isDotAtom(%q) = %v", s, got)
		}
	}
	for s, want := range map[string]bool{"en": true, "pt-BR": true, "zh-Hant-TW": true, "": false, "en_US": false, "de\r\nX: y": false, "toolongsubtag": false} {
		if got := isLanguageTag(s); got != want {
			t.Errorf("isLanguageTag(%q) = %v", s, got)
		}
	}
}

func TestReplyCodeInGoMailText(t *testing.T) {
	for in, want := range map[string]string{
		`sending SMTP RCPT TO command: 550 "5.1.1 No such user here"`: "5.1.1",
		`sending SMTP MAIL FROM command: 421 4.7.0 Too many`:          "4.7.0",
		`sending SMTP MAIL FROM command: 421 Too many`:                "",
	} {
		got := ""
		if m := replyRe.FindStringSubmatch(in); m != nil {
			got = m[2]
		}
		if got != want {
			t.Errorf("replyRe on %q = %q, want %q", in, got, want)
		}
	}
}
