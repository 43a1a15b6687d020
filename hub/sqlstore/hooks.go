package sqlstore

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/7loc/hub/hub"
)

const (
	hookKind    = "hook"
	attemptKind = "delivery attempt"
)

const hookCols = "id, business_id, event, target_url, secret, previous_secret, previous_secret_until, status," +
	" failing_since, active_since, created_at"

func scanHook(r scanner) (*hub.Hook, error) {
	var h hub.Hook
	err := r.Scan(&h.ID, &h.BusinessID, &h.Event, &h.TargetURL, &h.Secret, &h.PreviousSecret,
		nullTimeDest{&h.PreviousSecretUntil}, &h.Status, nullTimeDest{&h.FailingSince}, timeDest{&h.ActiveSince},
		timeDest{&h.CreatedAt})
	return &h, err
}

// CreateHook implements hub.Tx; a hook the business has for the same event
// and URL is a conflict.
func (t *tx) CreateHook(ctx context.Context, h *hub.Hook) error {
	return t.insert(ctx, hookKind,
		"INSERT INTO hooks ("+hookCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		h.ID, h.BusinessID, h.Event, h.TargetURL, h.Secret, h.PreviousSecret, t.ntm(h.PreviousSecretUntil),
		h.Status, t.ntm(h.FailingSince), t.tm(h.ActiveSince), t.tm(h.CreatedAt))
}

// Hook implements hub.Tx.
func (t *tx) Hook(ctx context.Context, businessID, id string) (*hub.Hook, error) {
	return one(ctx, t, hookKind, "SELECT "+hookCols+" FROM hooks WHERE id = ? AND business_id = ?",
		[]any{id, businessID}, scanHook)
}

// HookByTarget implements hub.Tx.
func (t *tx) HookByTarget(ctx context.Context, businessID, event, targetURL string) (*hub.Hook, error) {
	return one(ctx, t, hookKind,
		"SELECT "+hookCols+" FROM hooks WHERE business_id = ? AND event = ? AND target_url = ?",
		[]any{businessID, event, targetURL}, scanHook)
}

// Hooks implements hub.Tx: newest first, at most page.Size()+1.
func (t *tx) Hooks(ctx context.Context, businessID string, page hub.Page) ([]*hub.Hook, error) {
	var f filter
	f.add("business_id = ?", businessID)
	tail := f.page("id", page)
	return list(ctx, t, hookKind, "SELECT "+hookCols+" FROM hooks"+f.sql()+tail, f.args, scanHook)
}

// HooksForEvents implements hub.DispatchTx: active hooks of any of the
// event types or of every event, oldest first.
func (t *tx) HooksForEvents(ctx context.Context, businessID string, types []hub.EventType) ([]*hub.Hook, error) {
	args := make([]any, 0, len(types)+3)
	args = append(args, businessID, hub.HookActive, hub.HookAllEvents)
	for _, e := range types {
		args = append(args, string(e))
	}
	return list(ctx, t, hookKind,
		"SELECT "+hookCols+" FROM hooks WHERE business_id = ? AND status = ? AND event IN ("+inList(len(types)+1)+") ORDER BY id",
		args, scanHook)
}

// CountHooks implements hub.Tx.
func (t *tx) CountHooks(ctx context.Context, businessID string) (int, error) {
	var n int
	if err := t.queryRow(ctx, "SELECT COUNT(*) FROM hooks WHERE business_id = ?", businessID).Scan(&n); err != nil {
		return 0, mapErr(err, hookKind)
	}
	return n, nil
}

// UpdateHook implements hub.Tx: it stores Secret, PreviousSecret,
// PreviousSecretUntil, Status, FailingSince and ActiveSince. On PostgreSQL
// the update goes out with the next statement or COMMIT (see deferOne).
func (t *tx) UpdateHook(ctx context.Context, h *hub.Hook) error {
	return t.deferOne(ctx, hookKind,
		"UPDATE hooks SET secret = ?, previous_secret = ?, previous_secret_until = ?, status = ?, failing_since = ?,"+
			" active_since = ? WHERE id = ? AND business_id = ?",
		h.Secret, h.PreviousSecret, t.ntm(h.PreviousSecretUntil), h.Status, t.ntm(h.FailingSince),
		t.tm(h.ActiveSince), h.ID, h.BusinessID)
}

// DeleteHook implements hub.Tx: an unknown hook is no error. Its delivery
// attempts stay until purged.
func (t *tx) DeleteHook(ctx context.Context, businessID, id string) error {
	_, err := t.exec(ctx, "DELETE FROM hooks WHERE id = ? AND business_id = ?", id, businessID)
	return mapErr(err, hookKind)
}

// DeleteHooksByTarget implements hub.Tx: the URL must match exactly.
func (t *tx) DeleteHooksByTarget(ctx context.Context, businessID, targetURL string) (int64, error) {
	return t.execCount(ctx, hookKind, "DELETE FROM hooks WHERE business_id = ? AND target_url = ?", businessID, targetURL)
}

const attemptCols = "id, business_id, hook_id, event_id, attempt, status_code, duration_ms, error, response_body," +
	" delivered, at"

func scanAttempt(r scanner) (*hub.DeliveryAttempt, error) {
	var a hub.DeliveryAttempt
	err := r.Scan(&a.ID, &a.BusinessID, &a.HookID, &a.EventID, &a.Attempt, &a.StatusCode, &a.DurationMS, &a.Error,
		&a.ResponseBody, &a.Delivered, timeDest{&a.At})
	return &a, err
}

// InsertDeliveryAttempt implements hub.Tx. Error and ResponseBody are stored
// as valid UTF-8 without NUL (PostgreSQL text takes nothing else): other
// bytes become U+FFFD, on both databases alike.
func (t *tx) InsertDeliveryAttempt(ctx context.Context, a *hub.DeliveryAttempt) error {
	return t.insert(ctx, attemptKind, insertAttempt, t.attemptArgs(a)...)
}

const insertAttempt = "INSERT INTO delivery_attempts (" + attemptCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

// attemptArgs are the values of insertAttempt.
func (t *tx) attemptArgs(a *hub.DeliveryAttempt) []any {
	var errText *string
	if a.Error != nil {
		s := storedText(*a.Error)
		errText = &s
	}
	return []any{a.ID, a.BusinessID, a.HookID, a.EventID, a.Attempt, a.StatusCode, a.DurationMS, errText,
		storedText(a.ResponseBody), a.Delivered, t.tm(a.At)}
}

// DeliveryAttempts implements hub.Tx: newest first, at most page.Size()+1.
// The attempts of a deleted hook are listed until purged.
func (t *tx) DeliveryAttempts(ctx context.Context, businessID, hookID string, page hub.Page) ([]*hub.DeliveryAttempt, error) {
	var f filter
	f.add("hook_id = ?", hookID)
	f.add("business_id = ?", businessID)
	tail := f.page("id", page)
	return list(ctx, t, attemptKind, "SELECT "+attemptCols+" FROM delivery_attempts"+f.sql()+tail, f.args, scanAttempt)
}

// PurgeDeliveryAttempts implements hub.Tx: it deletes at most limit
// attempts of every business made before at, oldest first, and returns how
// many went.
func (t *tx) PurgeDeliveryAttempts(ctx context.Context, at time.Time, limit int) (int64, error) {
	return t.execCount(ctx, attemptKind, `DELETE FROM delivery_attempts WHERE id IN
		(SELECT id FROM delivery_attempts WHERE at < ? ORDER BY at LIMIT ?)`, t.tm(at), limit)
}

// execCount runs a statement and returns how many rows it touched.
func (t *tx) execCount(ctx context.Context, kind, q string, args ...any) (int64, error) {
	res, err := t.exec(ctx, q, args...)
	if err != nil {
		return 0, mapErr(err, kind)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, mapErr(err, kind)
	}
	return n, nil
}

// storedText returns s as valid UTF-8 without NUL bytes, replacing others
// with U+FFFD: a PostgreSQL text column refuses them.
func storedText(s string) string {
	if utf8.ValidString(s) && !strings.Contains(s, "\x00") {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// prefixed qualifies each column of a column list with a table alias.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, c := range parts {
		parts[i] = alias + "." + c
	}
	return strings.Join(parts, ", ")
}

// deliveryStateQuery reads a delivery job's hook, its event and whether the
// event was delivered to the hook, in one statement.
var deliveryStateQuery = "SELECT " + prefixed("h", hookCols) + ", " + eventCols +
	// "AND d.delivered" matches the partial index's predicate word for word, which SQLite needs to use it.
	", EXISTS (SELECT 1 FROM delivery_attempts d WHERE d.hook_id = h.id AND d.event_id = e.id AND d.delivered)" +
	" FROM hooks h, events e WHERE h.id = ? AND h.business_id = ? AND e.id = ? AND e.business_id = ?"

// DeliveryState returns what a delivery job needs in one round trip: the
// hook, the event, and whether the event was delivered to the hook. A hook
// or event that does not exist is not_found ("delivery").
func (t *tx) DeliveryState(ctx context.Context, businessID, hookID, eventID string) (*hub.Hook, *hub.EventRecord, bool, error) {
	var (
		h         hub.Hook
		e         hub.EventRecord
		typ       string
		payload   []byte
		delivered bool
	)
	err := t.queryRow(ctx, deliveryStateQuery, hookID, businessID, eventID, businessID).Scan(
		&h.ID, &h.BusinessID, &h.Event, &h.TargetURL, &h.Secret, &h.PreviousSecret,
		nullTimeDest{&h.PreviousSecretUntil}, &h.Status, nullTimeDest{&h.FailingSince}, timeDest{&h.ActiveSince},
		timeDest{&h.CreatedAt},
		&e.ID, &e.BusinessID, &typ, &e.CustomerID, &e.CardID, &e.VoucherID,
		timeDest{&e.CreatedAt}, &e.Dispatched, &payload,
		&delivered)
	if err != nil {
		return nil, nil, false, mapErr(err, "delivery")
	}
	e.Type, e.Payload = hub.EventType(typ), payload
	return &h, &e, delivered, nil
}

// RecordDelivered logs a successful delivery attempt and clears the hook's
// failure streak, if it has one. On PostgreSQL both go out with COMMIT: one
// round trip, and the hook's row, which every delivery to the hook would
// otherwise read, is written only when it changes. The attempt's ID must be new (a
// conflict fails the transaction on PostgreSQL); an unknown hook is no error.
func (t *tx) RecordDelivered(ctx context.Context, a *hub.DeliveryAttempt) error {
	var err error
	if _, ok := t.pg.(*pgTx); ok {
		err = t.deferExec(ctx, attemptKind, insertAttempt, t.attemptArgs(a)...)
	} else {
		err = t.InsertDeliveryAttempt(ctx, a)
	}
	if err != nil {
		return err
	}
	return t.deferExec(ctx, hookKind,
		"UPDATE hooks SET failing_since = NULL WHERE id = ? AND business_id = ? AND failing_since IS NOT NULL",
		a.HookID, a.BusinessID)
}
