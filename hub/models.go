package hub

import (
	"encoding/json"
	"time"
)

// Business is a tenant: a café, salon or shop. Every other object belongs to one.
type Business struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	Timezone        string    `json:"timezone"`
	DefaultLanguage string    `json:"default_language"`
	CreatedAt       time.Time `json:"created_at"`
}

// Location is a shop or branch of a business.
type Location struct {
	ID         string    `json:"id"`
	BusinessID string    `json:"-"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
}

// Staff is a staff login of a business; it holds at most one active API key.
type Staff struct {
	ID         string    `json:"id"`
	BusinessID string    `json:"-"`
	Login      string    `json:"login"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
}

// API key statuses.
const (
	KeyActive  = "active"
	KeyRevoked = "revoked"
)

// APIKey is a staff login's key. Only its hash is stored; Key holds the full
// key once, in the response that creates or regenerates it.
type APIKey struct {
	ID         string     `json:"id"`
	BusinessID string     `json:"-"`
	StaffID    string     `json:"-"`
	Name       string     `json:"name"`
	Login      string     `json:"login"`
	MaskedKey  string     `json:"masked_key"`
	Status     string     `json:"status"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	Hash       string     `json:"-"`
	Key        string     `json:"key,omitempty"`
}

// Principal is who an API call acts as: a key, its staff login and business.
type Principal struct {
	KeyID    string
	Business Business
	Staff    Staff
	// LastUsedAt is when the key was last recorded as used.
	LastUsedAt *time.Time
}

// Reward is what reaching a goal gives.
type Reward struct {
	Title       string  `json:"title"`
	Description *string `json:"description"`
}

// Goal is a stamp count on a card template with its reward.
type Goal struct {
	Stamps int    `json:"stamps"`
	Reward Reward `json:"reward"`
}

// Prize is one weighted lottery prize.
type Prize struct {
	Title  string `json:"title"`
	Weight int    `json:"weight"`
}

// Lottery is a card template's optional lottery: a prize is drawn with
// probability weight/(sum of weights + LoseWeight).
type Lottery struct {
	Prizes     []Prize `json:"prizes"`
	LoseWeight int     `json:"lose_weight"`
}

// CardTemplate describes a kind of stamp card: its goals and optional lottery.
// Templates are immutable once created.
type CardTemplate struct {
	ID         string   `json:"id"`
	BusinessID string   `json:"-"`
	Name       string   `json:"name"`
	Goals      []Goal   `json:"goals"`
	Lottery    *Lottery `json:"lottery"`
	// Earning turns a sale into stamps; null earns one stamp per sale.
	Earning   *Earning  `json:"earning"`
	CreatedAt time.Time `json:"created_at"`
}

// Consent is a customer's answer for one channel.
type Consent struct {
	Granted bool      `json:"granted"`
	Source  string    `json:"source"`
	At      time.Time `json:"at"`
}

// Channels a customer can consent to.
var Channels = []string{"email", "push", "telegram", "whatsapp", "viber"}

// Customer is a person holding cards of a business, found by email or phone.
type Customer struct {
	ID           string             `json:"id"`
	BusinessID   string             `json:"-"`
	Email        *string            `json:"email"`
	Phone        *string            `json:"phone"`
	Name         *string            `json:"name"`
	Language     string             `json:"language"`
	Birthday     *string            `json:"birthday"`
	WalletPassID *string            `json:"wallet_pass_id"`
	Consent      map[string]Consent `json:"consent"`
	CreatedAt    time.Time          `json:"created_at"`
	UpdatedAt    time.Time          `json:"updated_at"`
}

// Card statuses.
const CardActive = "active"

// GoalState is a goal as shown on a card.
type GoalState struct {
	Index   int         `json:"index"`
	Stamps  int         `json:"stamps"`
	Reward  RewardTitle `json:"reward"`
	Reached bool        `json:"reached"`
}

// RewardTitle names a reward or prize.
type RewardTitle struct {
	Title string `json:"title"`
}

// Card is a customer's stamp card of one template.
type Card struct {
	ID           string      `json:"id"`
	BusinessID   string      `json:"-"`
	TemplateID   string      `json:"template_id"`
	CustomerID   string      `json:"-"`
	Customer     *Customer   `json:"customer"`
	WalletPassID string      `json:"wallet_pass_id"`
	Stamps       int         `json:"stamps"`
	StampsTotal  int         `json:"stamps_total"`
	GoalIndex    int         `json:"goal_index"`
	Goals        []GoalState `json:"goals"`
	Cycle        int         `json:"cycle"`
	Status       string      `json:"status"`
	PageURL      string      `json:"page_url"`
	PageToken    string      `json:"-"`
	CreatedAt    time.Time   `json:"created_at"`
	UpdatedAt    time.Time   `json:"updated_at"`
	LastStampAt  *time.Time  `json:"last_stamp_at"`
	LastOpenedAt *time.Time  `json:"-"`
}

// Voucher types and statuses.
const (
	VoucherTypeVoucher = "voucher"
	VoucherTypeReward  = "reward"

	VoucherIssued   = "issued"
	VoucherRedeemed = "redeemed"
	VoucherExpired  = "expired"
)

// Redeem code formats and redemption channels.
var (
	RedeemCodeFormats = []string{"text", "qr", "barcode"}
	RedeemedVia       = []string{"api", "pos", "staff_scanner"}
)

// VoucherTemplate is a reusable voucher definition.
type VoucherTemplate struct {
	ID                string    `json:"id"`
	BusinessID        string    `json:"-"`
	Title             string    `json:"title"`
	Description       *string   `json:"description"`
	RedeemCodeFormats []string  `json:"redeem_code_formats"`
	ValidDays         *int      `json:"valid_days"`
	CreatedAt         time.Time `json:"created_at"`
}

// Voucher is a redeemable offer or reward held by a customer.
type Voucher struct {
	ID                string     `json:"id"`
	BusinessID        string     `json:"-"`
	Type              string     `json:"type"`
	TemplateID        *string    `json:"-"`
	Title             string     `json:"title"`
	Description       *string    `json:"description"`
	RedeemCode        string     `json:"redeem_code"`
	RedeemCodeFormats []string   `json:"redeem_code_formats"`
	Status            string     `json:"status"`
	CustomerID        string     `json:"customer_id"`
	CardID            *string    `json:"card_id"`
	GoalIndex         *int       `json:"goal_index"`
	ExpiresAt         *time.Time `json:"expires_at"`
	RedeemedAt        *time.Time `json:"redeemed_at"`
	RedeemedVia       *string    `json:"redeemed_via"`
	LocationID        *string    `json:"location_id"`
	CreatedAt         time.Time  `json:"created_at"`
}

// StatusAt is the voucher's status at a time: an issued voucher past its
// expiry reads as expired even before the expiry sweep records it.
func (v *Voucher) StatusAt(now time.Time) string {
	if v.Status == VoucherIssued && v.ExpiresAt != nil && !now.Before(*v.ExpiresAt) {
		return VoucherExpired
	}
	return v.Status
}

// EventType names one of the fourteen kinds of event.
type EventType string

// The event types of the public contract.
const (
	CardIssued        EventType = "card_issued"
	CardSaved         EventType = "card_saved"
	CardOpened        EventType = "card_opened"
	StampAdded        EventType = "stamp_added"
	GoalReached       EventType = "goal_reached"
	RewardIssued      EventType = "reward_issued"
	VoucherIssuedEv   EventType = "voucher_issued"
	VoucherRedeemedEv EventType = "voucher_redeemed"
	VoucherExpiredEv  EventType = "voucher_expired"
	LotteryPlayed     EventType = "lottery_played"
	BirthdayReached   EventType = "birthday_reached"
	InactivityTrigger EventType = "inactivity_trigger"
	CampaignSent      EventType = "campaign_sent"
)

// EventTypes lists every event type in a stable order.
var EventTypes = []EventType{
	CardIssued, CardSaved, CardOpened, StampAdded, GoalReached, RewardIssued,
	VoucherIssuedEv, VoucherRedeemedEv, VoucherExpiredEv, LotteryPlayed,
	BirthdayReached, InactivityTrigger, CampaignSent, SaleRefundedEv,
}

// ValidEventType reports whether name is one of the fourteen event types.
func ValidEventType(name string) bool {
	for _, t := range EventTypes {
		if string(t) == name {
			return true
		}
	}
	return false
}

// EventCustomer is the customer as an event shows it.
type EventCustomer struct {
	ID           string  `json:"id"`
	WalletPassID *string `json:"wallet_pass_id"`
	Language     string  `json:"language"`
	Email        *string `json:"email"`
	Phone        *string `json:"phone"`
	Name         *string `json:"name"`
}

// EventCard is the card as an event shows it.
type EventCard struct {
	ID          string `json:"id"`
	TemplateID  string `json:"template_id"`
	Stamps      int    `json:"stamps"`
	StampsTotal int    `json:"stamps_total"`
	GoalIndex   int    `json:"goal_index"`
	Cycle       int    `json:"cycle"`
}

// EventVoucher is the voucher as an event shows it.
type EventVoucher struct {
	ID                string     `json:"id"`
	Type              string     `json:"type"`
	Title             string     `json:"title"`
	RedeemCode        string     `json:"redeem_code"`
	RedeemCodeFormats []string   `json:"redeem_code_formats"`
	Status            string     `json:"status"`
	RedeemedVia       *string    `json:"redeemed_via"`
	ExpiresAt         *time.Time `json:"expires_at"`
}

// LotteryOutcome is the result of one lottery play.
type LotteryOutcome struct {
	Won   bool         `json:"won"`
	Prize *RewardTitle `json:"prize"`
}

// EventCampaign is a campaign as its campaign_sent event shows it.
type EventCampaign struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Channels []string `json:"channels"`
	Audience string   `json:"audience"`
	Sent     int      `json:"sent"`
	Failed   int      `json:"failed"`
	Skipped  int      `json:"skipped"`
}

// Event is one entry of the event log, in the envelope every consumer sees
// (webhook body, polling feed, card history). Its ID never changes.
type Event struct {
	ID         string          `json:"id"`
	Type       EventType       `json:"event"`
	Timestamp  time.Time       `json:"timestamp"`
	BusinessID string          `json:"business_id"`
	LocationID *string         `json:"location_id"`
	Customer   *EventCustomer  `json:"customer,omitempty"`
	Card       *EventCard      `json:"card,omitempty"`
	Voucher    *EventVoucher   `json:"voucher,omitempty"`
	Lottery    *LotteryOutcome `json:"lottery,omitempty"`
	Campaign   *EventCampaign  `json:"campaign,omitempty"`
	Data       map[string]any  `json:"data,omitempty"`
}

// EventRecord is an event as stored: the indexed columns and the envelope,
// marshalled once when the event is written.
type EventRecord struct {
	ID         string
	BusinessID string
	Type       EventType
	CustomerID *string
	CardID     *string
	VoucherID  *string
	CreatedAt  time.Time
	// Dispatched reports whether the event was handed to its consumers
	// (it has left the outbox); set on an event written, it skips the outbox.
	Dispatched bool
	Payload    json.RawMessage
}

// Record marshals the event into its stored form.
func (e *Event) Record() (EventRecord, error) {
	payload, err := json.Marshal(e)
	if err != nil {
		return EventRecord{}, err
	}
	r := EventRecord{ID: e.ID, BusinessID: e.BusinessID, Type: e.Type, CreatedAt: e.Timestamp, Payload: payload}
	if e.Customer != nil {
		r.CustomerID = &e.Customer.ID
	}
	if e.Card != nil {
		r.CardID = &e.Card.ID
	}
	if e.Voucher != nil {
		r.VoucherID = &e.Voucher.ID
	}
	return r, nil
}

// EventRef names an event in a stamp result.
type EventRef struct {
	ID    string    `json:"id"`
	Event EventType `json:"event"`
}

// StampResult is what adding stamps returns.
type StampResult struct {
	Card    *Card      `json:"card"`
	Events  []EventRef `json:"events"`
	Rewards []*Voucher `json:"rewards"`
}

// LotteryResult is what a lottery play returns.
type LotteryResult struct {
	Result  LotteryOutcome `json:"result"`
	Voucher *Voucher       `json:"voucher"`
}

// Me describes the caller of the v1 API.
type Me struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Business MeBiz   `json:"business"`
	Staff    MeStaff `json:"staff"`
}

// MeBiz is the business part of Me.
type MeBiz struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Timezone string `json:"timezone"`
}

// MeStaff is the staff part of Me.
type MeStaff struct {
	ID    string `json:"id"`
	Login string `json:"login"`
	Name  string `json:"name"`
}

// Page asks for one page of a list, newest first.
type Page struct {
	// Limit is 1..100; zero means 50.
	Limit int
	// Cursor continues a previous page: the id of its last item.
	Cursor string
}

// DefaultPageLimit and MaxPageLimit bound list pages.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 100
)

// Size returns the effective limit.
func (p Page) Size() int {
	if p.Limit <= 0 {
		return DefaultPageLimit
	}
	if p.Limit > MaxPageLimit {
		return MaxPageLimit
	}
	return p.Limit
}
