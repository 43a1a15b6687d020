package walletpush

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/7loc/hub/hub"
	"github.com/sideshow/apns2"
)

// APNs settings of a pass-update push. Apple's Wallet documentation asks for
// an empty JSON dictionary on the pass type id topic; the push wakes Wallet,
// which asks the web service for changed serial numbers and fetches them.
const (
	// PassPushPayload is the body of a pass-update push.
	PassPushPayload = "{}"
	// PassPushType is the apns-push-type: the push shows nothing by itself.
	PassPushType = apns2.PushTypeBackground
	// PassPushPriority is the apns-priority Apple requires with background pushes.
	PassPushPriority = apns2.PriorityLow
	// PassPushTTL is how long APNs keeps a push for an offline device.
	PassPushTTL = 24 * time.Hour
)

// apnsRetryAfter is the pause after APNs' TooManyRequests, which names no
// delay of its own.
const apnsRetryAfter = time.Minute

// pushAPNs sends one pass-update push and classifies APNs' answer.
func (s *Sender) pushAPNs(ctx context.Context, token string) result {
	n := &apns2.Notification{
		DeviceToken: token,
		Topic:       s.apple.passTypeID,
		Payload:     []byte(PassPushPayload),
		PushType:    PassPushType,
		Priority:    PassPushPriority,
		Expiration:  s.now().Add(PassPushTTL),
	}
	res, err := s.apple.apns.PushWithContext(ctx, n)
	if err != nil {
		// Pass pushes carry no state: a repeated push only makes the device
		// fetch the same pass again, so a timeout is never MaybeSent.
		if ctx.Err() != nil {
			return result{err: ctxError(ctx.Err(), false)}
		}
		// Drop the URL (it holds the device token) from transport errors.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = fmt.Errorf("apns: %w", ue.Err)
		}
		return result{err: ctxError(err, false)}
	}
	return classifyAPNs(res)
}

// classifyAPNs maps an APNs response to a device result.
func classifyAPNs(res *apns2.Response) result {
	if res.StatusCode == http.StatusOK {
		return result{reached: true, id: res.ApnsID}
	}
	code := res.Reason
	if code == "" {
		code = strconv.Itoa(res.StatusCode)
	}
	err := fmt.Errorf("apns: %d %s", res.StatusCode, res.Reason)
	se := func(kind hub.SendErrorKind, reason string) result {
		return result{err: &hub.SendError{Kind: kind, Code: code, Reason: reason, Err: err}}
	}
	switch res.StatusCode {
	case http.StatusGone:
		return result{isGone: true}
	case http.StatusBadRequest:
		switch res.Reason {
		case apns2.ReasonBadDeviceToken, apns2.ReasonDeviceTokenNotForTopic:
			return result{isGone: true}
		case apns2.ReasonBadTopic, apns2.ReasonTopicDisallowed, apns2.ReasonMissingTopic:
			return se(hub.SendPermanent, "config")
		case apns2.ReasonIdleTimeout:
			return se(hub.SendTransient, "provider_error")
		}
		return se(hub.SendPermanent, "provider_error")
	case http.StatusForbidden:
		return se(hub.SendPermanent, "config")
	case http.StatusTooManyRequests:
		r := se(hub.SendRateLimited, "rate_limited")
		// TooManyRequests is about one device token: back off this card only.
		r.err.Scope, r.err.RetryAfter = hub.ScopeRecipient, apnsRetryAfter
		if res.Reason == apns2.ReasonTooManyProviderTokenUpdates {
			r.err.Scope = hub.ScopeSender
		}
		return r
	case http.StatusServiceUnavailable:
		return se(hub.SendTransient, "provider_down")
	}
	if res.StatusCode >= 500 {
		return se(hub.SendTransient, "provider_error")
	}
	return se(hub.SendPermanent, "provider_error")
}
