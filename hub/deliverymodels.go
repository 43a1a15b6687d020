package hub

import "time"

// Delivery ledger statuses. A delivery moves pending → sending → sent,
// failed or unknown; a worker that finds it sending (another attempt died
// mid-send) records unknown and never sends again.
const (
	DeliveryPending = "pending"
	DeliverySending = "sending"
	DeliverySent    = "sent"
	DeliveryFailed  = "failed"
	DeliveryUnknown = "unknown"
)

// Delivery is one row of the delivery ledger: one message from one source to
// one customer on one channel. (Source, customer, channel) is unique per
// business, so queueing the same message twice yields the same delivery.
type Delivery struct {
	ID         string `json:"id"`
	BusinessID string `json:"-"`
	// Source names what asked for the message: "test:<id>",
	// "campaign:<id>", "automation:<id>:<event id>" and so on.
	Source     string `json:"source"`
	CustomerID string `json:"customer_id"`
	Channel    string `json:"channel"`
	// Provider is the provider that carried it (the channel's own or
	// "gateway"); empty until a worker claims it.
	Provider          string         `json:"provider"`
	Status            string         `json:"status"`
	Content           MessageContent `json:"-"`
	Attempts          int            `json:"attempts"`
	ProviderMessageID string         `json:"provider_message_id"`
	// ProviderStatus is the last state the provider reported after sending:
	// delivered, read or failed.
	ProviderStatus string     `json:"provider_status"`
	Error          string     `json:"error"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	SentAt         *time.Time `json:"sent_at"`
	// Transactional deliveries (receipts, codes, channel tests) ignore quiet
	// hours and frequency caps, and are not counted by the caps.
	Transactional bool `json:"transactional"`
}

// MessageContent is what a delivery says.
type MessageContent struct {
	Subject  string            `json:"subject,omitempty"`
	Text     string            `json:"text"`
	HTML     string            `json:"html,omitempty"`
	Template *ApprovedTemplate `json:"template,omitempty"`
	// CardID picks the card whose wallet pass a PUSH message updates; empty
	// means the customer's newest card with a registered device.
	CardID string `json:"card_id,omitempty"`
}

// Contact is a customer's address on a messenger channel (Telegram chat,
// Viber user, WhatsApp number) and whether it can be reached.
type Contact struct {
	BusinessID string    `json:"-"`
	CustomerID string    `json:"-"`
	Channel    string    `json:"channel"`
	Address    string    `json:"address"`
	LinkedAt   time.Time `json:"linked_at"`
	Reachable  bool      `json:"reachable"`
	// UnreachableReason says why the provider refused (blocked, bad_address…).
	UnreachableReason string     `json:"unreachable_reason"`
	UnreachableAt     *time.Time `json:"unreachable_at"`
	// LastInboundAt is when the customer last wrote to us on the channel
	// (it opens WhatsApp's 24-hour window).
	LastInboundAt *time.Time `json:"last_inbound_at"`
}

// LinkToken is a one-time token that links a messenger chat to a customer.
// Only its hash is stored.
type LinkToken struct {
	Hash       string
	BusinessID string
	CustomerID string
	Channel    string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	UsedAt     *time.Time
}

// StoredChannelConfig is a channel configuration as the store keeps it: the
// secrets sealed.
type StoredChannelConfig struct {
	BusinessID string
	Provider   string
	Enabled    bool
	Settings   map[string]string
	Sealed     []byte
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// PassRegistration is an Apple Wallet device registered for a card's pass
// updates (or DeviceID "google" for a pass saved to Google Wallet).
type PassRegistration struct {
	BusinessID string
	CardID     string
	PassTypeID string
	DeviceID   string
	PushToken  string
	CreatedAt  time.Time
}

// PassOffer is the message a card's wallet pass shows, set by the last PUSH.
type PassOffer struct {
	BusinessID string
	CardID     string
	Text       string
	UpdatedAt  time.Time
}

// DeliveryFilter selects ledger rows of a business, newest first.
type DeliveryFilter struct {
	BusinessID string
	CustomerID string
	Source     string
	Page       Page
}
