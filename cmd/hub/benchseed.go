package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
)

// benchTargets applies a bench's --db, --redis and --hub flags: sqlite is
// a temporary file, postgres HUB_DATABASE_URL (a fresh database); the hub
// binary (nil for a bench that runs no process) defaults to this executable.
func benchTargets(cfg *config, name, db, redisURL string, hubBin *string) error {
	switch db {
	case "sqlite":
		if sqlstore.IsPostgresURL(cfg.DatabaseURL) {
			cfg.DatabaseURL = "" // a temporary file
		}
	case "postgres":
		if !sqlstore.IsPostgresURL(cfg.DatabaseURL) {
			return errors.New(name + " --db postgres needs HUB_DATABASE_URL=postgres://… (a fresh database)")
		}
	default:
		return fmt.Errorf("--db must be sqlite or postgres, not %q", db)
	}
	if redisURL != "" {
		cfg.RedisURL = redisURL
	}
	if hubBin != nil && *hubBin == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		*hubBin = exe
	}
	return nil
}

// seedDB writes a benchmark's bulk data around the store: COPY on
// PostgreSQL, multi-row INSERTs in one transaction on SQLite. Values are
// as for PostgreSQL (time.Time, bool, JSON as []byte); on SQLite they
// become the store's text times, 0 or 1, and JSON text.
type seedDB struct {
	pg *pgx.Conn
	db *sql.DB
}

// openSeedDB connects to the hub's database (a PostgreSQL URL or a SQLite
// file).
func openSeedDB(ctx context.Context, dbURL string) (*seedDB, error) {
	if sqlstore.IsPostgresURL(dbURL) {
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			return nil, err
		}
		return &seedDB{pg: conn}, nil
	}
	db, err := sql.Open("sqlite", "file:"+dbURL+"?_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return &seedDB{db: db}, nil
}

func (s *seedDB) close() {
	if s.pg != nil {
		_ = s.pg.Close(context.Background())
	}
	if s.db != nil {
		_ = s.db.Close()
	}
}

// sqliteValue converts a value to its SQLite form.
func sqliteValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format("2006-01-02T15:04:05.000Z")
	case *time.Time:
		if x == nil {
			return nil
		}
		return sqliteValue(*x)
	case bool:
		if x {
			return 1
		}
		return 0
	case []byte:
		return string(x)
	}
	return v
}

// insert adds n rows to a table; row returns the values of cols.
func (s *seedDB) insert(ctx context.Context, table string, cols []string, n int, row func(i int) []any) error {
	if n == 0 {
		return nil
	}
	if s.pg != nil {
		_, err := s.pg.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromSlice(n, func(i int) ([]any, error) {
			return row(i), nil
		}))
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	per := max(1, min(500, 30000/len(cols)))
	one := "(?" + strings.Repeat(", ?", len(cols)-1) + ")"
	head := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES "
	var stmt *sql.Stmt
	for start := 0; start < n; start += per {
		end := min(start+per, n)
		args := make([]any, 0, (end-start)*len(cols))
		for i := start; i < end; i++ {
			for _, v := range row(i) {
				args = append(args, sqliteValue(v))
			}
		}
		q := head + strings.TrimSuffix(strings.Repeat(one+",", end-start), ",")
		if end-start == per {
			if stmt == nil {
				if stmt, err = tx.PrepareContext(ctx, q); err != nil {
					return err
				}
			}
			_, err = stmt.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, q, args...)
		}
		if err != nil {
			return err
		}
	}
	return tx.Commit()
}

// exec runs one statement with ? placeholders.
func (s *seedDB) exec(ctx context.Context, q string, args ...any) error {
	if s.pg != nil {
		var b strings.Builder
		n := 0
		for _, r := range q {
			if r == '?' {
				n++
				b.WriteString("$" + strconv.Itoa(n))
				continue
			}
			b.WriteRune(r)
		}
		_, err := s.pg.Exec(ctx, b.String(), args...)
		return err
	}
	for i := range args {
		args[i] = sqliteValue(args[i])
	}
	_, err := s.db.ExecContext(ctx, q, args...)
	return err
}

// analyze refreshes the planner's statistics after a bulk load.
func (s *seedDB) analyze(ctx context.Context) error {
	return s.exec(ctx, "ANALYZE")
}

// customerRows describes bulk customers: phone (and email and name, when
// set) of the i-th; every one speaks English and consents to the channels.
type customerRows struct {
	phone   func(i int) string
	email   func(i int) string // nil: no email
	name    func(i int) string // nil: no name
	consent []string
}

// insertCustomers inserts n customers of a business and returns their ids
// in order (id order is insertion order).
func (s *seedDB) insertCustomers(ctx context.Context, businessID string, n int, c customerRows) ([]string, error) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	granted := map[string]hub.Consent{}
	for _, ch := range c.consent {
		granted[ch] = hub.Consent{Granted: true, Source: "bench", At: now}
	}
	consent, _ := json.Marshal(granted)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = hub.NewID(hub.PrefixCustomer)
	}
	opt := func(f func(int) string, i int) any {
		if f == nil {
			return nil
		}
		return f(i)
	}
	err := s.insert(ctx, "customers", []string{"id", "business_id", "phone", "email", "name", "language", "consent", "created_at", "updated_at", "sample_bucket"},
		n, func(i int) []any {
			return []any{ids[i], businessID, c.phone(i), opt(c.email, i), opt(c.name, i), "en", consent, now, now, hub.SampleBucket(ids[i])}
		})
	return ids, err
}

// seedCustomers inserts n customers of a business with bulk SQL: phone
// numbers from pattern (fmt, i), language en, WhatsApp consent.
// It returns their ids in order (id order is insertion order).
func seedCustomers(ctx context.Context, dbURL, businessID, pattern string, n int) ([]string, error) {
	db, err := openSeedDB(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer db.close()
	ids, err := db.insertCustomers(ctx, businessID, n, customerRows{
		phone: func(i int) string { return fmt.Sprintf(pattern, i) }, consent: []string{hub.ChannelWhatsApp}})
	if err != nil {
		return nil, err
	}
	if db.pg != nil {
		err = db.exec(ctx, "ANALYZE customers")
	}
	return ids, err
}

// loadAvg is the machine's 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
