package sqlstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/7loc/hub/hub"
)

func TestSnapshotArgs(t *testing.T) {
	s, n, b, tm := "a", 1, true, time.Unix(1, 0)
	var nilStr *string
	raw := []byte("xy")
	args := []any{&s, &n, &b, &tm, nilStr, raw, 7, "k"}
	got := snapshotArgs(args)
	s, n, b, tm, raw[0] = "changed", 2, false, time.Unix(2, 0), 'z'
	if got[0] != "a" || got[1] != 1 || got[2] != true || !got[3].(time.Time).Equal(time.Unix(1, 0)) {
		t.Errorf("pointers not copied: %v", got[:4])
	}
	if p, ok := got[4].(*string); !ok || p != nil {
		t.Errorf("nil pointer = %#v, want a nil *string", got[4])
	}
	if string(got[5].([]byte)) != "xy" || got[6] != 7 || got[7] != "k" {
		t.Errorf("values = %v", got[5:])
	}
	if &args[0] == &got[0] {
		t.Error("snapshotArgs reused the caller's slice")
	}
}

func TestOneRow(t *testing.T) {
	want := "WITH sqlstore_one AS (UPDATE x SET a = $1 WHERE id = $2 RETURNING 1) SELECT 1 / COUNT(*) FROM sqlstore_one"
	if got := oneRow("UPDATE x SET a = $1 WHERE id = $2"); got != want {
		t.Errorf("oneRow = %q", got)
	}
}

// TestUnavailableCodes: the SQLSTATEs of a server that is going away or of
// the pool's timeouts are unavailable (503, try again); others are not.
func TestUnavailableCodes(t *testing.T) {
	tests := []struct {
		code string
		want bool
	}{
		{"57014", true}, // query_canceled: statement_timeout
		{"55P03", true}, // lock_not_available: lock_timeout
		{"57P01", true}, // admin_shutdown: a fast restart
		{"57P03", true}, // cannot_connect_now: starting up
		{"08006", true}, // connection_failure
		{"40P01", true}, // deadlock (after Write's retries)
		{"23505", false},
		{"22P05", false},
		{"42P01", false},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			err := fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: tt.code})
			if got := unavailable(err); got != tt.want {
				t.Errorf("unavailable(%s) = %v, want %v", tt.code, got, tt.want)
			}
			if got := hub.ErrorCode(mapErr(err, "card")) == hub.EUnavailable; got != tt.want {
				t.Errorf("mapErr(%s) unavailable = %v, want %v", tt.code, got, tt.want)
			}
		})
	}
}
