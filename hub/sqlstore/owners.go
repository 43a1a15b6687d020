package sqlstore

import (
	"context"
	"time"

	"github.com/7loc/hub/hub"
)

const (
	ownerKind      = "owner"
	invitationKind = "invitation"
	sessionKind    = "session"
)

const ownerCols = "o.id, o.business_id, o.email, o.name, o.language, o.password_hash, o.created_at"

func scanOwner(r scanner) (*hub.Owner, error) {
	var o hub.Owner
	err := r.Scan(&o.ID, &o.BusinessID, &o.Email, &o.Name, &o.Language, &o.PasswordHash, timeDest{&o.CreatedAt})
	return &o, err
}

// CreateOwner implements hub.ConsoleTx; a known email is a conflict.
func (t *tx) CreateOwner(ctx context.Context, o *hub.Owner) error {
	err := t.insert(ctx, ownerKind,
		"INSERT INTO owners (id, business_id, email, name, language, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
		o.ID, o.BusinessID, o.Email, o.Name, o.Language, o.PasswordHash, t.tm(o.CreatedAt))
	if hub.ErrorCode(err) == hub.EConflict {
		return &hub.Error{Code: hub.EConflict, Message: "an owner with this email exists", Err: err}
	}
	return err
}

// Owner implements hub.ConsoleTx.
func (t *tx) Owner(ctx context.Context, businessID, id string) (*hub.Owner, error) {
	return one(ctx, t, ownerKind, "SELECT "+ownerCols+" FROM owners o WHERE o.id = ? AND o.business_id = ?",
		[]any{id, businessID}, scanOwner)
}

// OwnerByEmail implements hub.ConsoleTx.
func (t *tx) OwnerByEmail(ctx context.Context, email string) (*hub.Owner, error) {
	return one(ctx, t, ownerKind, "SELECT "+ownerCols+" FROM owners o WHERE o.email = ?",
		[]any{email}, scanOwner)
}

// UpdateOwner implements hub.ConsoleTx: it stores Name, Language and PasswordHash.
func (t *tx) UpdateOwner(ctx context.Context, o *hub.Owner) error {
	return t.execOne(ctx, ownerKind,
		"UPDATE owners SET name = ?, language = ?, password_hash = ? WHERE id = ? AND business_id = ?",
		o.Name, o.Language, o.PasswordHash, o.ID, o.BusinessID)
}

// CreateInvitation implements hub.ConsoleTx.
func (t *tx) CreateInvitation(ctx context.Context, inv *hub.Invitation) error {
	return t.insert(ctx, invitationKind,
		"INSERT INTO owner_invitations (id, business_id, owner_id, token_hash, purpose, expires_at, used_at, created_at)"+
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		inv.ID, inv.BusinessID, inv.OwnerID, inv.TokenHash, inv.LinkPurpose(), t.tm(inv.ExpiresAt), t.ntm(inv.UsedAt),
		t.tm(inv.CreatedAt))
}

// InvitationByHash implements hub.ConsoleTx.
func (t *tx) InvitationByHash(ctx context.Context, hash string) (*hub.Invitation, error) {
	return one(ctx, t, invitationKind,
		"SELECT i.id, i.business_id, i.owner_id, i.token_hash, i.purpose, i.expires_at, i.used_at, i.created_at, "+ownerCols+
			" FROM owner_invitations i JOIN owners o ON o.id = i.owner_id WHERE i.token_hash = ?",
		[]any{hash}, func(r scanner) (*hub.Invitation, error) {
			var i hub.Invitation
			var o hub.Owner
			err := r.Scan(&i.ID, &i.BusinessID, &i.OwnerID, &i.TokenHash, &i.Purpose, timeDest{&i.ExpiresAt}, nullTimeDest{&i.UsedAt},
				timeDest{&i.CreatedAt},
				&o.ID, &o.BusinessID, &o.Email, &o.Name, &o.Language, &o.PasswordHash, timeDest{&o.CreatedAt})
			i.Owner = &o
			return &i, err
		})
}

// UseInvitation implements hub.ConsoleTx.
func (t *tx) UseInvitation(ctx context.Context, id string, at time.Time) (bool, error) {
	res, err := t.exec(ctx, "UPDATE owner_invitations SET used_at = ? WHERE id = ? AND used_at IS NULL", t.tm(at), id)
	if err != nil {
		return false, mapErr(err, invitationKind)
	}
	n, err := res.RowsAffected()
	return n == 1, mapErr(err, invitationKind)
}

// CreateSession implements hub.ConsoleTx.
func (t *tx) CreateSession(ctx context.Context, s *hub.OwnerSession) error {
	return t.insert(ctx, sessionKind,
		"INSERT INTO owner_sessions (id, business_id, owner_id, token_hash, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)",
		s.ID, s.BusinessID, s.OwnerID, s.TokenHash, t.tm(s.CreatedAt), t.tm(s.LastSeenAt))
}

// SessionByHash implements hub.ConsoleTx.
func (t *tx) SessionByHash(ctx context.Context, hash string) (*hub.OwnerSession, error) {
	return one(ctx, t, sessionKind,
		"SELECT s.id, s.business_id, s.owner_id, s.token_hash, s.created_at, s.last_seen_at, "+ownerCols+", "+
			"b.id, b.name, b.timezone, b.default_language, b.created_at"+
			" FROM owner_sessions s JOIN owners o ON o.id = s.owner_id JOIN businesses b ON b.id = s.business_id"+
			" WHERE s.token_hash = ?",
		[]any{hash}, func(r scanner) (*hub.OwnerSession, error) {
			var s hub.OwnerSession
			var o hub.Owner
			var b hub.Business
			err := r.Scan(&s.ID, &s.BusinessID, &s.OwnerID, &s.TokenHash, timeDest{&s.CreatedAt}, timeDest{&s.LastSeenAt},
				&o.ID, &o.BusinessID, &o.Email, &o.Name, &o.Language, &o.PasswordHash, timeDest{&o.CreatedAt},
				&b.ID, &b.Name, &b.Timezone, &b.DefaultLanguage, timeDest{&b.CreatedAt})
			s.Owner, s.Business = &o, &b
			return &s, err
		})
}

// TouchSession implements hub.ConsoleTx.
func (t *tx) TouchSession(ctx context.Context, id string, at time.Time) error {
	return t.execOne(ctx, sessionKind, "UPDATE owner_sessions SET last_seen_at = ? WHERE id = ?", t.tm(at), id)
}

// DeleteSession implements hub.ConsoleTx.
func (t *tx) DeleteSession(ctx context.Context, id string) error {
	_, err := t.exec(ctx, "DELETE FROM owner_sessions WHERE id = ?", id)
	return mapErr(err, sessionKind)
}

// DeleteOwnerSessions implements hub.ConsoleTx.
func (t *tx) DeleteOwnerSessions(ctx context.Context, ownerID string) (int64, error) {
	res, err := t.exec(ctx, "DELETE FROM owner_sessions WHERE owner_id = ?", ownerID)
	if err != nil {
		return 0, mapErr(err, sessionKind)
	}
	n, err := res.RowsAffected()
	return n, mapErr(err, sessionKind)
}

// StaffList implements hub.ConsoleTx: a business's logins in login order.
func (t *tx) StaffList(ctx context.Context, businessID string) ([]*hub.Staff, error) {
	return list(ctx, t, "staff",
		"SELECT id, business_id, login, name, created_at FROM staff WHERE business_id = ? ORDER BY login",
		[]any{businessID}, func(r scanner) (*hub.Staff, error) {
			var s hub.Staff
			err := r.Scan(&s.ID, &s.BusinessID, &s.Login, &s.Name, timeDest{&s.CreatedAt})
			return &s, err
		})
}
