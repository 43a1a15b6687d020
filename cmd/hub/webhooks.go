package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/tasks"
	"github.com/7loc/hub/triggers/webhook"
)

// webhookSender joins the delivery mechanics of triggers/webhook to the
// delivery task of hub/tasks.
type webhookSender struct {
	client *http.Client
	now    func() time.Time
}

func newWebhookSender(allow []netip.Prefix, version string) *webhookSender {
	return &webhookSender{
		client: webhook.NewClient(webhook.Options{AllowCIDRs: allow, UserAgent: "7loc-hub/" + version + " (webhooks)"}),
		now:    time.Now,
	}
}

// Send signs the event with the hook's secrets (both during a rotation),
// posts it, and judges the answer by the retry policy.
func (s *webhookSender) Send(ctx context.Context, h *hub.Hook, e *hub.EventRecord, attempt int) tasks.SendResult {
	now := s.now()
	secrets := []string{h.Secret}
	if h.PreviousSecret != nil && h.PreviousSecretUntil != nil && now.Before(*h.PreviousSecretUntil) {
		secrets = append(secrets, *h.PreviousSecret)
	}
	res := tasks.SendResult{Attempt: hub.DeliveryAttempt{At: now.UTC().Truncate(time.Millisecond)}}
	headers, err := webhook.Headers(secrets, e.ID, now, e.Payload)
	if err != nil {
		msg := "signing failed: " + err.Error()
		res.Attempt.Error, res.Outcome = &msg, hub.AttemptGiveUp
		return res
	}
	a := webhook.Deliver(ctx, s.client, h.TargetURL, headers, e.Payload)
	res.Attempt.DurationMS = a.Duration.Milliseconds()
	res.Attempt.ResponseBody = strings.ToValidUTF8(string(a.ResponseBody), "\uFFFD")
	if a.StatusCode != 0 {
		code := a.StatusCode
		res.Attempt.StatusCode = &code
	}
	if a.Err != nil {
		msg := a.Err.Error()
		res.Attempt.Error = &msg
	} else if a.StatusCode < 200 || a.StatusCode > 299 {
		msg := fmt.Sprintf("HTTP %d", a.StatusCode)
		res.Attempt.Error = &msg
	}
	res.Outcome, res.RetryIn = webhook.Decide(attempt, a.StatusCode, a.RetryAfter, a.Err, now, rand.Float64)
	res.Attempt.Delivered = res.Outcome == hub.AttemptDelivered
	return res
}

// parseCIDRs reads a comma-separated list of address ranges.
func parseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("HUB_WEBHOOK_ALLOW_CIDRS: %q: %w", part, err)
		}
		out = append(out, p)
	}
	return out, nil
}
