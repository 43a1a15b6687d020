package hub

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config wires a Service. Zero values are documented per field.
type Config struct {
	// Store persists everything. Required.
	Store Store
	// Publisher receives the ids of committed events. Nil leaves every event
	// to the outbox relay.
	Publisher EventPublisher
	// Logger receives structured logs. Nil discards them.
	Logger *slog.Logger
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Intn draws a random integer in [0, n) for lotteries. Nil means math/rand/v2.
	Intn func(n int) int
	// PublicURL is the base of card page links. Empty means http://localhost:8080.
	PublicURL string
	// KeyCacheTTL is how long an authenticated API key is trusted without
	// asking the store again. Zero disables the cache. A key revoked or
	// regenerated through this Service is forgotten at once; other processes
	// forget it when Revocations reaches them (see ForgetKey), and after the
	// TTL at the latest.
	KeyCacheTTL time.Duration
	// Revocations tells other processes about revoked key hashes. Nil means
	// this process is alone (or the TTL is the only bound).
	Revocations RevocationPublisher
	// Passwords hashes owner passwords (hub/password). Nil makes owner
	// accounts (the console's logins) unavailable.
	Passwords PasswordHasher
	// OwnerMail sends password reset emails through a business's email
	// channel. Nil sends none (a new invitation resets a password).
	OwnerMail OwnerMailer
	// Webhooks schedules webhook deliveries. Nil means events reach no hook.
	Webhooks WebhookQueue
	// CheckHookURL vets a hook's URL at subscription (scheme, private
	// addresses); its error message is shown to the caller. Nil accepts any
	// http or https URL.
	CheckHookURL func(url string) error
	// SecretKey (32 bytes) seals channel secrets at rest and signs
	// unsubscribe links. Nil leaves channels unavailable.
	SecretKey []byte
	// Messages schedules message deliveries. Nil leaves queued messages to
	// the delivery relay.
	Messages MessageQueue
	// Inbound decodes providers' calls to the hub. Nil refuses them.
	Inbound InboundDecoder
	// LinkTokenTTL is how long a messenger link token can be used. Zero
	// means 24 hours.
	LinkTokenTTL time.Duration
	// CheckChannel vets a provider configuration before it is stored (the
	// provider package parses certificates, keys and URLs); its error
	// message is shown to the caller and must not contain secrets. Nil
	// stores any configuration with the required fields.
	CheckChannel func(cfg *ChannelConfig) error
	// LinkURL builds a messenger's deep link carrying a link token
	// (https://t.me/<bot>?start=…); the provider packages know the schemes.
	// Nil, or "" for a configuration, means links carry only the token.
	LinkURL func(cfg *ChannelConfig, token string) string
	// RegisterWebhook registers url as the webhook of a Telegram or Viber
	// configuration with the provider (setWebhook, set_webhook). Its error
	// is a *SendError. Nil makes RegisterChannelWebhook unavailable.
	RegisterWebhook func(ctx context.Context, cfg *ChannelConfig, url string) error
	// Renderer checks and renders message templates (package templates).
	// Nil makes templates, campaigns and automations unavailable.
	Renderer Renderer
	// Campaigns starts campaign runners. Nil leaves campaigns to the
	// periodic campaign tick.
	Campaigns CampaignQueue
	// Automations schedules automation runs. Nil leaves them to the
	// periodic automation relay.
	Automations AutomationQueue
	// Defaults are the ready-made message templates a new business gets
	// with its four automations (keyed birthday, inactivity, goal_reached,
	// voucher_expiring). Nil gives a new business no automations.
	Defaults []DefaultTemplate
	// Tills are the till providers' adapters by name (poster, syrve); the
	// generic till needs none. A provider missing here cannot be connected.
	Tills map[string]TillProvider
	// TillQueue schedules fetches of closed orders that till webhooks
	// report. Nil refuses webhooks that need a fetch.
	TillQueue TillQueue
}

// RevocationPublisher announces a revoked API key (by hash) to every process.
type RevocationPublisher interface {
	PublishRevocation(ctx context.Context, keyHash string) error
}

// Service holds the use cases of the hub. It is safe for concurrent use.
type Service struct {
	store     Store
	publisher EventPublisher
	log       *slog.Logger
	now       func() time.Time
	intn      func(int) int
	publicURL string

	templates sync.Map // card template id -> *CardTemplate; templates never change
	touched   sync.Map // api key id -> time.Time of the last recorded use

	keyTTL time.Duration
	keys   sync.Map // key hash -> cachedPrincipal
	// keyEpoch counts forgotten keys, so a read that raced a revocation is
	// not cached.
	keyEpoch    atomic.Uint64
	revocations RevocationPublisher
	owners      *owners
	ownerMail   OwnerMailer

	webhooks     WebhookQueue
	hookURLCheck func(string) error

	box      *SecretBox
	messages MessageQueue
	inbound  InboundDecoder
	linkTTL  time.Duration
	check    func(*ChannelConfig) error
	linkURL  func(*ChannelConfig, string) string

	registerWebhook func(context.Context, *ChannelConfig, string) error

	settingsCache  sync.Map // business id -> cachedSettings
	campaignStatus sync.Map // campaign id -> campaignState
	renderer       Renderer
	campaigns      CampaignQueue

	automations      AutomationQueue
	automationsCache sync.Map // business id -> cachedAutomations
	defaults         []DefaultTemplate

	tills     map[string]TillProvider
	tillQueue TillQueue
	earnings  sync.Map // card template id -> cachedEarning
}

type cachedPrincipal struct {
	pr      *Principal
	expires time.Time
}

// NewService returns a Service for the configuration.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("hub: Config.Store is required")
	}
	s := &Service{
		store:        cfg.Store,
		publisher:    cfg.Publisher,
		log:          cfg.Logger,
		now:          cfg.Now,
		intn:         cfg.Intn,
		publicURL:    strings.TrimRight(cfg.PublicURL, "/"),
		keyTTL:       cfg.KeyCacheTTL,
		revocations:  cfg.Revocations,
		webhooks:     cfg.Webhooks,
		hookURLCheck: cfg.CheckHookURL,
		owners:       &owners{hasher: cfg.Passwords},
		ownerMail:    cfg.OwnerMail,
	}
	if cfg.SecretKey != nil {
		box, err := NewSecretBox(cfg.SecretKey)
		if err != nil {
			return nil, err
		}
		s.box = box
	}
	s.messages, s.inbound, s.linkTTL, s.check = cfg.Messages, cfg.Inbound, cfg.LinkTokenTTL, cfg.CheckChannel
	s.linkURL, s.registerWebhook = cfg.LinkURL, cfg.RegisterWebhook
	s.renderer, s.campaigns, s.automations, s.defaults = cfg.Renderer, cfg.Campaigns, cfg.Automations, cfg.Defaults
	s.tills, s.tillQueue = cfg.Tills, cfg.TillQueue
	if s.linkTTL <= 0 {
		s.linkTTL = 24 * time.Hour
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.intn == nil {
		s.intn = rand.IntN
	}
	if s.publicURL == "" {
		s.publicURL = "http://localhost:8080"
	}
	return s, nil
}

// clock returns the current time in UTC at the stored (millisecond) precision.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// Ping reports whether the store answers.
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }

// outbox collects the events a transaction writes.
type outbox struct {
	events []*Event
}

func (o *outbox) add(e *Event) *Event {
	o.events = append(o.events, e)
	return e
}

// write runs fn in a store transaction, inserts the events fn added in the same
// transaction, and publishes their ids after the commit. In an idempotent
// request (BeginIdempotent) the transaction also marks the request's key
// committed, with the response when fn computed it (reply): the key and the
// effect commit together or not at all.
func (s *Service) write(ctx context.Context, fn func(tx Tx, out *outbox) error) error {
	var records []EventRecord
	tk := ticketOf(ctx)
	err := s.store.Write(ctx, func(tx Tx) error {
		tk.beginAttempt()
		out := &outbox{}
		if err := fn(tx, out); err != nil {
			return err
		}
		if err := s.commitIdempotent(ctx, tx, tk); err != nil {
			return err
		}
		records = records[:0]
		for _, e := range out.events {
			r, err := e.Record()
			if err != nil {
				return err
			}
			records = append(records, r)
		}
		if len(records) == 0 {
			return nil
		}
		return tx.InsertEvents(ctx, records)
	})
	if err != nil {
		tk.beginAttempt()
		return err
	}
	tk.committedTx()
	s.publish(ctx, records)
	return nil
}

func (s *Service) publish(ctx context.Context, records []EventRecord) {
	if s.publisher == nil || len(records) == 0 {
		return
	}
	keys := make([]EventKey, len(records))
	for i, r := range records {
		keys[i] = EventKey{BusinessID: r.BusinessID, ID: r.ID}
	}
	if err := s.publisher.PublishEvents(context.WithoutCancel(ctx), keys); err != nil {
		s.log.WarnContext(ctx, "events committed but not enqueued; the relay will enqueue them",
			"events", len(keys), "first", keys[0].ID, "err", err)
	}
}

func (s *Service) read(ctx context.Context, fn func(tx Tx) error) error {
	return s.store.Read(ctx, fn)
}

// cardTemplate returns a business's card template, from memory when seen before.
func (s *Service) cardTemplate(ctx context.Context, tx CardTemplateTx, businessID, id string) (*CardTemplate, error) {
	if v, ok := s.templates.Load(id); ok {
		t := v.(*CardTemplate)
		if t.BusinessID == businessID {
			return t, nil
		}
		return nil, NotFound("card template")
	}
	t, err := tx.CardTemplate(ctx, businessID, id)
	if err != nil {
		return nil, err
	}
	s.templates.Store(id, t)
	return t, nil
}

// page returns the first n items and the cursor of the next page.
func page[T any](items []T, p Page, id func(T) string) ([]T, *string) {
	n := p.Size()
	if len(items) <= n {
		if items == nil {
			items = []T{}
		}
		return items, nil
	}
	next := id(items[n-1])
	return items[:n], &next
}

// CheckPage validates list parameters; the cursor must be an id with the prefix.
func CheckPage(p Page, prefix string) error {
	probs := Problems{}
	if p.Limit < 0 || p.Limit > MaxPageLimit {
		probs.Add("limit", "must be between 1 and 100")
	}
	if p.Cursor != "" && !ValidID(prefix, p.Cursor) {
		probs.Add("cursor", "is not a cursor of this list")
	}
	return probs.Err()
}

// inBatches runs batch, one transaction's worth of work at a time, until a
// batch does fewer than size items or ctx ends, and returns the total. Long
// maintenance (expiring vouchers, purging old rows) goes this way so that no
// transaction holds SQLite's single writer, or a PostgreSQL transaction and
// its WAL, for longer than one batch takes.
func inBatches(ctx context.Context, size int, batch func() (int, error)) (int, error) {
	total := 0
	for {
		n, err := batch()
		if err != nil {
			return total, err // the failed batch rolled back: its n did not happen
		}
		total += n
		if n < size {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// PurgeBatch is how many rows one purge transaction deletes at most: a purge
// of a day of webhook attempts (millions of rows) runs as many short
// transactions.
const PurgeBatch = 2000

// purge runs del in transactions of its own, PurgeBatch rows each (see
// inBatches), and returns how many rows went.
func (s *Service) purge(ctx context.Context, del func(tx Tx, limit int) (int64, error)) (int64, error) {
	total, err := inBatches(ctx, PurgeBatch, func() (int, error) {
		var n int64
		err := s.store.Write(ctx, func(tx Tx) error {
			var err error
			n, err = del(tx, PurgeBatch)
			return err
		})
		return int(n), err
	})
	return int64(total), err
}
