package sqlstore

import (
	"context"

	"github.com/7loc/hub/hub"
)

// cardSelect selects a card (ca) with its customer (cu).
const cardSelect = "SELECT ca.id, ca.business_id, ca.template_id, ca.customer_id, ca.wallet_pass_id, ca.stamps," +
	" ca.stamps_total, ca.goal_index, ca.cycle, ca.status, ca.page_token, ca.created_at, ca.updated_at," +
	" ca.last_stamp_at, ca.last_opened_at, " + customerCols +
	" FROM cards ca JOIN customers cu ON cu.id = ca.customer_id"

// scanCard reads a cardSelect row. Goals and PageURL are the service's to
// compute and stay empty.
func scanCard(r scanner) (*hub.Card, error) {
	c := &hub.Card{Customer: &hub.Customer{}}
	dest := append([]any{&c.ID, &c.BusinessID, &c.TemplateID, &c.CustomerID, &c.WalletPassID, &c.Stamps,
		&c.StampsTotal, &c.GoalIndex, &c.Cycle, &c.Status, &c.PageToken, timeDest{&c.CreatedAt},
		timeDest{&c.UpdatedAt}, nullTimeDest{&c.LastStampAt}, nullTimeDest{&c.LastOpenedAt}},
		customerDest(c.Customer)...)
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	return c, nil
}

// CreateCard implements hub.Tx; a second card of one template for one
// customer is a conflict. Customer, Goals and PageURL are not stored.
func (t *tx) CreateCard(ctx context.Context, c *hub.Card) error {
	return t.insert(ctx, "card",
		"INSERT INTO cards (id, business_id, template_id, customer_id, wallet_pass_id, stamps, stamps_total,"+
			" goal_index, cycle, status, page_token, created_at, updated_at, last_stamp_at, last_opened_at)"+
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		c.ID, c.BusinessID, c.TemplateID, c.CustomerID, c.WalletPassID, c.Stamps, c.StampsTotal,
		c.GoalIndex, c.Cycle, c.Status, c.PageToken, t.tm(c.CreatedAt), t.tm(c.UpdatedAt),
		t.ntm(c.LastStampAt), t.ntm(c.LastOpenedAt))
}

// Card implements hub.Tx: the card with its Customer; forUpdate locks the
// card row until the PostgreSQL transaction ends.
func (t *tx) Card(ctx context.Context, businessID, id string, forUpdate bool) (*hub.Card, error) {
	return one(ctx, t, "card",
		cardSelect+" WHERE ca.id = ? AND ca.business_id = ?"+t.lock(forUpdate, "ca"),
		[]any{id, businessID}, scanCard)
}

// CardByCustomerTemplate implements hub.Tx: the customer's card of the
// template, with its Customer.
func (t *tx) CardByCustomerTemplate(ctx context.Context, businessID, customerID, templateID string) (*hub.Card, error) {
	return one(ctx, t, "card",
		cardSelect+" WHERE ca.customer_id = ? AND ca.template_id = ? AND ca.business_id = ?",
		[]any{customerID, templateID, businessID}, scanCard)
}

// Cards implements hub.Tx: newest first, at most page.Size()+1, with their
// customers; Email and Phone match the customer; empty fields are ignored.
func (t *tx) Cards(ctx context.Context, cf hub.CardFilter) ([]*hub.Card, error) {
	var f filter
	f.add("ca.business_id = ?", cf.BusinessID)
	if cf.CustomerID != "" {
		f.add("ca.customer_id = ?", cf.CustomerID)
	}
	if cf.TemplateID != "" {
		f.add("ca.template_id = ?", cf.TemplateID)
	}
	if cf.Email != "" || cf.Phone != "" {
		// Lets the planner start from the customer's unique index.
		f.add("cu.business_id = ?", cf.BusinessID)
	}
	if cf.Email != "" {
		f.add("cu.email = ?", cf.Email)
	}
	if cf.Phone != "" {
		f.add("cu.phone = ?", cf.Phone)
	}
	tail := f.page("ca.id", cf.Page)
	return list(ctx, t, "card", cardSelect+f.sql()+tail, f.args, scanCard)
}

// UpdateCard implements hub.Tx: it stores Stamps, StampsTotal, GoalIndex,
// Cycle, Status, UpdatedAt, LastStampAt and LastOpenedAt. On PostgreSQL the
// update goes out with the next statement or COMMIT (see deferOne).
func (t *tx) UpdateCard(ctx context.Context, c *hub.Card) error {
	return t.deferOne(ctx, "card",
		"UPDATE cards SET stamps = ?, stamps_total = ?, goal_index = ?, cycle = ?, status = ?, updated_at = ?,"+
			" last_stamp_at = ?, last_opened_at = ? WHERE id = ? AND business_id = ?",
		c.Stamps, c.StampsTotal, c.GoalIndex, c.Cycle, c.Status, t.tm(c.UpdatedAt),
		t.ntm(c.LastStampAt), t.ntm(c.LastOpenedAt), c.ID, c.BusinessID)
}

// BusinessOfCard implements hub.Tx: the business that owns the card, for
// the public card page, which knows no business. An unknown card is
// not_found ("card").
func (t *tx) BusinessOfCard(ctx context.Context, cardID string) (*hub.Business, error) {
	return one(ctx, t, "card",
		"SELECT b.id, b.name, b.timezone, b.default_language, b.created_at"+
			" FROM cards ca JOIN businesses b ON b.id = ca.business_id WHERE ca.id = ?",
		[]any{cardID}, scanBusiness)
}
