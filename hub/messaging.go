package hub

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Channels a message can travel on. Consent, contact points and the delivery
// ledger are kept per channel.
const (
	ChannelEmail    = "email"
	ChannelPush     = "push"
	ChannelTelegram = "telegram"
	ChannelWhatsApp = "whatsapp"
	ChannelViber    = "viber"
)

// ProviderGateway is the messenger gateway: a provider that carries WhatsApp,
// Telegram and Viber messages for a business instead of the direct providers.
const ProviderGateway = "gateway"

// Message is one message to one customer on one channel, as handed to a
// provider's sender. The router fills in the address and, for WhatsApp, the
// end of the customer-service window.
type Message struct {
	// DeliveryID is the ledger row's id (dlv_…); providers that accept an
	// idempotency key get it.
	DeliveryID string
	BusinessID string
	CustomerID string
	// Channel is one of the Channel* names.
	Channel string
	// To is the address on the channel: a Telegram chat id, a phone number in
	// E.164 for WhatsApp, a Viber user id, an email address, or a card id for
	// PUSH.
	To       string
	Language string
	// Subject is the email subject.
	Subject string
	// Text is the plain-text body; every channel has one.
	Text string
	// HTML is the email's HTML body; empty means text only.
	HTML string
	// Template is the approved WhatsApp template to use outside the window.
	Template *ApprovedTemplate
	// UnsubscribeURL is the one-click opt-out URL (email List-Unsubscribe).
	UnsubscribeURL string
	// WindowUntil is when the WhatsApp customer-service window closes (zero:
	// no inbound message yet, the window is closed).
	WindowUntil time.Time
	// Devices are the wallet devices registered for a PUSH message's pass.
	Devices []PassDevice
}

// ApprovedTemplate names an approved WhatsApp message template.
type ApprovedTemplate struct {
	Name     string   `json:"name"`
	Language string   `json:"language"`
	Params   []string `json:"params,omitempty"`
}

// PassDevice is a device that registered a wallet pass for updates.
type PassDevice struct {
	// DeviceID is the device library identifier (Apple) or "google".
	DeviceID string `json:"device_id"`
	// PushToken is the APNs token of the device.
	PushToken string `json:"push_token"`
}

// Receipt is what a provider answered to an accepted message.
type Receipt struct {
	// ProviderMessageID identifies the message at the provider, for status
	// callbacks.
	ProviderMessageID string
	// GoneDevices are PUSH devices the provider reported as unregistered
	// (APNs 410); the router forgets them.
	GoneDevices []string
}

// SendErrorKind says what to do after a failed send.
type SendErrorKind int

// Kinds of send errors.
const (
	// SendTransient: retry with backoff.
	SendTransient SendErrorKind = iota
	// SendPermanent: never retry; when Unreachable is set the contact is marked
	// unreachable on the channel.
	SendPermanent
	// SendRateLimited: the provider asked to slow down; back off every worker
	// for the scope, retry after RetryAfter, and do not count a failure.
	SendRateLimited
)

// Rate-limit scopes a SendError can name.
const (
	// ScopeSender is the whole bot, phone number or account.
	ScopeSender = "sender"
	// ScopeRecipient is one chat or recipient.
	ScopeRecipient = "recipient"
)

// SendError is a provider's refusal, classified.
type SendError struct {
	Kind SendErrorKind
	// Code is the provider's own error code ("131047", "403", "5").
	Code string
	// Reason is a short stable word: blocked, unsubscribed, bad_address,
	// window_closed, rate_limited, timeout, provider_error, …
	Reason string
	// Unreachable marks the contact unreachable on the channel (permanent only).
	Unreachable bool
	// MaybeSent is set when the provider may have accepted the message (a
	// timeout after the request was written); the router then records the
	// delivery as unknown instead of sending again.
	MaybeSent bool
	// RetryAfter is the provider's requested pause (rate limited).
	RetryAfter time.Duration
	// Scope is ScopeSender or ScopeRecipient (rate limited).
	Scope string
	// Err is the underlying error.
	Err error
}

// Error implements error.
func (e *SendError) Error() string {
	kind := [...]string{"transient", "permanent", "rate limited"}[e.Kind]
	s := fmt.Sprintf("%s send error", kind)
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}
	if e.Code != "" {
		s += " code " + e.Code
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *SendError) Unwrap() error { return e.Err }

// AsSendError classifies any error: a *SendError in the chain as is, anything
// else as transient.
func AsSendError(err error) *SendError {
	var se *SendError
	if errors.As(err, &se) {
		return se
	}
	return &SendError{Kind: SendTransient, Reason: "error", Err: err}
}

// RateLimit is a provider limit the router enforces through shared counters
// before sending (all workers of all processes share them).
type RateLimit struct {
	// Key names the counter, e.g. "telegram:<bot id>" or "telegram:<bot id>:<chat>".
	Key string
	// PerSecond is the sustained rate; Burst the requests allowed at once
	// (at least 1).
	PerSecond float64
	Burst     int
}

// InboundRequest is a provider's call to one of the hub's inbound endpoints
// (webhooks of Telegram, WhatsApp, Viber, the gateway), read in full. The
// domain carries it to the provider's decoder without reading it.
type InboundRequest struct {
	Method string
	// Header holds the call's headers under their canonical names, as
	// net/http keeps them (the decoders read it as an http.Header).
	Header map[string][]string
	Query  url.Values
	Body   []byte
}

// InboundReply is the body the hub answers a provider with when the call
// was accepted: WhatsApp's verification echoes hub.challenge, everything
// else gets an empty body. A call refused is an error of the hub instead,
// which the HTTP layer maps to its status as every other error.
type InboundReply struct {
	ContentType string
	Body        []byte
}

// Inbound event types decoded from providers' calls.
const (
	// InboundLink: a customer opened a link (Telegram /start <token>, Viber
	// conversation_started with context) and should be linked to Address.
	InboundLink = "link"
	// InboundMessage: the customer wrote to us (opens WhatsApp's window).
	InboundMessage = "message"
	// InboundStop: the customer opted out (Telegram /stop, Viber unsubscribed).
	InboundStop = "stop"
	// InboundSubscribed: the customer subscribed again (Viber subscribed).
	InboundSubscribed = "subscribed"
	// InboundStatus: the provider reports a message's state.
	InboundStatus = "status"
)

// Delivery statuses a provider can report after sending.
const (
	ProviderDelivered = "delivered"
	ProviderRead      = "read"
	ProviderFailed    = "failed"
	ProviderSent      = "sent"
)

// Inbound is one decoded event of a provider's call.
type Inbound struct {
	Type    string
	Channel string
	// Address is the customer's address on the channel (chat id, phone, user id).
	Address string
	// Token is the one-time link token (InboundLink).
	Token string
	// ProviderMessageID and Status describe a message's state (InboundStatus);
	// Reason explains a failure.
	ProviderMessageID string
	Status            string
	Reason            string
	// DeliveryID is the hub's own delivery id, for providers that echo it
	// back (the messenger gateway). When set it names the delivery, and
	// ProviderMessageID is only a fallback.
	DeliveryID string
	// Name is the customer's display name at the provider, when given.
	Name string
	At   time.Time
}
