package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/7loc/hub/hub"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// SQLite result codes this package tells apart (extended codes carry the
// primary code in their low byte).
const (
	sqliteBusy     = 5
	sqliteLocked   = 6
	sqliteCantOpen = 14
	// SQLITE_CONSTRAINT_PRIMARYKEY and SQLITE_CONSTRAINT_UNIQUE.
	sqliteConstraintPK     = 1555
	sqliteConstraintUnique = 2067
)

// conflicts names the unique constraints of the schema: the index name (as
// PostgreSQL reports it) and the columns (as SQLite reports them), with the
// message a caller sees.
var conflicts = []struct {
	index, columns, message string
}{
	{"staff_business_login_key", "staff.business_id, staff.login", "a staff login with this name exists"},
	{"api_keys_staff_active_key", "api_keys.staff_id", "the staff login already has an active API key"},
	{"api_keys_hash_key", "api_keys.hash", "an API key with this hash exists"},
	{"customers_business_email_key", "customers.business_id, customers.email", "a customer with this email exists"},
	{"customers_business_phone_key", "customers.business_id, customers.phone", "a customer with this phone exists"},
	{"cards_customer_template_key", "cards.customer_id, cards.template_id", "the customer already holds a card of this template"},
	{"vouchers_business_code_key", "vouchers.business_id, vouchers.redeem_code", "a voucher with this redeem code exists"},
	{"hooks_business_event_target_key", "hooks.business_id, hooks.event, hooks.target_url", "a hook for this event and URL exists"},
	{"idempotency_keys_pkey", "idempotency_keys.business_id, idempotency_keys.key", "the idempotency key is in use"},
}

// mapErr is the one place where database errors become domain errors:
//
//   - sql.ErrNoRows: not_found for the kind of object ("card", "api key");
//   - a unique violation: conflict, with a message naming what exists;
//   - an unreachable, closed, busy or timed-out database, a serialization
//     failure or deadlock (after Write's retries): unavailable;
//   - a *hub.Error: unchanged;
//   - anything else: wrapped with the kind, which callers see as internal.
func mapErr(err error, kind string) error {
	if err == nil {
		return nil
	}
	var he *hub.Error
	if errors.As(err, &he) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return hub.NotFound(kind)
	}
	if msg, ok := uniqueViolation(err, kind); ok {
		return &hub.Error{Code: hub.EConflict, Message: msg, Err: err}
	}
	if unavailable(err) {
		return hub.Unavailable("database", err)
	}
	return fmt.Errorf("sqlstore: %s: %w", kind, err)
}

// uniqueViolation reports whether err is a unique-constraint violation and
// the message to show for it.
func uniqueViolation(err error, kind string) (string, bool) {
	var detail string
	var pe *pgconn.PgError
	var se *sqlite.Error
	switch {
	case errors.As(err, &pe) && pe.Code == "23505":
		detail = pe.ConstraintName
	case errors.As(err, &se) && (se.Code() == sqliteConstraintUnique || se.Code() == sqliteConstraintPK):
		detail = se.Error()
	default:
		return "", false
	}
	for _, c := range conflicts {
		if detail == c.index || strings.Contains(detail, c.columns) || strings.Contains(detail, "'"+c.index+"'") {
			return c.message, true
		}
	}
	return kind + " already exists", true
}

// unavailable reports whether err means the database cannot be used right
// now, so that trying again later may succeed.
func unavailable(err error) bool {
	if errors.Is(err, errClosed) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	// database/sql has no exported value for this one.
	if strings.Contains(err.Error(), "sql: database is closed") {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || pgconn.Timeout(err) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "53"),                           // insufficient resources
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // shutdown, cannot connect now
			pe.Code == "57014",                     // query cancelled (statement_timeout)
			pe.Code == "55P03",                     // lock not available (lock_timeout)
			pe.Code == "40001", pe.Code == "40P01": // serialization failure, deadlock
			return true
		}
		return false
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqliteBusy, sqliteLocked, sqliteCantOpen:
			return true
		}
	}
	return false
}

// retryable reports whether a PostgreSQL transaction failed on a
// serialization failure, a deadlock or a taken drawn value, and may succeed
// when run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.Is(err, errRedraw) || errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// errRedraw marks the failure of a deferred insert whose randomly drawn
// value (a redeem code) was taken: running the transaction again draws anew.
var errRedraw = errors.New("sqlstore: a drawn value is taken")
