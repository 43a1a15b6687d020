package sqlstore

import (
	"context"
	"time"

	"github.com/7loc/hub/hub"
)

const voucherCols = "v.id, v.business_id, v.type, v.template_id, v.title, v.description, v.redeem_code," +
	" v.redeem_code_formats, v.status, v.customer_id, v.card_id, v.goal_index, v.expires_at, v.redeemed_at," +
	" v.redeemed_via, v.location_id, v.created_at"

func scanVoucher(r scanner) (*hub.Voucher, error) {
	var v hub.Voucher
	err := r.Scan(&v.ID, &v.BusinessID, &v.Type, &v.TemplateID, &v.Title, &v.Description, &v.RedeemCode,
		jsonDest{&v.RedeemCodeFormats}, &v.Status, &v.CustomerID, &v.CardID, &v.GoalIndex,
		nullTimeDest{&v.ExpiresAt}, nullTimeDest{&v.RedeemedAt}, &v.RedeemedVia, &v.LocationID,
		timeDest{&v.CreatedAt})
	return &v, err
}

const insertVoucher = "INSERT INTO vouchers (id, business_id, type, template_id, title, description, redeem_code," +
	" redeem_code_formats, status, customer_id, card_id, goal_index, expires_at, redeemed_at," +
	" redeemed_via, location_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

func (t *tx) voucherArgs(v *hub.Voucher) ([]any, error) {
	formats, err := jsonArg(v.RedeemCodeFormats)
	if err != nil {
		return nil, err
	}
	return []any{v.ID, v.BusinessID, v.Type, v.TemplateID, v.Title, v.Description, v.RedeemCode, formats, v.Status,
		v.CustomerID, v.CardID, v.GoalIndex, t.ntm(v.ExpiresAt), t.ntm(v.RedeemedAt), v.RedeemedVia,
		v.LocationID, t.tm(v.CreatedAt)}, nil
}

// CreateVoucher implements hub.Tx; a redeem code the business already has
// is a conflict.
func (t *tx) CreateVoucher(ctx context.Context, v *hub.Voucher) error {
	args, err := t.voucherArgs(v)
	if err != nil {
		return err
	}
	return t.insert(ctx, "voucher", insertVoucher, args...)
}

// CreateDrawnVoucher implements hub.Tx. On SQLite it is CreateVoucher. On
// PostgreSQL the insert goes out with the next statement or COMMIT (no round
// trip of its own, where looking the code up first and inserting cost two);
// a code that turns out to be taken fails the transaction with a conflict
// that Write retries from the start, drawing a new code (errRedraw).
func (t *tx) CreateDrawnVoucher(ctx context.Context, v *hub.Voucher) error {
	p, ok := t.pg.(*pgTx)
	if !ok || !t.write {
		return t.CreateVoucher(ctx, v)
	}
	args, err := t.voucherArgs(v)
	if err != nil {
		return err
	}
	p.later(pgWrite{kind: "voucher", q: t.bind(insertVoucher), args: args, redraw: true})
	return nil
}

// Voucher implements hub.Tx; forUpdate locks the voucher row until the
// PostgreSQL transaction ends.
func (t *tx) Voucher(ctx context.Context, businessID, id string, forUpdate bool) (*hub.Voucher, error) {
	return one(ctx, t, "voucher",
		"SELECT "+voucherCols+" FROM vouchers v WHERE v.id = ? AND v.business_id = ?"+t.lock(forUpdate, "v"),
		[]any{id, businessID}, scanVoucher)
}

// VoucherByCode implements hub.Tx; forUpdate locks the voucher row until the
// PostgreSQL transaction ends.
func (t *tx) VoucherByCode(ctx context.Context, businessID, code string, forUpdate bool) (*hub.Voucher, error) {
	return one(ctx, t, "voucher",
		"SELECT "+voucherCols+" FROM vouchers v WHERE v.business_id = ? AND v.redeem_code = ?"+t.lock(forUpdate, "v"),
		[]any{businessID, code}, scanVoucher)
}

// Vouchers implements hub.Tx: newest first, at most page.Size()+1; empty
// fields are ignored. Status "issued" keeps issued vouchers not expired at
// f.Now, "expired" those recorded expired or issued and past expiry at
// f.Now; any other status matches the stored one. A zero Now is the current
// time.
func (t *tx) Vouchers(ctx context.Context, vf hub.VoucherFilter) ([]*hub.Voucher, error) {
	var f filter
	f.add("v.business_id = ?", vf.BusinessID)
	if vf.RedeemCode != "" {
		f.add("v.redeem_code = ?", vf.RedeemCode)
	}
	if vf.CustomerID != "" {
		f.add("v.customer_id = ?", vf.CustomerID)
	}
	now := vf.Now
	if now.IsZero() {
		now = time.Now()
	}
	switch vf.Status {
	case "":
	case hub.VoucherIssued:
		f.add("v.status = 'issued' AND (v.expires_at IS NULL OR v.expires_at > ?)", t.tm(now))
	case hub.VoucherExpired:
		f.add("(v.status = 'expired' OR (v.status = 'issued' AND v.expires_at <= ?))", t.tm(now))
	default:
		f.add("v.status = ?", vf.Status)
	}
	tail := f.page("v.id", vf.Page)
	return list(ctx, t, "voucher", "SELECT "+voucherCols+" FROM vouchers v"+f.sql()+tail, f.args, scanVoucher)
}

// UpdateVoucher implements hub.Tx: it stores Status, RedeemedAt, RedeemedVia
// and LocationID.
func (t *tx) UpdateVoucher(ctx context.Context, v *hub.Voucher) error {
	return t.execOne(ctx, "voucher",
		"UPDATE vouchers SET status = ?, redeemed_at = ?, redeemed_via = ?, location_id = ? WHERE id = ? AND business_id = ?",
		v.Status, t.ntm(v.RedeemedAt), v.RedeemedVia, v.LocationID, v.ID, v.BusinessID)
}

// DueVouchers implements hub.Tx: issued vouchers of every business whose
// expiry is at or before at, oldest expiry first.
func (t *tx) DueVouchers(ctx context.Context, at time.Time, limit int) ([]*hub.Voucher, error) {
	if limit <= 0 {
		return nil, nil
	}
	return list(ctx, t, "voucher",
		"SELECT "+voucherCols+" FROM vouchers v WHERE v.status = 'issued' AND v.expires_at IS NOT NULL"+
			" AND v.expires_at <= ? ORDER BY v.expires_at, v.id LIMIT ?",
		[]any{t.tm(at), limit}, scanVoucher)
}
