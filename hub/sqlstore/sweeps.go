package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
)

const sweepKind = "sweep"

// SweepLastDate implements hub.SweepTx.
func (t *tx) SweepLastDate(ctx context.Context, businessID, kind string) (string, error) {
	var d string
	err := t.queryRow(ctx, "SELECT last_date FROM sweep_runs WHERE business_id = ? AND kind = ?", businessID, kind).Scan(&d)
	if err != nil {
		if hub.ErrorCode(mapErr(err, sweepKind)) == hub.ENotFound {
			return "", nil
		}
		return "", mapErr(err, sweepKind)
	}
	return d, nil
}

// SetSweepLastDate implements hub.SweepTx: the date only moves forward.
func (t *tx) SetSweepLastDate(ctx context.Context, businessID, kind, date string, at time.Time) error {
	_, err := t.exec(ctx, "INSERT INTO sweep_runs (business_id, kind, last_date, updated_at) VALUES (?, ?, ?, ?)"+
		" ON CONFLICT (business_id, kind) DO UPDATE SET last_date = excluded.last_date, updated_at = excluded.updated_at"+
		" WHERE sweep_runs.last_date < excluded.last_date", businessID, kind, date, t.tm(at))
	return mapErr(err, sweepKind)
}

// RecordFire implements hub.SweepTx.
func (t *tx) RecordFire(ctx context.Context, kind, subjectID, period, businessID string, at time.Time) (bool, error) {
	res, err := t.exec(ctx, "INSERT INTO sweep_fires (kind, subject_id, period, business_id, fired_at) VALUES (?, ?, ?, ?, ?)"+
		" ON CONFLICT DO NOTHING", kind, subjectID, period, businessID, t.tm(at))
	if err != nil {
		return false, mapErr(err, sweepKind)
	}
	n, err := res.RowsAffected()
	return n == 1, mapErr(err, sweepKind)
}

// BirthdayCustomers implements hub.SweepTx.
func (t *tx) BirthdayCustomers(ctx context.Context, businessID string, monthDays []string, afterID string, limit int) ([]*hub.Customer, error) {
	if len(monthDays) == 0 {
		return nil, nil
	}
	args := []any{businessID, afterID}
	for _, md := range monthDays {
		args = append(args, md)
	}
	return list(ctx, t, "customer", "SELECT "+customerCols+" FROM customers cu WHERE cu.business_id = ? AND cu.id > ?"+
		" AND cu.birthday IS NOT NULL AND substr(cu.birthday, 6, 5) IN (?"+strings.Repeat(", ?", len(monthDays)-1)+")"+
		" ORDER BY cu.id LIMIT ?", append(args, limit), scanCustomer)
}

// InactiveCards implements hub.SweepTx.
func (t *tx) InactiveCards(ctx context.Context, businessID string, from, to time.Time, afterID string, limit int) ([]*hub.Card, error) {
	return list(ctx, t, "card", cardSelect+" WHERE ca.business_id = ? AND ca.id > ?"+
		" AND COALESCE(ca.last_stamp_at, ca.created_at) > ? AND COALESCE(ca.last_stamp_at, ca.created_at) <= ?"+
		" ORDER BY ca.id LIMIT ?", []any{businessID, afterID, t.tm(from), t.tm(to), limit}, scanCard)
}

// ExpiringVouchers implements hub.SweepTx.
func (t *tx) ExpiringVouchers(ctx context.Context, businessID string, from, to time.Time, afterID string, limit int) ([]*hub.Voucher, error) {
	return list(ctx, t, "voucher", "SELECT "+voucherCols+" FROM vouchers v WHERE v.business_id = ? AND v.id > ?"+
		" AND v.status = 'issued' AND v.expires_at >= ? AND v.expires_at < ? ORDER BY v.id LIMIT ?",
		[]any{businessID, afterID, t.tm(from), t.tm(to), limit}, scanVoucher)
}

// BusinessIDs implements hub.SweepTx.
func (t *tx) BusinessIDs(ctx context.Context, afterID string, limit int) ([]string, error) {
	rows, err := t.query(ctx, "SELECT id FROM businesses WHERE id > ? ORDER BY id LIMIT ?", afterID, limit)
	if err != nil {
		return nil, mapErr(err, "business")
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, mapErr(err, "business")
		}
		ids = append(ids, id)
	}
	return ids, mapErr(rows.Err(), "business")
}
