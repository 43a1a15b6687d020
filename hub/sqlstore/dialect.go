package sqlstore

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// bindCache remembers queries rebound from ? to $n placeholders.
type bindCache struct {
	m sync.Map // string -> string
	n atomic.Int64
}

// maxBinds bounds the cache; queries past it are rebound on every use.
const maxBinds = 2048

// get returns q rebound for PostgreSQL.
func (c *bindCache) get(q string) string {
	if v, ok := c.m.Load(q); ok {
		return v.(string)
	}
	b := rebind(q)
	if c.n.Load() < maxBinds {
		if _, loaded := c.m.LoadOrStore(q, b); !loaded {
			c.n.Add(1)
		}
	}
	return b
}

// rebind turns each ? outside quotes into $1, $2, ...
func rebind(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// sqliteTime is how SQLite stores times: UTC, milliseconds, sortable as text.
const sqliteTime = "2006-01-02T15:04:05.000Z"

// timeLayouts are the other forms the time scanner accepts from TEXT.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// parseTime reads a stored time in any of the accepted forms, in UTC.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(sqliteTime, s); err == nil {
		return t, nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("sqlstore: unreadable time %q", s)
}

// toTime converts a column value to a time; ok is false for NULL.
func toTime(v any) (t time.Time, ok bool, err error) {
	switch x := v.(type) {
	case nil:
		return time.Time{}, false, nil
	case time.Time:
		return x.UTC(), true, nil
	case string:
		t, err = parseTime(x)
		return t, err == nil, err
	case []byte:
		t, err = parseTime(string(x))
		return t, err == nil, err
	default:
		return time.Time{}, false, fmt.Errorf("sqlstore: cannot read %T as a time", v)
	}
}

// timeDest scans a NOT NULL time column (timestamptz or SQLite TEXT).
type timeDest struct{ p *time.Time }

// Scan implements sql.Scanner.
func (d timeDest) Scan(v any) error {
	t, ok, err := toTime(v)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("sqlstore: NULL in a time column that needs a value")
	}
	*d.p = t
	return nil
}

// nullTimeDest scans a nullable time column into a *time.Time.
type nullTimeDest struct{ p **time.Time }

// Scan implements sql.Scanner.
func (d nullTimeDest) Scan(v any) error {
	t, ok, err := toTime(v)
	if err != nil {
		return err
	}
	if !ok {
		*d.p = nil
		return nil
	}
	*d.p = &t
	return nil
}

// jsonDest scans a JSON column (jsonb or TEXT) into p; NULL leaves p as it is.
type jsonDest struct{ p any }

// Scan implements sql.Scanner.
func (d jsonDest) Scan(v any) error {
	var b []byte
	switch x := v.(type) {
	case nil:
		return nil
	case []byte:
		b = x
	case string:
		b = []byte(x)
	default:
		return fmt.Errorf("sqlstore: cannot read %T as JSON", v)
	}
	if err := json.Unmarshal(b, d.p); err != nil {
		return fmt.Errorf("sqlstore: stored JSON: %w", err)
	}
	return nil
}

// jsonArg marshals v for a JSON column; a nil value is NULL.
func jsonArg(v any) (driver.Value, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: marshal JSON: %w", err)
	}
	if string(b) == "null" {
		return nil, nil
	}
	return string(b), nil
}
