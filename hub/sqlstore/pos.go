package sqlstore

import (
	"context"

	"github.com/7loc/hub/hub"
)

const posKind = "till connection"

const posCols = "business_id, provider, status, settings, account, sealed, last_webhook_at, last_reconciled_at," +
	" last_error, last_error_at, created_at, updated_at"

func scanPos(r scanner) (*hub.StoredPosConnection, error) {
	var c hub.StoredPosConnection
	err := r.Scan(&c.BusinessID, &c.Provider, &c.Status, jsonDest{&c.Settings}, &c.Account, &c.Sealed,
		nullTimeDest{&c.LastWebhookAt}, nullTimeDest{&c.LastReconciledAt}, &c.LastError, nullTimeDest{&c.LastErrorAt},
		timeDest{&c.CreatedAt}, timeDest{&c.UpdatedAt})
	return &c, err
}

// PutPosConnection implements hub.PosTx. Another business holding the same
// provider account is a conflict.
func (t *tx) PutPosConnection(ctx context.Context, c *hub.StoredPosConnection) error {
	settings, err := jsonArg(c.Settings)
	if err != nil {
		return err
	}
	if settings == nil {
		settings = "{}"
	}
	_, err = t.exec(ctx, "INSERT INTO pos_connections ("+posCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"+
		" ON CONFLICT (business_id, provider) DO UPDATE SET status = excluded.status, settings = excluded.settings,"+
		" account = excluded.account, sealed = excluded.sealed, last_webhook_at = excluded.last_webhook_at,"+
		" last_reconciled_at = excluded.last_reconciled_at, last_error = excluded.last_error,"+
		" last_error_at = excluded.last_error_at, updated_at = excluded.updated_at",
		c.BusinessID, c.Provider, c.Status, settings, c.Account, c.Sealed, t.ntm(c.LastWebhookAt), t.ntm(c.LastReconciledAt),
		c.LastError, t.ntm(c.LastErrorAt), t.tm(c.CreatedAt), t.tm(c.UpdatedAt))
	return mapErr(err, posKind)
}

// PosConnection implements hub.PosTx.
func (t *tx) PosConnection(ctx context.Context, businessID, provider string) (*hub.StoredPosConnection, error) {
	return one(ctx, t, posKind, "SELECT "+posCols+" FROM pos_connections WHERE business_id = ? AND provider = ?",
		[]any{businessID, provider}, scanPos)
}

// PosConnectionByAccount implements hub.PosTx.
func (t *tx) PosConnectionByAccount(ctx context.Context, provider, account string) (*hub.StoredPosConnection, error) {
	return one(ctx, t, posKind, "SELECT "+posCols+" FROM pos_connections WHERE provider = ? AND account = ?",
		[]any{provider, account}, scanPos)
}

// PosConnectionsOf implements hub.PosTx: in business id order.
func (t *tx) PosConnectionsOf(ctx context.Context, provider, status, after string, limit int) ([]*hub.StoredPosConnection, error) {
	return list(ctx, t, posKind, "SELECT "+posCols+" FROM pos_connections WHERE provider = ? AND status = ? AND business_id > ?"+
		" ORDER BY business_id LIMIT ?", []any{provider, status, after, limit}, scanPos)
}

// PosConnections implements hub.PosTx.
func (t *tx) PosConnections(ctx context.Context, businessID string) ([]*hub.StoredPosConnection, error) {
	return list(ctx, t, posKind, "SELECT "+posCols+" FROM pos_connections WHERE business_id = ? ORDER BY provider",
		[]any{businessID}, scanPos)
}

// DeletePosConnection implements hub.PosTx.
func (t *tx) DeletePosConnection(ctx context.Context, businessID, provider string) error {
	_, err := t.exec(ctx, "DELETE FROM pos_connections WHERE business_id = ? AND provider = ?", businessID, provider)
	return mapErr(err, posKind)
}
