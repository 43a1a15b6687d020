package hub

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Till providers a business can connect.
var TillProviders = []string{SourcePoster, SourceSyrve, SourceGeneric}

// Connection statuses.
const (
	// PosDisconnected: no connection (GET of a provider never connected).
	PosDisconnected = "disconnected"
	// PosPending: Poster's OAuth flow was started and not finished.
	PosPending = "pending"
	// PosConnected: webhooks are taken and sales applied.
	PosConnected = "connected"
	// PosBroken: the provider refused our credentials (a token revoked at
	// Poster, a wrong apiLogin); connect again.
	PosBroken = "error"
)

// GenericTillTolerance is how far a generic till's webhook-timestamp may be
// from the hub's clock (Standard Webhooks' default).
const GenericTillTolerance = 5 * time.Minute

// posTouchEvery bounds how often a webhook rewrites its connection's
// last_webhook_at: at most once a minute, not once per check.
const posTouchEvery = time.Minute

// PosConnection is a business's connection to a till provider, with its
// secrets opened. Settings are shown; secrets never are.
type PosConnection struct {
	BusinessID string
	Provider   string
	Status     string
	// Account is the provider's id of the business's account (Poster's
	// account name, Syrve's organization id), unique per provider.
	Account          *string
	Settings         map[string]string
	Secrets          map[string]string
	LastWebhookAt    *time.Time
	LastReconciledAt *time.Time
	LastError        *string
	LastErrorAt      *time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// StoredPosConnection is a connection as stored: secrets sealed.
type StoredPosConnection struct {
	PosConnection
	Sealed []byte
}

// PosTx is the store's part for till connections.
type PosTx interface {
	// PutPosConnection inserts or replaces a connection.
	PutPosConnection(ctx context.Context, c *StoredPosConnection) error
	// PosConnection returns a business's connection to a provider.
	PosConnection(ctx context.Context, businessID, provider string) (*StoredPosConnection, error)
	// PosConnectionByAccount finds a connection by the provider's account.
	PosConnectionByAccount(ctx context.Context, provider, account string) (*StoredPosConnection, error)
	// PosConnectionsOf lists every connection to a provider with the status,
	// at most limit after the business id after.
	PosConnectionsOf(ctx context.Context, provider, status, after string, limit int) ([]*StoredPosConnection, error)
	// PosConnections lists a business's connections.
	PosConnections(ctx context.Context, businessID string) ([]*StoredPosConnection, error)
	// DeletePosConnection removes a connection; absent is not an error.
	DeletePosConnection(ctx context.Context, businessID, provider string) error
}

// PosView is a connection as GET /v1/pos shows it: its state, no secrets.
type PosView struct {
	Provider         string            `json:"provider"`
	Status           string            `json:"status"`
	Account          *string           `json:"account"`
	Settings         map[string]string `json:"settings"`
	WebhookURL       string            `json:"webhook_url"`
	LastWebhookAt    *time.Time        `json:"last_webhook_at"`
	LastReconciledAt *time.Time        `json:"last_reconciled_at"`
	LastError        *string           `json:"last_error"`
	LastErrorAt      *time.Time        `json:"last_error_at"`
	CreatedAt        *time.Time        `json:"created_at"`
	UpdatedAt        *time.Time        `json:"updated_at"`
	// ConnectURL is where the business owner finishes connecting Poster
	// (only while pending).
	ConnectURL *string `json:"connect_url"`
	// Secret is the generic till's signing secret, shown once: in the answer
	// of the PUT that made it.
	Secret *string `json:"secret"`
}

// TillOrder is a closed order an inbound webhook reports: its sale when the
// payload carries the whole order, else only its id (to be fetched).
type TillOrder struct {
	OrderID string
	Sale    *SaleInput
}

// InboundCall is an inbound HTTP call as an adapter needs it.
type InboundCall struct {
	// Header returns a request header's value.
	Header func(name string) string
	Body   []byte
}

// TillProvider is a till provider's adapter (Poster, Syrve). Errors it
// returns carry hub codes: unauthorized when the provider refused our
// credentials (the connection is marked broken), unavailable or
// rate_limited when a retry may succeed, anything else when it will not.
type TillProvider interface {
	// Connect checks what PUT /v1/pos/{provider} was given and fills the
	// connection's Account, Settings and Secrets (registering webhookURL
	// with the provider where its API does that).
	Connect(ctx context.Context, c *PosConnection, in map[string]string, webhookURL string) error
	// Webhook verifies an inbound call (unauthorized when it is not the
	// provider's) and returns the closed orders it reports.
	Webhook(ctx context.Context, c *PosConnection, call InboundCall) ([]TillOrder, error)
	// Sale fetches one order as a sale; nil when it is not a closed check.
	Sale(ctx context.Context, c *PosConnection, orderID string) (*SaleInput, error)
	// ClosedSales lists the sales closed in [from, to), for reconciliation.
	ClosedSales(ctx context.Context, c *PosConnection, from, to time.Time) ([]SaleInput, error)
}

// OAuthTill is a till provider connected through an OAuth code flow.
type OAuthTill interface {
	// AuthorizeURL is where the business owner is sent.
	AuthorizeURL(redirectURI, state string) string
	// Exchange trades the code for the connection's Account and Secrets.
	Exchange(ctx context.Context, c *PosConnection, code, account, redirectURI string) error
	// Account reads the account an unaddressed webhook belongs to.
	WebhookAccount(body []byte) string
}

// TillQueue schedules the fetch of a closed order reported by a webhook.
type TillQueue interface {
	EnqueueTillSale(ctx context.Context, businessID, provider, orderID string) error
}

func posSealAD(businessID, provider string) string {
	return "pos/" + businessID + "/" + provider
}

func (s *Service) tillProvider(provider string) (TillProvider, error) {
	if provider == SourceGeneric {
		return nil, nil
	}
	p, ok := s.tills[provider]
	if !ok {
		return nil, Errorf(EUnavailable, "the %s integration is not configured in this hub", provider)
	}
	return p, nil
}

func (s *Service) openPos(st *StoredPosConnection) (*PosConnection, error) {
	c := st.PosConnection
	var err error
	if c.Secrets, err = s.openSecrets(st.Sealed, posSealAD(st.BusinessID, st.Provider), "till"); err != nil {
		return nil, err
	}
	if c.Settings == nil {
		c.Settings = map[string]string{}
	}
	return &c, nil
}

func (s *Service) sealPos(c *PosConnection) (*StoredPosConnection, error) {
	sealed, err := s.sealSecrets(c.Secrets, posSealAD(c.BusinessID, c.Provider))
	if err != nil {
		return nil, err
	}
	return &StoredPosConnection{PosConnection: *c, Sealed: sealed}, nil
}

func (s *Service) posConnection(ctx context.Context, tx Tx, businessID, provider string) (*PosConnection, error) {
	st, err := tx.PosConnection(ctx, businessID, provider)
	if err != nil {
		return nil, err
	}
	return s.openPos(st)
}

func (s *Service) posView(c *PosConnection) *PosView {
	v := &PosView{Provider: c.Provider, Status: c.Status, Account: c.Account, Settings: c.Settings,
		WebhookURL:    s.publicURL + "/pos/" + c.Provider + "/" + c.BusinessID,
		LastWebhookAt: c.LastWebhookAt, LastReconciledAt: c.LastReconciledAt, LastError: c.LastError,
		LastErrorAt: c.LastErrorAt}
	if v.Settings == nil {
		v.Settings = map[string]string{}
	}
	if !c.CreatedAt.IsZero() {
		v.CreatedAt, v.UpdatedAt = &c.CreatedAt, &c.UpdatedAt
	}
	if c.Status == PosPending && c.Provider == SourcePoster {
		u := s.publicURL + "/pos/poster/connect?state=" + s.posterState(c.BusinessID)
		v.ConnectURL = &u
	}
	return v
}

// PosConnections shows the business's connection to every till provider.
func (s *Service) PosConnections(ctx context.Context, businessID string) ([]*PosView, error) {
	if err := s.requireBox(); err != nil {
		return nil, err
	}
	out := []*PosView{}
	err := s.read(ctx, func(tx Tx) error {
		stored, err := tx.PosConnections(ctx, businessID)
		if err != nil {
			return err
		}
		for _, provider := range TillProviders {
			c := &PosConnection{BusinessID: businessID, Provider: provider, Status: PosDisconnected}
			for _, st := range stored {
				if st.Provider == provider {
					if c, err = s.openPos(st); err != nil {
						return err
					}
				}
			}
			out = append(out, s.posView(c))
		}
		return nil
	})
	return out, err
}

// PosConnectionView shows one connection (disconnected when there is none).
func (s *Service) PosConnectionView(ctx context.Context, businessID, provider string) (*PosView, error) {
	if !slices.Contains(TillProviders, provider) {
		return nil, NotFound("till provider")
	}
	all, err := s.PosConnections(ctx, businessID)
	if err != nil {
		return nil, err
	}
	for _, v := range all {
		if v.Provider == provider {
			return v, nil
		}
	}
	return nil, NotFound("till provider")
}

// ConnectPos connects a business to a till provider with the fields given
// (generic: none, and a new signing secret shown once; poster: currency,
// and the answer's connect_url finishes the OAuth flow; syrve: api_login,
// organization_id when the login sees several, currency). Connecting again
// replaces the connection.
func (s *Service) ConnectPos(ctx context.Context, businessID, provider string, in map[string]string) (*PosView, error) {
	if !slices.Contains(TillProviders, provider) {
		return nil, NotFound("till provider")
	}
	if err := s.requireBox(); err != nil {
		return nil, err
	}
	p, err := s.tillProvider(provider)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	c := &PosConnection{BusinessID: businessID, Provider: provider, Status: PosConnected,
		Settings: map[string]string{}, Secrets: map[string]string{}, CreatedAt: now, UpdatedAt: now}
	var secret *string
	switch provider {
	case SourceGeneric:
		if len(in) > 0 {
			return nil, Problems{firstKey(in): "is not a known field: the generic till takes no settings"}.Err()
		}
		sec := NewWebhookSecret()
		c.Secrets["secret"], secret = sec, &sec
	case SourcePoster:
		if _, ok := p.(OAuthTill); !ok {
			return nil, Errorf(EUnavailable, "the poster integration has no OAuth application in this hub")
		}
		c.Status = PosPending
		if err := checkPosFields(in, "currency"); err != nil {
			return nil, err
		}
		if cur := in["currency"]; cur != "" {
			if !currencyRegexp.MatchString(cur) {
				return nil, Problems{"currency": "must be an ISO 4217 code such as \"UAH\""}.Err()
			}
			c.Settings["currency"] = cur
		}
	default:
		if err := p.Connect(ctx, c, in, s.publicURL+"/pos/"+provider+"/"+businessID); err != nil {
			return nil, err
		}
	}
	err = s.write(ctx, func(tx Tx, _ *outbox) error {
		if _, err := tx.Business(ctx, businessID); err != nil {
			return err
		}
		if old, err := tx.PosConnection(ctx, businessID, provider); err == nil {
			c.CreatedAt = old.CreatedAt
		}
		st, err := s.sealPos(c)
		if err != nil {
			return err
		}
		return tx.PutPosConnection(ctx, st)
	})
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "till connected", "business_id", businessID, "provider", provider, "status", c.Status)
	v := s.posView(c)
	v.Secret = secret
	return v, nil
}

func checkPosFields(in map[string]string, known ...string) error {
	for k := range in {
		if !slices.Contains(known, k) {
			return Problems{k: "is not a known field"}.Err()
		}
	}
	return nil
}

func firstKey(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys[0]
}

// DisconnectPos removes a business's connection to a till provider; its
// webhooks are refused from then on. Absent is not an error.
func (s *Service) DisconnectPos(ctx context.Context, businessID, provider string) error {
	if !slices.Contains(TillProviders, provider) {
		return NotFound("till provider")
	}
	return s.write(ctx, func(tx Tx, _ *outbox) error { return tx.DeletePosConnection(ctx, businessID, provider) })
}

// posterStateTTL is how long a Poster connect link works.
const posterStateTTL = time.Hour

// posterState signs the business id and an expiry for Poster's OAuth flow.
func (s *Service) posterState(businessID string) string {
	exp := strconv.FormatInt(s.clock().Add(posterStateTTL).Unix(), 10)
	mac := s.box.MAC("poster-state/" + businessID + "/" + exp)
	return businessID + "." + exp + "." + base64.RawURLEncoding.EncodeToString(mac)
}

// checkPosterState returns the business of a valid, unexpired state.
func (s *Service) checkPosterState(state string) (string, error) {
	parts := strings.Split(state, ".")
	bad := Errorf(EUnauthorized, "the Poster connect link is invalid or expired; start again from PUT /v1/pos/poster")
	if s.box == nil || len(parts) != 3 {
		return "", bad
	}
	want := base64.RawURLEncoding.EncodeToString(s.box.MAC("poster-state/" + parts[0] + "/" + parts[1]))
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if subtle.ConstantTimeCompare([]byte(want), []byte(parts[2])) != 1 || err != nil || s.clock().Unix() > exp {
		return "", bad
	}
	return parts[0], nil
}

// PosterAuthorizeURL checks a connect link's state and returns Poster's
// authorization page, which redirects to redirectURI.
func (s *Service) PosterAuthorizeURL(state, redirectURI string) (string, error) {
	if _, err := s.checkPosterState(state); err != nil {
		return "", err
	}
	p, err := s.tillProvider(SourcePoster)
	if err != nil {
		return "", err
	}
	o, ok := p.(OAuthTill)
	if !ok {
		return "", Errorf(EUnavailable, "the poster integration has no OAuth application in this hub")
	}
	return o.AuthorizeURL(redirectURI, state), nil
}

// CompletePosterConnect finishes Poster's OAuth flow: the code is traded for
// an access token, sealed like the channel secrets, and the connection of
// the state's business becomes connected.
func (s *Service) CompletePosterConnect(ctx context.Context, state, code, account, redirectURI string) (*PosView, error) {
	businessID, err := s.checkPosterState(state)
	if err != nil {
		return nil, err
	}
	if code == "" || account == "" {
		return nil, Problems{"code": "Poster's redirect has no code or account"}.Err()
	}
	p, err := s.tillProvider(SourcePoster)
	if err != nil {
		return nil, err
	}
	o, ok := p.(OAuthTill)
	if !ok {
		return nil, Errorf(EUnavailable, "the poster integration has no OAuth application in this hub")
	}
	var c *PosConnection
	if err := s.read(ctx, func(tx Tx) error {
		c, err = s.posConnection(ctx, tx, businessID, SourcePoster)
		return err
	}); err != nil {
		if ErrorCode(err) == ENotFound {
			return nil, Errorf(EConflict, "start connecting Poster with PUT /v1/pos/poster first")
		}
		return nil, err
	}
	if err := o.Exchange(ctx, c, code, account, redirectURI); err != nil {
		return nil, err
	}
	c.Status, c.LastError, c.LastErrorAt, c.UpdatedAt = PosConnected, nil, nil, s.clock()
	if err := s.savePos(ctx, c); err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "poster connected", "business_id", businessID, "account", account)
	return s.posView(c), nil
}

func (s *Service) savePos(ctx context.Context, c *PosConnection) error {
	st, err := s.sealPos(c)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(tx Tx, _ *outbox) error { return tx.PutPosConnection(ctx, st) })
	if ErrorCode(err) == EConflict {
		return Errorf(EConflict, "this %s account is connected to another business", c.Provider)
	}
	return err
}

// TillWebhook takes a till provider's webhook for a business (for Poster,
// businessID may be empty: the account in the body finds it). A call that
// is not the provider's is unauthorized and does nothing. Orders the
// payload carries whole are applied at once; the others are queued to be
// fetched. It answers the number of orders taken.
func (s *Service) TillWebhook(ctx context.Context, provider, businessID string, call InboundCall) (int, error) {
	if !slices.Contains(TillProviders, provider) || provider == SourceGeneric {
		return 0, NotFound("till provider")
	}
	if err := s.requireBox(); err != nil {
		return 0, err
	}
	p, err := s.tillProvider(provider)
	if err != nil {
		return 0, err
	}
	var c *PosConnection
	err = s.read(ctx, func(tx Tx) error {
		var st *StoredPosConnection
		var err error
		if businessID == "" {
			o, ok := p.(OAuthTill)
			if !ok {
				return NotFound("till connection")
			}
			st, err = tx.PosConnectionByAccount(ctx, provider, o.WebhookAccount(call.Body))
		} else {
			st, err = tx.PosConnection(ctx, businessID, provider)
		}
		if err != nil {
			return err
		}
		c, err = s.openPos(st)
		return err
	})
	if ErrorCode(err) == ENotFound || (err == nil && c.Status != PosConnected && c.Status != PosBroken) {
		return 0, NotFound("till connection")
	}
	if err != nil {
		return 0, err
	}
	orders, err := p.Webhook(ctx, c, call)
	if err != nil {
		return 0, err
	}
	for _, o := range orders {
		if o.Sale != nil {
			if _, _, err := s.recordSale(ctx, c.BusinessID, *o.Sale); err != nil && ErrorCode(err) != EValidation {
				return 0, err
			} else if err != nil {
				s.log.WarnContext(ctx, "till order refused", "business_id", c.BusinessID, "provider", provider, "order_id", o.OrderID, "err", err)
			}
			continue
		}
		if s.tillQueue == nil {
			return 0, Errorf(EUnavailable, "no queue to fetch %s orders in this process", provider)
		}
		if err := s.tillQueue.EnqueueTillSale(ctx, c.BusinessID, provider, o.OrderID); err != nil {
			return 0, Unavailable("the queue", err)
		}
	}
	s.touchWebhook(ctx, c)
	return len(orders), nil
}

// touchWebhook records a webhook's time on the connection, at most once per
// posTouchEvery: the check is made on the connection as read, so most
// webhooks write nothing.
func (s *Service) touchWebhook(ctx context.Context, c *PosConnection) {
	if c.LastWebhookAt != nil && s.clock().Sub(*c.LastWebhookAt) < posTouchEvery {
		return
	}
	s.touchPos(ctx, c, func(c *PosConnection, now time.Time) bool {
		if c.LastWebhookAt != nil && now.Sub(*c.LastWebhookAt) < posTouchEvery {
			return false
		}
		c.LastWebhookAt = &now
		return true
	})
}

// touchPos updates a connection's state when change says so; a failure is
// logged, never returned (the state is informative).
func (s *Service) touchPos(ctx context.Context, c *PosConnection, change func(c *PosConnection, now time.Time) bool) {
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		cur, err := s.posConnection(ctx, tx, c.BusinessID, c.Provider)
		if err != nil {
			return err
		}
		now := s.clock()
		if !change(cur, now) {
			return nil
		}
		cur.UpdatedAt = now
		st, err := s.sealPos(cur)
		if err != nil {
			return err
		}
		return tx.PutPosConnection(ctx, st)
	})
	if err != nil && ErrorCode(err) != ENotFound {
		s.log.WarnContext(ctx, "till connection state not saved", "business_id", c.BusinessID, "provider", c.Provider, "err", err)
	}
}

// tillFailed records a provider's refusal on the connection: unauthorized
// marks it broken.
func (s *Service) tillFailed(ctx context.Context, c *PosConnection, err error) {
	msg := ErrorMessage(err)
	s.touchPos(ctx, c, func(c *PosConnection, now time.Time) bool {
		if ErrorCode(err) == EUnauthorized {
			c.Status = PosBroken
			msg = c.Provider + " refused the hub's credentials (" + msg + "); connect again"
		}
		c.LastError, c.LastErrorAt = &msg, &now
		return true
	})
}

// ErrTillRetry marks a till fetch that may succeed later.
var ErrTillRetry = errors.New("till: retry later")

// FetchTillSale fetches an order a webhook reported and records its sale.
// It returns an error wrapping ErrTillRetry when trying again may help (the
// provider is away or limiting us); other failures are recorded on the
// connection and returned as they are.
func (s *Service) FetchTillSale(ctx context.Context, businessID, provider, orderID string) (*Sale, error) {
	p, err := s.tillProvider(provider)
	if err != nil || p == nil {
		return nil, errors.Join(err, Errorf(EValidation, "%s orders are not fetched", provider))
	}
	var c *PosConnection
	if err := s.read(ctx, func(tx Tx) error {
		c, err = s.posConnection(ctx, tx, businessID, provider)
		return err
	}); err != nil {
		if ErrorCode(err) == ENotFound {
			return nil, nil // disconnected since: nothing to do
		}
		return nil, fmt.Errorf("%w: %w", ErrTillRetry, err)
	}
	if c.Status == PosBroken {
		return nil, nil
	}
	in, err := p.Sale(ctx, c, orderID)
	switch ErrorCode(err) {
	case "":
	case EUnavailable, ERateLimited:
		return nil, fmt.Errorf("%w: %w", ErrTillRetry, err)
	default:
		s.tillFailed(ctx, c, err)
		return nil, err
	}
	if in == nil {
		return nil, nil // not a closed check
	}
	sale, _, err := s.recordSale(ctx, businessID, *in)
	if err != nil && ErrorCode(err) != EValidation {
		return nil, fmt.Errorf("%w: %w", ErrTillRetry, err)
	}
	return sale, err
}

// ReconcileLookback is how far back a reconciliation reads closed orders.
const ReconcileLookback = 24 * time.Hour

// ReconcileTill reads the orders a provider closed in the last day and
// applies any that no webhook brought: a lost webhook costs a delay, never a
// stamp. It answers how many sales it applied for the first time.
func (s *Service) ReconcileTill(ctx context.Context, businessID, provider string) (int, error) {
	p, err := s.tillProvider(provider)
	if err != nil {
		return 0, err
	}
	if p == nil {
		return 0, Problems{"provider": "the generic till is not reconciled: it pushes every sale"}.Err()
	}
	var c *PosConnection
	if err := s.read(ctx, func(tx Tx) error {
		c, err = s.posConnection(ctx, tx, businessID, provider)
		return err
	}); err != nil {
		return 0, err
	}
	if c.Status != PosConnected {
		return 0, Errorf(EConflict, "the %s connection is %s", provider, c.Status)
	}
	now := s.clock()
	sales, err := p.ClosedSales(ctx, c, now.Add(-ReconcileLookback), now)
	if err != nil {
		if ErrorCode(err) != EUnavailable && ErrorCode(err) != ERateLimited {
			s.tillFailed(ctx, c, err)
		}
		return 0, err
	}
	applied := 0
	for _, in := range sales {
		_, created, err := s.recordSale(ctx, businessID, in)
		if err != nil && ErrorCode(err) != EValidation {
			return applied, err
		}
		if created {
			applied++
		}
	}
	s.touchPos(ctx, c, func(c *PosConnection, now time.Time) bool {
		c.LastReconciledAt = &now
		return true
	})
	s.log.InfoContext(ctx, "till reconciled", "business_id", businessID, "provider", provider, "orders", len(sales), "applied", applied)
	return applied, nil
}

// ReconcileAll reconciles every connected business of a provider, one
// after another; a business whose provider fails is logged and skipped.
func (s *Service) ReconcileAll(ctx context.Context, provider string) (int, error) {
	after, total := "", 0
	for {
		var page []*StoredPosConnection
		if err := s.read(ctx, func(tx Tx) error {
			var err error
			page, err = tx.PosConnectionsOf(ctx, provider, PosConnected, after, 100)
			return err
		}); err != nil {
			return total, err
		}
		for _, c := range page {
			n, err := s.ReconcileTill(ctx, c.BusinessID, provider)
			if err != nil {
				s.log.WarnContext(ctx, "till reconciliation failed", "business_id", c.BusinessID, "provider", provider, "err", err)
			}
			total += n
			after = c.BusinessID
		}
		if len(page) < 100 {
			return total, nil
		}
	}
}

// GenericTillSale verifies a generic till's Standard Webhooks signature
// (webhook-id, webhook-timestamp within GenericTillTolerance,
// webhook-signature "v1,<base64 HMAC-SHA256 of id.timestamp.body>" keyed by
// the connection's secret) and returns nil when the call may be decoded and
// recorded with RecordSaleFor. A call that fails is unauthorized.
func (s *Service) GenericTillSale(ctx context.Context, businessID string, call InboundCall) error {
	if err := s.requireBox(); err != nil {
		return err
	}
	var c *PosConnection
	err := s.read(ctx, func(tx Tx) error {
		var err error
		c, err = s.posConnection(ctx, tx, businessID, SourceGeneric)
		return err
	})
	if ErrorCode(err) == ENotFound {
		return NotFound("till connection")
	}
	if err != nil {
		return err
	}
	if err := VerifyStandardWebhook(c.Secrets["secret"], call, s.clock()); err != nil {
		return err
	}
	s.touchWebhook(ctx, c)
	return nil
}

// VerifyStandardWebhook checks a Standard Webhooks signature with the
// secret ("whsec_" + base64 key) at now; any failure is unauthorized.
func VerifyStandardWebhook(secret string, call InboundCall, now time.Time) error {
	bad := func(why string) error { return Errorf(EUnauthorized, "the webhook signature is not valid: %s", why) }
	id, ts, sigs := call.Header("webhook-id"), call.Header("webhook-timestamp"), call.Header("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return bad("webhook-id, webhook-timestamp and webhook-signature are required")
	}
	sec, err := tokenKey(secret)
	if err != nil {
		return bad("the connection has no secret")
	}
	at, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return bad("webhook-timestamp is not unix seconds")
	}
	if d := now.Sub(time.Unix(at, 0)); d > GenericTillTolerance || d < -GenericTillTolerance {
		return bad("webhook-timestamp is more than 5 minutes from now")
	}
	mac := hmac.New(sha256.New, sec)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(call.Body)
	want := []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	for _, sig := range strings.Fields(sigs) {
		if v, b64, ok := strings.Cut(sig, ","); ok && v == "v1" && subtle.ConstantTimeCompare([]byte(b64), want) == 1 {
			return nil
		}
	}
	return bad("no v1 signature matches")
}

// tokenKey decodes a "whsec_" secret's key.
func tokenKey(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return nil, errors.New("not a whsec_ secret")
	}
	return base64.StdEncoding.DecodeString(b64)
}

// RecordSaleFor is RecordSale for a business without an API key (a till's
// webhook): the same rules, the same once-per-order answer.
func (s *Service) RecordSaleFor(ctx context.Context, businessID string, in SaleInput) (*Sale, bool, error) {
	return s.recordSale(ctx, businessID, in)
}

// TillCustomers is a till provider that keeps the business's customers in
// the till too (Poster: a client in a group named after the service, so the
// cashier finds the customer).
type TillCustomers interface {
	EnsureCustomer(ctx context.Context, c *PosConnection, cust *Customer) error
}

// TillCustomerQueue schedules a customer's sync to the business's tills.
type TillCustomerQueue interface {
	EnqueueTillCustomer(ctx context.Context, businessID, provider, customerID string) error
}

// tillCustomersOf returns the customers of card_issued events among evs
// whose business has a connected till that keeps customers.
func (s *Service) tillCustomersOf(ctx context.Context, tx Tx, businessID string, evs []*EventRecord) ([]string, error) {
	if _, ok := s.tillQueue.(TillCustomerQueue); !ok || s.box == nil {
		return nil, nil
	}
	var out []string
	for _, e := range evs {
		if e.Type == CardIssued && e.CustomerID != nil {
			out = append(out, *e.CustomerID)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	p, ok := s.tills[SourcePoster].(TillCustomers)
	if !ok || p == nil {
		return nil, nil
	}
	c, err := tx.PosConnection(ctx, businessID, SourcePoster)
	if ErrorCode(err) == ENotFound || (err == nil && c.Status != PosConnected) {
		return nil, nil
	}
	return out, err
}

func (s *Service) enqueueTillCustomers(ctx context.Context, businessID string, customers []string) error {
	q, ok := s.tillQueue.(TillCustomerQueue)
	if !ok {
		return nil
	}
	for _, id := range customers {
		if err := q.EnqueueTillCustomer(ctx, businessID, SourcePoster, id); err != nil {
			return err
		}
	}
	return nil
}

// SyncTillCustomer creates (or finds) the customer in the business's till.
// It returns an error wrapping ErrTillRetry when trying again may help; a
// customer without a phone, or a till no longer connected, is nothing to do.
func (s *Service) SyncTillCustomer(ctx context.Context, businessID, provider, customerID string) error {
	p, ok := s.tills[provider].(TillCustomers)
	if !ok {
		return nil
	}
	var c *PosConnection
	var cust *Customer
	if err := s.read(ctx, func(tx Tx) error {
		var err error
		if c, err = s.posConnection(ctx, tx, businessID, provider); err != nil {
			return err
		}
		cust, err = tx.Customer(ctx, businessID, customerID)
		return err
	}); err != nil {
		if ErrorCode(err) == ENotFound {
			return nil
		}
		return fmt.Errorf("%w: %w", ErrTillRetry, err)
	}
	if c.Status != PosConnected || cust.Phone == nil {
		return nil
	}
	err := p.EnsureCustomer(ctx, c, cust)
	switch ErrorCode(err) {
	case "":
		return nil
	case EUnavailable, ERateLimited:
		return fmt.Errorf("%w: %w", ErrTillRetry, err)
	}
	s.tillFailed(ctx, c, err)
	return err
}
