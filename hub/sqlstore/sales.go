package sqlstore

import (
	"context"

	"github.com/7loc/hub/hub"
)

const saleKind = "sale"

const saleCols = "id, business_id, source, order_id, location_id, status, customer, customer_id, card_id, total, currency," +
	" items, closed_at, stamps_added, stamps_removed, refunded_at, rewards, created_at, updated_at"

func scanSale(r scanner) (*hub.Sale, error) {
	var s hub.Sale
	err := r.Scan(&s.ID, &s.BusinessID, &s.Source, &s.OrderID, &s.LocationID, &s.Status, jsonDest{&s.Customer},
		&s.CustomerID, &s.CardID, &s.Total, &s.Currency, jsonDest{&s.Items}, nullTimeDest{&s.ClosedAt},
		&s.StampsAdded, &s.StampsRemoved, nullTimeDest{&s.RefundedAt}, jsonDest{&s.Rewards},
		timeDest{&s.CreatedAt}, timeDest{&s.UpdatedAt})
	return &s, err
}

// CreateSale implements hub.SaleTx.
func (t *tx) CreateSale(ctx context.Context, s *hub.Sale) error {
	cust, items, rewards, err := saleJSON(s)
	if err != nil {
		return err
	}
	return t.insert(ctx, saleKind, "INSERT INTO sales ("+saleCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		s.ID, s.BusinessID, s.Source, s.OrderID, s.LocationID, s.Status, cust, s.CustomerID, s.CardID, s.Total, s.Currency,
		items, t.ntm(s.ClosedAt), s.StampsAdded, s.StampsRemoved, t.ntm(s.RefundedAt), rewards, t.tm(s.CreatedAt), t.tm(s.UpdatedAt))
}

func saleJSON(s *hub.Sale) (cust, items, rewards any, err error) {
	if cust, err = jsonArg(s.Customer); err != nil {
		return
	}
	list := s.Items
	if list == nil {
		list = []hub.SaleItem{}
	}
	if items, err = jsonArg(list); err != nil {
		return
	}
	rw := s.Rewards
	if rw == nil {
		rw = []hub.SaleReward{}
	}
	rewards, err = jsonArg(rw)
	return
}

// SaleByOrder implements hub.SaleTx.
func (t *tx) SaleByOrder(ctx context.Context, businessID, source, orderID string, forUpdate bool) (*hub.Sale, error) {
	return one(ctx, t, saleKind, "SELECT "+saleCols+" FROM sales s WHERE business_id = ? AND source = ? AND order_id = ?"+
		t.lock(forUpdate, "s"), []any{businessID, source, orderID}, scanSale)
}

// UpdateSale implements hub.SaleTx.
func (t *tx) UpdateSale(ctx context.Context, s *hub.Sale) error {
	cust, _, rewards, err := saleJSON(s)
	if err != nil {
		return err
	}
	return t.execOne(ctx, saleKind, "UPDATE sales SET status = ?, customer = ?, customer_id = ?, card_id = ?, stamps_added = ?,"+
		" stamps_removed = ?, refunded_at = ?, rewards = ?, updated_at = ? WHERE id = ? AND business_id = ?",
		s.Status, cust, s.CustomerID, s.CardID, s.StampsAdded, s.StampsRemoved, t.ntm(s.RefundedAt), rewards,
		t.tm(s.UpdatedAt), s.ID, s.BusinessID)
}

// Sales implements hub.SaleTx.
func (t *tx) Sales(ctx context.Context, sf hub.SaleFilter) ([]*hub.Sale, error) {
	var f filter
	f.add("business_id = ?", sf.BusinessID)
	if sf.Status != "" {
		f.add("status = ?", sf.Status)
	}
	tail := f.page("id", sf.Page)
	return list(ctx, t, saleKind, "SELECT "+saleCols+" FROM sales"+f.sql()+tail, f.args, scanSale)
}

// CardByWalletPass implements hub.SaleTx.
func (t *tx) CardByWalletPass(ctx context.Context, businessID, walletPassID string, forUpdate bool) (*hub.Card, error) {
	return one(ctx, t, "card", cardSelect+" WHERE ca.wallet_pass_id = ? AND ca.business_id = ?"+t.lock(forUpdate, "ca"),
		[]any{walletPassID, businessID}, scanCard)
}

// UpdateCardTemplateEarning implements hub.SaleTx.
func (t *tx) UpdateCardTemplateEarning(ctx context.Context, c *hub.CardTemplate) error {
	earning, err := jsonArg(c.Earning)
	if err != nil {
		return err
	}
	return t.execOne(ctx, "card template", "UPDATE card_templates SET earning = ? WHERE id = ? AND business_id = ?",
		earning, c.ID, c.BusinessID)
}
