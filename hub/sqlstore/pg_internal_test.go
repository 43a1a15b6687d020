package sqlstore

import (
	"testing"
	"time"
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
