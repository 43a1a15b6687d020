package sqlstore

import "context"

// ExecForTest runs statements outside Tx on the writer (in a transaction),
// for tests that set up what the Tx methods cannot.
func (s *Store) ExecForTest(ctx context.Context, q string) error {
	return s.inTx(ctx, func(qr querier) error {
		_, err := qr.ExecContext(ctx, q)
		return err
	})
}
