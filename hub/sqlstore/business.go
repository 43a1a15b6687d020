package sqlstore

import (
	"context"
	"time"

	"github.com/7loc/hub/hub"
)

const businessCols = "id, name, timezone, default_language, created_at"

func scanBusiness(r scanner) (*hub.Business, error) {
	var b hub.Business
	err := r.Scan(&b.ID, &b.Name, &b.Timezone, &b.DefaultLanguage, timeDest{&b.CreatedAt})
	return &b, err
}

// CreateBusiness implements hub.Tx.
func (t *tx) CreateBusiness(ctx context.Context, b *hub.Business) error {
	return t.insert(ctx, "business",
		"INSERT INTO businesses ("+businessCols+") VALUES (?, ?, ?, ?, ?)",
		b.ID, b.Name, b.Timezone, b.DefaultLanguage, t.tm(b.CreatedAt))
}

// Business implements hub.Tx.
func (t *tx) Business(ctx context.Context, id string) (*hub.Business, error) {
	return one(ctx, t, "business", "SELECT "+businessCols+" FROM businesses WHERE id = ?",
		[]any{id}, scanBusiness)
}

// BusinessByName implements hub.Tx; with several of one name, the oldest.
func (t *tx) BusinessByName(ctx context.Context, name string) (*hub.Business, error) {
	return one(ctx, t, "business",
		"SELECT "+businessCols+" FROM businesses WHERE name = ? ORDER BY id LIMIT 1",
		[]any{name}, scanBusiness)
}

// CreateLocation implements hub.Tx.
func (t *tx) CreateLocation(ctx context.Context, l *hub.Location) error {
	return t.insert(ctx, "location",
		"INSERT INTO locations (id, business_id, name, created_at) VALUES (?, ?, ?, ?)",
		l.ID, l.BusinessID, l.Name, t.tm(l.CreatedAt))
}

// Location implements hub.Tx.
func (t *tx) Location(ctx context.Context, businessID, id string) (*hub.Location, error) {
	return one(ctx, t, "location",
		"SELECT id, business_id, name, created_at FROM locations WHERE id = ? AND business_id = ?",
		[]any{id, businessID}, func(r scanner) (*hub.Location, error) {
			var l hub.Location
			err := r.Scan(&l.ID, &l.BusinessID, &l.Name, timeDest{&l.CreatedAt})
			return &l, err
		})
}

// CreateStaff implements hub.Tx; an existing login is a conflict.
func (t *tx) CreateStaff(ctx context.Context, s *hub.Staff) error {
	return t.insert(ctx, "staff",
		"INSERT INTO staff (id, business_id, login, name, created_at) VALUES (?, ?, ?, ?, ?)",
		s.ID, s.BusinessID, s.Login, s.Name, t.tm(s.CreatedAt))
}

// StaffByLogin implements hub.Tx.
func (t *tx) StaffByLogin(ctx context.Context, businessID, login string) (*hub.Staff, error) {
	return one(ctx, t, "staff",
		"SELECT id, business_id, login, name, created_at FROM staff WHERE business_id = ? AND login = ?",
		[]any{businessID, login}, func(r scanner) (*hub.Staff, error) {
			var s hub.Staff
			err := r.Scan(&s.ID, &s.BusinessID, &s.Login, &s.Name, timeDest{&s.CreatedAt})
			return &s, err
		})
}

// apiKeyCols selects a key (k) with its staff login (s).
const apiKeyCols = "k.id, k.business_id, k.staff_id, k.name, s.login, k.masked_key, k.status, k.created_at, k.last_used_at, k.hash"

func scanAPIKey(r scanner) (*hub.APIKey, error) {
	var k hub.APIKey
	err := r.Scan(&k.ID, &k.BusinessID, &k.StaffID, &k.Name, &k.Login, &k.MaskedKey, &k.Status,
		timeDest{&k.CreatedAt}, nullTimeDest{&k.LastUsedAt}, &k.Hash)
	return &k, err
}

// CreateAPIKey implements hub.Tx; a second active key for one staff login,
// or a known hash, is a conflict.
func (t *tx) CreateAPIKey(ctx context.Context, k *hub.APIKey) error {
	return t.insert(ctx, "api key",
		"INSERT INTO api_keys (id, business_id, staff_id, name, masked_key, status, hash, created_at, last_used_at)"+
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		k.ID, k.BusinessID, k.StaffID, k.Name, k.MaskedKey, k.Status, k.Hash, t.tm(k.CreatedAt), t.ntm(k.LastUsedAt))
}

// APIKey implements hub.Tx; Login comes from the staff.
func (t *tx) APIKey(ctx context.Context, businessID, id string) (*hub.APIKey, error) {
	return one(ctx, t, "api key",
		"SELECT "+apiKeyCols+" FROM api_keys k JOIN staff s ON s.id = k.staff_id WHERE k.id = ? AND k.business_id = ?",
		[]any{id, businessID}, scanAPIKey)
}

// APIKeys implements hub.Tx: every key of the business, active and revoked,
// newest first.
func (t *tx) APIKeys(ctx context.Context, businessID string) ([]*hub.APIKey, error) {
	return list(ctx, t, "api key",
		"SELECT "+apiKeyCols+" FROM api_keys k JOIN staff s ON s.id = k.staff_id WHERE k.business_id = ? ORDER BY k.id DESC",
		[]any{businessID}, scanAPIKey)
}

// UpdateAPIKey implements hub.Tx: it stores Hash, MaskedKey and Status.
func (t *tx) UpdateAPIKey(ctx context.Context, k *hub.APIKey) error {
	return t.guarded(ctx, "api key", func() error {
		return t.execOne(ctx, "api key",
			"UPDATE api_keys SET hash = ?, masked_key = ?, status = ? WHERE id = ? AND business_id = ?",
			k.Hash, k.MaskedKey, k.Status, k.ID, k.BusinessID)
	})
}

// PrincipalByKeyHash implements hub.Tx: only active keys are found.
func (t *tx) PrincipalByKeyHash(ctx context.Context, hash string) (*hub.Principal, error) {
	return one(ctx, t, "api key",
		"SELECT k.id, k.last_used_at, b.id, b.name, b.timezone, b.default_language, b.created_at,"+
			" s.id, s.business_id, s.login, s.name, s.created_at"+
			" FROM api_keys k JOIN staff s ON s.id = k.staff_id JOIN businesses b ON b.id = k.business_id"+
			" WHERE k.hash = ? AND k.status = 'active'",
		[]any{hash}, func(r scanner) (*hub.Principal, error) {
			var p hub.Principal
			err := r.Scan(&p.KeyID, nullTimeDest{&p.LastUsedAt},
				&p.Business.ID, &p.Business.Name, &p.Business.Timezone, &p.Business.DefaultLanguage, timeDest{&p.Business.CreatedAt},
				&p.Staff.ID, &p.Staff.BusinessID, &p.Staff.Login, &p.Staff.Name, timeDest{&p.Staff.CreatedAt})
			return &p, err
		})
}

// TouchAPIKey implements hub.Tx: it records when the key was last used.
func (t *tx) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	return t.execOne(ctx, "api key", "UPDATE api_keys SET last_used_at = ? WHERE id = ?", t.tm(at), id)
}
