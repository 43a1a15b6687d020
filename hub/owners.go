package hub

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Id prefixes of the console's accounts.
const (
	PrefixOwner      = "own"
	PrefixInvitation = "inv"
	PrefixSession    = "ses"
)

// Rules of owner accounts and their sessions.
const (
	// InvitationTTL is how long an invitation link can be used.
	InvitationTTL = 72 * time.Hour
	// SessionIdleTimeout ends a session nobody used for this long.
	SessionIdleTimeout = 12 * time.Hour
	// SessionMaxAge ends every session this long after the login.
	SessionMaxAge = 30 * 24 * time.Hour
	// MinPasswordLength is the fewest characters a password may have.
	MinPasswordLength = 10
	// MaxPasswordLength bounds passwords (in bytes), so hashing stays cheap to refuse.
	MaxPasswordLength = 256
	// sessionTouchEvery is how often a session's last use is written at most.
	sessionTouchEvery = time.Minute
	// invitationPath is where the console serves invitations.
	invitationPath = "/console/invitations/"
)

// Owner is a person who manages a business in the console. Email is unique
// across the hub: the login form asks for email and password only.
type Owner struct {
	ID         string `json:"id"`
	BusinessID string `json:"-"`
	Email      string `json:"email"`
	Name       string `json:"name"`
	// Language is the console language the owner chose; "" follows the
	// browser's Accept-Language.
	Language string `json:"-"`
	// PasswordHash is the encoded hash (PasswordHasher); "" until the owner
	// accepted an invitation.
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
}

// Invitation lets an owner set a password once, until ExpiresAt. Only the
// hash of its token is stored; Token and URL are filled only when it is made.
// A password reset link is an Invitation whose Purpose is PurposeReset.
type Invitation struct {
	ID         string `json:"-"`
	BusinessID string `json:"-"`
	OwnerID    string `json:"-"`
	TokenHash  string `json:"-"`
	// Purpose is PurposeInvitation ("" reads as it) or PurposeReset; a link
	// is usable only for its own purpose.
	Purpose   string     `json:"-"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"-"`
	CreatedAt time.Time  `json:"-"`
	Owner     *Owner     `json:"owner"`
	Token     string     `json:"-"`
	URL       string     `json:"url"`
}

// OwnerSession is a logged-in browser. Only the hash of its token is stored;
// Token is filled only at login.
type OwnerSession struct {
	ID         string
	BusinessID string
	OwnerID    string
	TokenHash  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	// Owner and Business are filled by OwnerSession lookups.
	Owner    *Owner
	Business *Business
	Token    string
}

// ExpiresAt is when the session ends if not used again.
func (s *OwnerSession) ExpiresAt() time.Time {
	idle := s.LastSeenAt.Add(SessionIdleTimeout)
	if abs := s.CreatedAt.Add(SessionMaxAge); abs.Before(idle) {
		return abs
	}
	return idle
}

// PasswordHasher hashes passwords slowly (argon2id in package
// hub/password). Verify compares in constant time.
type PasswordHasher interface {
	// Hash returns the encoded hash of a password with a new salt.
	Hash(password string) (string, error)
	// Verify reports whether password matches the encoded hash.
	Verify(encoded, password string) (bool, error)
}

// ConsoleTx is the store access of the console: owners, their invitations
// and sessions, and the list of staff logins.
type ConsoleTx interface {
	// CreateOwner fails with a conflict when the email has an owner.
	CreateOwner(ctx context.Context, o *Owner) error
	Owner(ctx context.Context, businessID, id string) (*Owner, error)
	// OwnerByEmail finds an owner of any business.
	OwnerByEmail(ctx context.Context, email string) (*Owner, error)
	// UpdateOwner stores Name, Language and PasswordHash.
	UpdateOwner(ctx context.Context, o *Owner) error

	CreateInvitation(ctx context.Context, inv *Invitation) error
	// InvitationByHash finds an invitation by token hash with its Owner.
	InvitationByHash(ctx context.Context, hash string) (*Invitation, error)
	// UseInvitation marks an unused invitation used and reports whether it was unused.
	UseInvitation(ctx context.Context, id string, at time.Time) (bool, error)

	CreateSession(ctx context.Context, s *OwnerSession) error
	// SessionByHash finds a session by token hash with its Owner and Business.
	SessionByHash(ctx context.Context, hash string) (*OwnerSession, error)
	TouchSession(ctx context.Context, id string, at time.Time) error
	// DeleteSession deletes a session; one already gone is not an error.
	DeleteSession(ctx context.Context, id string) error
	// DeleteOwnerSessions deletes every session of an owner and returns how many.
	DeleteOwnerSessions(ctx context.Context, ownerID string) (int64, error)

	// StaffList lists a business's staff logins by login.
	StaffList(ctx context.Context, businessID string) ([]*Staff, error)
}

// owners holds the password hasher and a hash to verify against when an
// email is unknown, so that a wrong email costs as long as a wrong password.
type owners struct {
	hasher PasswordHasher
	once   sync.Once
	dummy  string
}

func (s *Service) hasher() (PasswordHasher, error) {
	if s.owners == nil || s.owners.hasher == nil {
		return nil, Errorf(EUnavailable, "owner accounts are not configured")
	}
	return s.owners.hasher, nil
}

// tokenLen is the length of invitation and session tokens (base62, 238 bits).
const tokenLen = 40

// newToken returns a new secret token and its stored hash.
func newToken() (token, hash string) {
	token = RandomString(base62, tokenLen)
	return token, HashToken(token)
}

// HashToken returns the stored form of an invitation or session token: hex
// SHA-256 (tokens are random, so a fast hash suffices).
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// wellFormedToken reports whether token could be one of ours.
func wellFormedToken(token string) bool {
	if len(token) != tokenLen {
		return false
	}
	for i := 0; i < len(token); i++ {
		if strings.IndexByte(base62, token[i]) < 0 {
			return false
		}
	}
	return true
}

//go:embed common_passwords.txt
var commonPasswordsText string

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, line := range strings.Split(commonPasswordsText, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			m[strings.ToLower(line)] = struct{}{}
		}
	}
	return m
})

// CommonPassword reports whether a password is in the embedded list of the
// most common passwords (compared without case).
func CommonPassword(pw string) bool {
	_, ok := commonPasswords()[strings.ToLower(pw)]
	return ok
}

// CheckPassword applies the password rules: at least MinPasswordLength
// characters, at most MaxPasswordLength bytes, not a common password.
func CheckPassword(pw string) error {
	p := Problems{}
	switch {
	case !utf8.ValidString(pw):
		p.Add("password", "must be valid UTF-8")
	case utf8.RuneCountInString(pw) < MinPasswordLength:
		p.Add("password", "must have at least "+itoa(MinPasswordLength)+" characters")
	case len(pw) > MaxPasswordLength:
		p.Add("password", "must be at most "+itoa(MaxPasswordLength)+" bytes")
	case CommonPassword(pw):
		p.Add("password", "is one of the most common passwords; choose another")
	}
	return p.Err()
}

// OwnerInput invites an owner.
type OwnerInput struct {
	Email string  `json:"email"`
	Name  *string `json:"name"`
}

// InviteOwner makes an invitation link (valid InvitationTTL) where the owner
// with the email sets a password; the owner is created when new. Inviting an
// owner of the business again makes a new link (the password is replaced only
// when the link is used): that is how a forgotten password is reset. An email
// that is an owner of another business is a conflict.
func (s *Service) InviteOwner(ctx context.Context, businessID string, in OwnerInput) (*Invitation, error) {
	p := Problems{}
	email, ok := NormalizeEmail(in.Email)
	if !ok {
		p.Add("email", "must be an email address")
	}
	name := optionalText(p, "name", in.Name, 200)
	if err := p.Err(); err != nil {
		return nil, err
	}
	var inv *Invitation
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		if _, err := tx.Business(ctx, businessID); err != nil {
			return err
		}
		var err error
		inv, err = s.invite(ctx, tx, businessID, email, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// InviteOwnerByName is InviteOwner for a business named by name; it backs
// `hub owners invite`.
func (s *Service) InviteOwnerByName(ctx context.Context, businessName, email string) (*Invitation, error) {
	var id string
	err := s.read(ctx, func(tx Tx) error {
		b, err := tx.BusinessByName(ctx, strings.TrimSpace(businessName))
		if err != nil {
			return err
		}
		id = b.ID
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.InviteOwner(ctx, id, OwnerInput{Email: email})
}

func (s *Service) invite(ctx context.Context, tx Tx, businessID, email string, name *string) (*Invitation, error) {
	now := s.clock()
	o, err := tx.OwnerByEmail(ctx, email)
	switch {
	case ErrorCode(err) == ENotFound:
		o = &Owner{ID: NewID(PrefixOwner), BusinessID: businessID, Email: email, Name: email, CreatedAt: now}
		if name != nil {
			o.Name = *name
		}
		if err := tx.CreateOwner(ctx, o); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	case o.BusinessID != businessID:
		return nil, Errorf(EConflict, "this email is the owner account of another business")
	case name != nil && *name != o.Name:
		o.Name = *name
		if err := tx.UpdateOwner(ctx, o); err != nil {
			return nil, err
		}
	}
	return s.newLink(ctx, tx, o, PurposeInvitation)
}

// newLink stores a one-time link of an owner for a purpose: an invitation
// (InvitationTTL) or a password reset (PasswordResetTTL).
func (s *Service) newLink(ctx context.Context, tx Tx, o *Owner, purpose string) (*Invitation, error) {
	now := s.clock()
	ttl, path := InvitationTTL, invitationPath
	if purpose == PurposeReset {
		ttl, path = PasswordResetTTL, resetPath
	}
	token, hash := newToken()
	inv := &Invitation{
		ID: NewID(PrefixInvitation), BusinessID: o.BusinessID, OwnerID: o.ID, TokenHash: hash, Purpose: purpose,
		ExpiresAt: now.Add(ttl), CreatedAt: now, Owner: o, Token: token,
		URL: s.publicURL + path + token,
	}
	if err := tx.CreateInvitation(ctx, inv); err != nil {
		return nil, err
	}
	return inv, nil
}

// Invitation returns the usable invitation of a token with its Owner; a
// used, expired or unknown one is not_found.
func (s *Service) Invitation(ctx context.Context, token string) (*Invitation, error) {
	var inv *Invitation
	err := s.read(ctx, func(tx Tx) error {
		var err error
		inv, err = s.usableLink(ctx, tx, token, PurposeInvitation)
		return err
	})
	return inv, err
}

// linkGone is the answer to a used, expired or unknown link of a purpose.
func linkGone(purpose string) error {
	if purpose == PurposeReset {
		return Errorf(ENotFound, "this password reset link was used already or has expired; ask for a new one")
	}
	return Errorf(ENotFound, "this invitation link was used already or has expired; ask for a new one")
}

// usableLink finds the unused, unexpired link of a token for a purpose.
func (s *Service) usableLink(ctx context.Context, tx Tx, token, purpose string) (*Invitation, error) {
	gone := linkGone(purpose)
	if !wellFormedToken(token) {
		return nil, gone
	}
	inv, err := tx.InvitationByHash(ctx, HashToken(token))
	if ErrorCode(err) == ENotFound {
		return nil, gone
	}
	if err != nil {
		return nil, err
	}
	if inv.UsedAt != nil || !s.clock().Before(inv.ExpiresAt) || inv.LinkPurpose() != purpose {
		return nil, gone
	}
	return inv, nil
}

// AcceptInvitation sets the owner's password through an invitation, which
// then cannot be used again, and ends the owner's other sessions.
func (s *Service) AcceptInvitation(ctx context.Context, token, password string) (*Owner, error) {
	return s.setPassword(ctx, token, password, PurposeInvitation)
}

// setPassword sets the owner's password through a link of the purpose,
// which then cannot be used again, and ends all the owner's sessions.
func (s *Service) setPassword(ctx context.Context, token, password, purpose string) (*Owner, error) {
	h, err := s.hasher()
	if err != nil {
		return nil, err
	}
	if err := CheckPassword(password); err != nil {
		return nil, err
	}
	encoded, err := h.Hash(password)
	if err != nil {
		return nil, err
	}
	var o *Owner
	err = s.write(ctx, func(tx Tx, _ *outbox) error {
		inv, err := s.usableLink(ctx, tx, token, purpose)
		if err != nil {
			return err
		}
		if ok, err := tx.UseInvitation(ctx, inv.ID, s.clock()); err != nil {
			return err
		} else if !ok {
			return linkGone(purpose)
		}
		o = inv.Owner
		o.PasswordHash = encoded
		if err := tx.UpdateOwner(ctx, o); err != nil {
			return err
		}
		_, err = tx.DeleteOwnerSessions(ctx, o.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "owner password set", "owner_id", o.ID, "business_id", o.BusinessID, "through", purpose)
	return o, nil
}

// errLogin is the one answer to a wrong email or password.
func errLogin() error { return Errorf(EUnauthorized, "wrong email or password") }

// LoginOwner checks an email and password and opens a session; its Token
// goes into the browser's cookie. A wrong email and a wrong password get the
// same answer after the same work.
func (s *Service) LoginOwner(ctx context.Context, email, password string) (*OwnerSession, error) {
	h, err := s.hasher()
	if err != nil {
		return nil, err
	}
	email, _ = NormalizeEmail(email)
	if len(password) > MaxPasswordLength {
		return nil, errLogin()
	}
	var o *Owner
	if email != "" {
		err = s.read(ctx, func(tx Tx) error {
			var err error
			o, err = tx.OwnerByEmail(ctx, email)
			return err
		})
		if err != nil && ErrorCode(err) != ENotFound {
			return nil, err
		}
	}
	encoded := s.dummyHash(h)
	if o != nil && o.PasswordHash != "" {
		encoded = o.PasswordHash
	}
	ok, err := h.Verify(encoded, password)
	if err != nil {
		return nil, err
	}
	if !ok || o == nil || o.PasswordHash == "" ||
		subtle.ConstantTimeCompare([]byte(encoded), []byte(o.PasswordHash)) != 1 {
		return nil, errLogin()
	}
	now := s.clock()
	token, hash := newToken()
	sess := &OwnerSession{
		ID: NewID(PrefixSession), BusinessID: o.BusinessID, OwnerID: o.ID, TokenHash: hash,
		CreatedAt: now, LastSeenAt: now, Owner: o, Token: token,
	}
	err = s.write(ctx, func(tx Tx, _ *outbox) error {
		b, err := tx.Business(ctx, o.BusinessID)
		if err != nil {
			return err
		}
		sess.Business = b
		return tx.CreateSession(ctx, sess)
	})
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "owner logged in", "owner_id", o.ID, "business_id", o.BusinessID, "session_id", sess.ID)
	return sess, nil
}

// dummyHash is a hash of a random password, made once.
func (s *Service) dummyHash(h PasswordHasher) string {
	s.owners.once.Do(func() {
		s.owners.dummy, _ = h.Hash(RandomString(base62, 24))
	})
	return s.owners.dummy
}

// OwnerSession resolves a session token to its session with Owner and
// Business. A session unused for SessionIdleTimeout, or older than
// SessionMaxAge, is ended (unauthorized). A session in use is kept alive.
func (s *Service) OwnerSession(ctx context.Context, token string) (*OwnerSession, error) {
	expired := Errorf(EUnauthorized, "the session has ended; log in again")
	if !wellFormedToken(token) {
		return nil, expired
	}
	var sess *OwnerSession
	err := s.read(ctx, func(tx Tx) error {
		var err error
		sess, err = tx.SessionByHash(ctx, HashToken(token))
		return err
	})
	if ErrorCode(err) == ENotFound {
		return nil, expired
	}
	if err != nil {
		return nil, err
	}
	now := s.clock()
	if !now.Before(sess.ExpiresAt()) {
		if err := s.store.Write(ctx, func(tx Tx) error { return tx.DeleteSession(ctx, sess.ID) }); err != nil {
			s.log.WarnContext(ctx, "deleting an ended session failed", "session_id", sess.ID, "err", err)
		}
		return nil, expired
	}
	if now.Sub(sess.LastSeenAt) >= sessionTouchEvery {
		if err := s.store.Write(ctx, func(tx Tx) error { return tx.TouchSession(ctx, sess.ID, now) }); err != nil {
			return nil, err
		}
		sess.LastSeenAt = now
	}
	return sess, nil
}

// LogoutOwner ends one session; an unknown token is not an error.
func (s *Service) LogoutOwner(ctx context.Context, token string) error {
	if !wellFormedToken(token) {
		return nil
	}
	return s.store.Write(ctx, func(tx Tx) error {
		sess, err := tx.SessionByHash(ctx, HashToken(token))
		if ErrorCode(err) == ENotFound {
			return nil
		}
		if err != nil {
			return err
		}
		return tx.DeleteSession(ctx, sess.ID)
	})
}

// LogoutOwnerEverywhere ends every session of the owner and returns how many.
func (s *Service) LogoutOwnerEverywhere(ctx context.Context, businessID, ownerID string) (int64, error) {
	var n int64
	err := s.store.Write(ctx, func(tx Tx) error {
		if _, err := tx.Owner(ctx, businessID, ownerID); err != nil {
			return err
		}
		var err error
		n, err = tx.DeleteOwnerSessions(ctx, ownerID)
		return err
	})
	if err == nil {
		s.log.InfoContext(ctx, "owner logged out everywhere", "owner_id", ownerID, "sessions", n)
	}
	return n, err
}

// SetOwnerLanguage stores the owner's console language; "" follows the browser.
func (s *Service) SetOwnerLanguage(ctx context.Context, businessID, ownerID, lang string) error {
	if lang != "" {
		l, ok := NormalizeLanguage(lang)
		if !ok {
			return (Problems{"language": "must be a language code such as en or th"}).Err()
		}
		lang = l
	}
	return s.store.Write(ctx, func(tx Tx) error {
		o, err := tx.Owner(ctx, businessID, ownerID)
		if err != nil {
			return err
		}
		o.Language = lang
		return tx.UpdateOwner(ctx, o)
	})
}

// StaffList lists a business's staff logins by login.
func (s *Service) StaffList(ctx context.Context, businessID string) ([]*Staff, error) {
	var out []*Staff
	err := s.read(ctx, func(tx Tx) error {
		if _, err := tx.Business(ctx, businessID); err != nil {
			return err
		}
		var err error
		out, err = tx.StaffList(ctx, businessID)
		return err
	})
	if out == nil {
		out = []*Staff{}
	}
	return out, err
}

// Business returns a business.
func (s *Service) Business(ctx context.Context, id string) (*Business, error) {
	var b *Business
	err := s.read(ctx, func(tx Tx) error {
		var err error
		b, err = tx.Business(ctx, id)
		return err
	})
	return b, err
}
