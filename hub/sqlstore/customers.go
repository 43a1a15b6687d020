package sqlstore

import (
	"context"

	"github.com/7loc/hub/hub"
)

// customerCols selects a customer under the alias cu.
const customerCols = "cu.id, cu.business_id, cu.email, cu.phone, cu.name, cu.language, cu.birthday," +
	" cu.wallet_pass_id, cu.consent, cu.created_at, cu.updated_at"

// customerDest returns the scan destinations of customerCols.
func customerDest(c *hub.Customer) []any {
	return []any{&c.ID, &c.BusinessID, &c.Email, &c.Phone, &c.Name, &c.Language, &c.Birthday,
		&c.WalletPassID, jsonDest{&c.Consent}, timeDest{&c.CreatedAt}, timeDest{&c.UpdatedAt}}
}

func scanCustomer(r scanner) (*hub.Customer, error) {
	var c hub.Customer
	err := r.Scan(customerDest(&c)...)
	return &c, err
}

// CreateCustomer implements hub.Tx; a known email or phone is a conflict.
func (t *tx) CreateCustomer(ctx context.Context, c *hub.Customer) error {
	consent, err := jsonArg(c.Consent)
	if err != nil {
		return err
	}
	return t.insert(ctx, "customer",
		"INSERT INTO customers (id, business_id, email, phone, name, language, birthday, wallet_pass_id, consent, created_at, updated_at, sample_bucket)"+
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		c.ID, c.BusinessID, c.Email, c.Phone, c.Name, c.Language, c.Birthday, c.WalletPassID, consent,
		t.tm(c.CreatedAt), t.tm(c.UpdatedAt), hub.SampleBucket(c.ID))
}

// Customer implements hub.Tx.
func (t *tx) Customer(ctx context.Context, businessID, id string) (*hub.Customer, error) {
	return one(ctx, t, "customer",
		"SELECT "+customerCols+" FROM customers cu WHERE cu.id = ? AND cu.business_id = ?",
		[]any{id, businessID}, scanCustomer)
}

// CustomersByID implements hub.Tx.
func (t *tx) CustomersByID(ctx context.Context, businessID string, ids []string) ([]*hub.Customer, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return list(ctx, t, "customer",
		"SELECT "+customerCols+" FROM customers cu WHERE cu.business_id = ? AND cu.id IN ("+inList(len(ids))+")",
		append([]any{businessID}, strArgs(ids)...), scanCustomer)
}

// CustomerByContact implements hub.Tx: by email, or by phone when email is
// empty; both empty is not_found.
func (t *tx) CustomerByContact(ctx context.Context, businessID, email, phone string) (*hub.Customer, error) {
	var col, val string
	switch {
	case email != "":
		col, val = "cu.email", email
	case phone != "":
		col, val = "cu.phone", phone
	default:
		return nil, hub.NotFound("customer")
	}
	return one(ctx, t, "customer",
		"SELECT "+customerCols+" FROM customers cu WHERE cu.business_id = ? AND "+col+" = ?",
		[]any{businessID, val}, scanCustomer)
}

// Customers implements hub.Tx: newest first, at most page.Size()+1; empty
// filter fields are ignored.
func (t *tx) Customers(ctx context.Context, cf hub.CustomerFilter) ([]*hub.Customer, error) {
	var f filter
	f.add("cu.business_id = ?", cf.BusinessID)
	if cf.Email != "" {
		f.add("cu.email = ?", cf.Email)
	}
	if cf.Phone != "" {
		f.add("cu.phone = ?", cf.Phone)
	}
	tail := f.page("cu.id", cf.Page)
	return list(ctx, t, "customer", "SELECT "+customerCols+" FROM customers cu"+f.sql()+tail, f.args, scanCustomer)
}

// UpdateCustomer implements hub.Tx: it stores every field but ID,
// BusinessID and CreatedAt; taking another customer's email or phone is a
// conflict.
func (t *tx) UpdateCustomer(ctx context.Context, c *hub.Customer) error {
	consent, err := jsonArg(c.Consent)
	if err != nil {
		return err
	}
	return t.guarded(ctx, "customer", func() error {
		return t.execOne(ctx, "customer",
			"UPDATE customers SET email = ?, phone = ?, name = ?, language = ?, birthday = ?, wallet_pass_id = ?,"+
				" consent = ?, updated_at = ? WHERE id = ? AND business_id = ?",
			c.Email, c.Phone, c.Name, c.Language, c.Birthday, c.WalletPassID, consent, t.tm(c.UpdatedAt),
			c.ID, c.BusinessID)
	})
}
