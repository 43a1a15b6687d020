package hub

import (
	"context"
	"time"
)

// Store is the persistence the Service needs. Implementations map "no row" to a
// not_found *Error, a unique-constraint violation to a conflict *Error, and an
// unreachable database to an unavailable *Error.
type Store interface {
	// Write runs fn in a read-write transaction. Writers of the same rows are
	// serialised: rows read with forUpdate stay locked until fn returns. The
	// transaction commits when fn returns nil and rolls back otherwise.
	Write(ctx context.Context, fn func(Tx) error) error
	// Read runs fn with read access; it may see the state of one moment or
	// of several (each query on its own), which suffices for lookups.
	Read(ctx context.Context, fn func(Tx) error) error
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
}

// Tx is the data access available inside Store.Read and Store.Write. Every
// lookup is scoped by business id, so another business's ids are not found.
// It is the sum of one small interface per capability; a function that needs
// only some of them may take those.
type Tx interface {
	AccountTx
	CardTemplateTx
	CustomerTx
	CardTx
	VoucherTx
	EventTx
	HookTx
	DispatchTx
	DeliveryTx
	MessagingTx
	SendBatchTx
	PassTx
	SettingsTx
	TemplateTx
	CampaignTx
	CampaignActivityTx
	AudienceTx
	AutomationTx
	SweepTx
	SaleTx
	PosTx
	ConsoleTx
	IdempotencyTx
}

// AccountTx reads and writes businesses, their locations, staff logins and API keys.
type AccountTx interface {
	CreateBusiness(ctx context.Context, b *Business) error
	Business(ctx context.Context, id string) (*Business, error)
	BusinessByName(ctx context.Context, name string) (*Business, error)

	CreateLocation(ctx context.Context, l *Location) error
	Location(ctx context.Context, businessID, id string) (*Location, error)

	CreateStaff(ctx context.Context, s *Staff) error
	StaffByLogin(ctx context.Context, businessID, login string) (*Staff, error)

	// CreateAPIKey fails with a conflict when the staff login has an active key.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	APIKey(ctx context.Context, businessID, id string) (*APIKey, error)
	APIKeys(ctx context.Context, businessID string) ([]*APIKey, error)
	// UpdateAPIKey stores Hash, MaskedKey and Status.
	UpdateAPIKey(ctx context.Context, k *APIKey) error
	// PrincipalByKeyHash finds the active key with the hash, with its staff and business.
	PrincipalByKeyHash(ctx context.Context, hash string) (*Principal, error)
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
}

// CardTemplateTx reads and writes card and voucher templates.
type CardTemplateTx interface {
	CreateCardTemplate(ctx context.Context, t *CardTemplate) error
	CardTemplate(ctx context.Context, businessID, id string) (*CardTemplate, error)
	CardTemplates(ctx context.Context, businessID string, page Page) ([]*CardTemplate, error)

	CreateVoucherTemplate(ctx context.Context, t *VoucherTemplate) error
	VoucherTemplate(ctx context.Context, businessID, id string) (*VoucherTemplate, error)
}

// CustomerTx reads and writes customers.
type CustomerTx interface {
	CreateCustomer(ctx context.Context, c *Customer) error
	Customer(ctx context.Context, businessID, id string) (*Customer, error)
	// CustomerByContact finds by email, or by phone when email is empty.
	CustomerByContact(ctx context.Context, businessID, email, phone string) (*Customer, error)
	Customers(ctx context.Context, f CustomerFilter) ([]*Customer, error)
	// UpdateCustomer stores every field but ID, BusinessID and CreatedAt.
	UpdateCustomer(ctx context.Context, c *Customer) error
}

// CardTx reads and writes cards.
type CardTx interface {
	CreateCard(ctx context.Context, c *Card) error
	// Card returns the card with Customer filled in; forUpdate locks it.
	Card(ctx context.Context, businessID, id string, forUpdate bool) (*Card, error)
	// BusinessOfCard returns the business that owns a card; only the public
	// card page, which knows no business, uses it.
	BusinessOfCard(ctx context.Context, cardID string) (*Business, error)
	CardByCustomerTemplate(ctx context.Context, businessID, customerID, templateID string) (*Card, error)
	Cards(ctx context.Context, f CardFilter) ([]*Card, error)
	// UpdateCard stores the stamp state, status, UpdatedAt, LastStampAt and LastOpenedAt.
	UpdateCard(ctx context.Context, c *Card) error
}

// VoucherTx reads and writes vouchers.
type VoucherTx interface {
	// CreateVoucher fails with a conflict when the business has the redeem code.
	CreateVoucher(ctx context.Context, v *Voucher) error
	// CreateDrawnVoucher stores a voucher whose redeem code was drawn at
	// random. A code the business already has is a conflict, either at once
	// (the caller draws again) or, where the store sends the insert with the
	// commit to save a round trip, at commit: Write then runs the whole
	// function again, which draws again.
	CreateDrawnVoucher(ctx context.Context, v *Voucher) error
	Voucher(ctx context.Context, businessID, id string, forUpdate bool) (*Voucher, error)
	VoucherByCode(ctx context.Context, businessID, code string, forUpdate bool) (*Voucher, error)
	Vouchers(ctx context.Context, f VoucherFilter) ([]*Voucher, error)
	// UpdateVoucher stores Status, RedeemedAt, RedeemedVia and LocationID.
	UpdateVoucher(ctx context.Context, v *Voucher) error
	// DueVouchers lists issued vouchers of any business whose expiry is at or before t, oldest first.
	DueVouchers(ctx context.Context, t time.Time, limit int) ([]*Voucher, error)
}

// EventTx writes events and reads them back: the log, the feed and the outbox.
type EventTx interface {
	InsertEvents(ctx context.Context, events []EventRecord) error
	Event(ctx context.Context, businessID, id string) (*EventRecord, error)
	Events(ctx context.Context, f EventFilter) ([]*EventRecord, error)
	// UndispatchedEvents lists events created at or before t not yet
	// dispatched, oldest first (created_at, id), after the event after when
	// it is not nil.
	UndispatchedEvents(ctx context.Context, t time.Time, after *EventRecord, limit int) ([]*EventRecord, error)
	// MarkEventsDispatched takes the events (their ID and CreatedAt) out of
	// the outbox; unknown events and events dispatched before are skipped.
	MarkEventsDispatched(ctx context.Context, events []*EventRecord) error
}

// HookTx reads and writes webhook subscriptions and their delivery log.
type HookTx interface {
	CreateHook(ctx context.Context, h *Hook) error
	Hook(ctx context.Context, businessID, id string) (*Hook, error)
	// HookByTarget finds the hook of a business for the event name and URL.
	HookByTarget(ctx context.Context, businessID, event, targetURL string) (*Hook, error)
	// Hooks lists a business's hooks, newest first (at most page.Size()+1).
	Hooks(ctx context.Context, businessID string, page Page) ([]*Hook, error)
	// CountHooks counts a business's hooks.
	CountHooks(ctx context.Context, businessID string) (int, error)
	// UpdateHook stores Secret, PreviousSecret, PreviousSecretUntil, Status,
	// FailingSince and ActiveSince.
	UpdateHook(ctx context.Context, h *Hook) error
	// DeleteHook deletes a hook; a hook already gone is not an error.
	DeleteHook(ctx context.Context, businessID, id string) error
	// DeleteHooksByTarget deletes a business's hooks for the URL and returns how many.
	DeleteHooksByTarget(ctx context.Context, businessID, targetURL string) (int64, error)
	InsertDeliveryAttempt(ctx context.Context, a *DeliveryAttempt) error
	// DeliveryAttempts lists a hook's attempts, newest first (at most page.Size()+1).
	DeliveryAttempts(ctx context.Context, businessID, hookID string, page Page) ([]*DeliveryAttempt, error)
	// PurgeDeliveryAttempts deletes at most limit attempts made before t,
	// oldest first, and returns how many.
	PurgeDeliveryAttempts(ctx context.Context, t time.Time, limit int) (int64, error)
}

// IdempotencyTx keeps the Idempotency-Key records.
type IdempotencyTx interface {
	// ClaimIdempotencyKey records a new key as in progress under r.Claim, or
	// returns the existing record (and false) when the business already used
	// the key.
	ClaimIdempotencyKey(ctx context.Context, r *IdempotencyRecord) (*IdempotencyRecord, bool, error)
	// CommitIdempotencyKey marks the key held under r.Claim as committed, in
	// the transaction of the request's effect, with the response when
	// r.Done; not_found when the key is no longer held under r.Claim.
	CommitIdempotencyKey(ctx context.Context, r *IdempotencyRecord) error
	// CompleteIdempotencyKey stores the response of the key held under
	// r.Claim; not_found when it is no longer held under it.
	CompleteIdempotencyKey(ctx context.Context, r *IdempotencyRecord) error
	// ReleaseIdempotencyKey forgets the key held under claim, unless it is
	// committed and was created after expired.
	ReleaseIdempotencyKey(ctx context.Context, businessID, key, claim string, expired time.Time) error
	// PurgeIdempotencyKeys deletes at most limit records created before t,
	// oldest first, and returns how many.
	PurgeIdempotencyKeys(ctx context.Context, t time.Time, limit int) (int64, error)
}

// CustomerFilter selects customers of a business.
type CustomerFilter struct {
	BusinessID string
	Email      string
	Phone      string
	Page       Page
}

// CardFilter selects cards of a business.
type CardFilter struct {
	BusinessID string
	Email      string
	Phone      string
	CustomerID string
	TemplateID string
	Page       Page
}

// VoucherFilter selects vouchers of a business. Status "issued" means issued
// and not expired at Now; "expired" means recorded as expired or past expiry at Now.
type VoucherFilter struct {
	BusinessID string
	RedeemCode string
	CustomerID string
	Status     string
	Now        time.Time
	Page       Page
}

// EventFilter selects events of a business, newest first.
type EventFilter struct {
	BusinessID string
	Type       EventType
	CustomerID string
	CardID     string
	// SinceID keeps only events newer than this one.
	SinceID string
	Page    Page
	// Feed asks for the polling feed's promise (GET /v1/events, which
	// pollers walk with since_id or the cursor): an event not returned yet
	// never sorts before one returned. On PostgreSQL that orders events by
	// transaction and holds back those behind a write transaction still
	// open. Other reads (a card's history, the console) list every
	// committed event by id.
	Feed bool
}

// IdempotencyRecord remembers the first response to an Idempotency-Key.
type IdempotencyRecord struct {
	BusinessID  string
	Key         string
	Method      string
	Path        string
	BodyHash    string
	Done        bool
	Status      int
	ContentType string
	Body        []byte
	CreatedAt   time.Time
	// Claim is the random token of the request that holds the key.
	Claim string
	// Committed: a transaction with an effect of that request committed;
	// the key is then never released nor taken over before it expires.
	Committed bool
}

// EventPublisher hands committed events to the queue for dispatch. A failure
// is not fatal: the outbox relay enqueues what was not published.
type EventPublisher interface {
	PublishEvents(ctx context.Context, events []EventKey) error
}

// EventKey names a stored event: its business and id.
type EventKey struct {
	BusinessID string
	ID         string
}

// MessagingTx is the data access of channels: configurations, contacts, link
// tokens and the delivery ledger.
type MessagingTx interface {
	// PutChannelConfig inserts or replaces a business's provider configuration.
	PutChannelConfig(ctx context.Context, c *StoredChannelConfig) error
	ChannelConfig(ctx context.Context, businessID, provider string) (*StoredChannelConfig, error)
	// ChannelConfigs lists a business's configurations by provider name.
	ChannelConfigs(ctx context.Context, businessID string) ([]*StoredChannelConfig, error)

	// PutContact inserts or replaces the customer's contact on the channel;
	// another customer's contact with the same address is removed first.
	PutContact(ctx context.Context, c *Contact) error
	Contact(ctx context.Context, businessID, customerID, channel string) (*Contact, error)
	ContactByAddress(ctx context.Context, businessID, channel, address string) (*Contact, error)
	// Contacts lists a customer's contacts by channel name.
	Contacts(ctx context.Context, businessID, customerID string) ([]*Contact, error)

	CreateLinkToken(ctx context.Context, l *LinkToken) error
	LinkToken(ctx context.Context, businessID, hash string) (*LinkToken, error)
	// UseLinkToken marks an unused token used and reports whether it was unused.
	UseLinkToken(ctx context.Context, businessID, hash string, at time.Time) (bool, error)

	// CreateDelivery inserts a ledger row; one for the same business, source,
	// customer and channel is a conflict.
	CreateDelivery(ctx context.Context, d *Delivery) error
	Delivery(ctx context.Context, businessID, id string, forUpdate bool) (*Delivery, error)
	DeliveryBySource(ctx context.Context, businessID, source, customerID, channel string) (*Delivery, error)
	DeliveryByProviderMessageID(ctx context.Context, businessID, providerMessageID string) (*Delivery, error)
	// Deliveries lists ledger rows newest first (at most page.Size()+1).
	Deliveries(ctx context.Context, f DeliveryFilter) ([]*Delivery, error)
	// UpdateDelivery stores Provider, Status, Attempts, ProviderMessageID,
	// ProviderStatus, Error, UpdatedAt and SentAt.
	UpdateDelivery(ctx context.Context, d *Delivery) error
	// StalledDeliveries lists deliveries of any business in status and
	// last updated at or before before, oldest first (updated_at, id), after
	// the delivery after when it is not nil.
	StalledDeliveries(ctx context.Context, status string, before time.Time, after *Delivery, limit int) ([]*Delivery, error)
}

// SendBatchTx is the set-based data access of ClaimSends and FinishSends:
// a batch of deliveries costs a few statements, not a few per delivery.
type SendBatchTx interface {
	// DeliveriesByID returns the business's deliveries among ids in id
	// order, locked against other writers when forUpdate; ids it does not
	// know are left out.
	DeliveriesByID(ctx context.Context, businessID string, ids []string, forUpdate bool) ([]*Delivery, error)
	// CustomersByID returns the business's customers among ids, in any
	// order; ids it does not know are left out.
	CustomersByID(ctx context.Context, businessID string, ids []string) ([]*Customer, error)
	// ChannelContacts returns the contacts on channel of the business's
	// customers among customerIDs, in any order.
	ChannelContacts(ctx context.Context, businessID, channel string, customerIDs []string) ([]*Contact, error)
	// UpdateDeliveries stores what UpdateDelivery stores of every delivery
	// (each at most once), in as few statements as it can; one that does not
	// exist is not_found.
	UpdateDeliveries(ctx context.Context, ds []*Delivery) error
}

// PassTx is the data access of the wallet-pass web service.
type PassTx interface {
	// RegisterPassDevice records a device for a card's pass and reports
	// whether it is new; an existing one gets the new push token.
	RegisterPassDevice(ctx context.Context, r *PassRegistration) (bool, error)
	// UnregisterPassDevice removes a registration; a missing one is not an error.
	UnregisterPassDevice(ctx context.Context, businessID, cardID, deviceID string) error
	// PassDevices lists the devices registered for a card.
	PassDevices(ctx context.Context, businessID, cardID string) ([]*PassRegistration, error)
	// DevicePasses lists the card ids a device registered for the pass type.
	DevicePasses(ctx context.Context, deviceID, passTypeID string) ([]string, error)
	// CountPassDevices counts the devices registered for a card.
	CountPassDevices(ctx context.Context, businessID, cardID string) (int, error)
	PutPassOffer(ctx context.Context, o *PassOffer) error
	// PassOffer returns a card's offer; none is not_found.
	PassOffer(ctx context.Context, businessID, cardID string) (*PassOffer, error)
}
