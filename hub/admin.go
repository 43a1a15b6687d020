package hub

import (
	"context"
	"errors"
	"strings"
	"time"
)

// BusinessInput creates a business.
type BusinessInput struct {
	Name            string  `json:"name"`
	Timezone        *string `json:"timezone"`
	DefaultLanguage *string `json:"default_language"`
}

// CreateBusiness creates a business (time zone UTC and language en unless given).
func (s *Service) CreateBusiness(ctx context.Context, in BusinessInput) (*Business, error) {
	p := Problems{}
	b := &Business{ID: NewID(PrefixBusiness), Timezone: "UTC", DefaultLanguage: "en", CreatedAt: s.clock()}
	b.Name = checkText(p, "name", in.Name, 200)
	if in.Timezone != nil {
		if !ValidTimezone(*in.Timezone) {
			p.Add("timezone", "must be an IANA time zone such as Europe/Kyiv")
		}
		b.Timezone = *in.Timezone
	}
	if in.DefaultLanguage != nil {
		lang, ok := NormalizeLanguage(*in.DefaultLanguage)
		if !ok {
			p.Add("default_language", "must be a language code such as en or uk")
		}
		b.DefaultLanguage = lang
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return b, s.write(ctx, func(tx Tx, _ *outbox) error {
		if err := tx.CreateBusiness(ctx, b); err != nil {
			return err
		}
		return s.seedAutomations(ctx, tx, b)
	})
}

// LocationInput creates a location.
type LocationInput struct {
	Name string `json:"name"`
}

// CreateLocation adds a location to a business.
func (s *Service) CreateLocation(ctx context.Context, businessID string, in LocationInput) (*Location, error) {
	p := Problems{}
	l := &Location{ID: NewID(PrefixLocation), BusinessID: businessID, CreatedAt: s.clock()}
	l.Name = checkText(p, "name", in.Name, 200)
	if err := p.Err(); err != nil {
		return nil, err
	}
	return l, s.write(ctx, func(tx Tx, _ *outbox) error {
		if _, err := tx.Business(ctx, businessID); err != nil {
			return err
		}
		return tx.CreateLocation(ctx, l)
	})
}

// StaffInput creates a staff login.
type StaffInput struct {
	Login string  `json:"login"`
	Name  *string `json:"name"`
}

func normalizeLogin(p Problems, field, login string) string {
	login = strings.ToLower(strings.TrimSpace(login))
	if login == "" {
		p.Add(field, "is required")
		return login
	}
	if len(login) > 100 || strings.ContainsFunc(login, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("._@+-", r))
	}) {
		p.Add(field, "may hold only letters, digits and . _ @ + - (at most 100)")
	}
	return login
}

// CreateStaff adds a staff login; a login that exists is a conflict.
func (s *Service) CreateStaff(ctx context.Context, businessID string, in StaffInput) (*Staff, error) {
	p := Problems{}
	st := &Staff{ID: NewID(PrefixStaff), BusinessID: businessID, CreatedAt: s.clock()}
	st.Login = normalizeLogin(p, "login", in.Login)
	st.Name = st.Login
	if n := optionalText(p, "name", in.Name, 200); n != nil {
		st.Name = *n
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return st, s.write(ctx, func(tx Tx, _ *outbox) error {
		if _, err := tx.Business(ctx, businessID); err != nil {
			return err
		}
		return tx.CreateStaff(ctx, st)
	})
}

// APIKeyInput creates an API key for a staff login.
type APIKeyInput struct {
	Login string  `json:"login"`
	Name  *string `json:"name"`
}

// CreateAPIKey creates the key of a staff login; the full key is in Key, only here.
func (s *Service) CreateAPIKey(ctx context.Context, businessID string, in APIKeyInput) (*APIKey, error) {
	p := Problems{}
	login := normalizeLogin(p, "login", in.Login)
	name := optionalText(p, "name", in.Name, 200)
	if err := p.Err(); err != nil {
		return nil, err
	}
	var k *APIKey
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		if _, err := tx.Business(ctx, businessID); err != nil {
			return err
		}
		st, err := tx.StaffByLogin(ctx, businessID, login)
		if err != nil {
			return err
		}
		k = s.newKey(businessID, st, name)
		if err := tx.CreateAPIKey(ctx, k); err != nil {
			if ErrorCode(err) == EConflict {
				return Errorf(EConflict, "the login %q already has an API key; regenerate or delete it", login)
			}
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

func (s *Service) newKey(businessID string, st *Staff, name *string) *APIKey {
	secret := NewAPIKeySecret()
	k := &APIKey{
		ID: NewID(PrefixAPIKey), BusinessID: businessID, StaffID: st.ID, Login: st.Login,
		Name: st.Login, MaskedKey: MaskAPIKey(secret), Status: KeyActive,
		CreatedAt: s.clock(), Hash: HashAPIKey(secret), Key: secret,
	}
	if name != nil {
		k.Name = *name
	}
	return k
}

// APIKeys lists a business's keys, active and revoked, without the secrets.
func (s *Service) APIKeys(ctx context.Context, businessID string) ([]*APIKey, error) {
	var keys []*APIKey
	err := s.read(ctx, func(tx Tx) error {
		if _, err := tx.Business(ctx, businessID); err != nil {
			return err
		}
		var err error
		keys, err = tx.APIKeys(ctx, businessID)
		return err
	})
	if keys == nil {
		keys = []*APIKey{}
	}
	return keys, err
}

// RegenerateAPIKey replaces an active key's secret; the old secret stops working at once.
func (s *Service) RegenerateAPIKey(ctx context.Context, businessID, id string) (*APIKey, error) {
	var k *APIKey
	var oldHash string
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		var err error
		k, err = tx.APIKey(ctx, businessID, id)
		if err != nil {
			return err
		}
		if k.Status != KeyActive {
			return Errorf(EConflict, "the key was deleted; create a new one for the login")
		}
		oldHash = k.Hash
		secret := NewAPIKeySecret()
		k.Key, k.Hash, k.MaskedKey = secret, HashAPIKey(secret), MaskAPIKey(secret)
		return tx.UpdateAPIKey(ctx, k)
	})
	if err != nil {
		return nil, err
	}
	s.revoked(ctx, oldHash)
	return k, nil
}

// RevokeAPIKey stops a key at once; it stays listed as revoked.
func (s *Service) RevokeAPIKey(ctx context.Context, businessID, id string) error {
	var hash string
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		k, err := tx.APIKey(ctx, businessID, id)
		if err != nil {
			return err
		}
		hash = k.Hash
		if k.Status == KeyRevoked {
			return nil
		}
		k.Status = KeyRevoked
		return tx.UpdateAPIKey(ctx, k)
	})
	if err != nil {
		return err
	}
	s.revoked(ctx, hash)
	return nil
}

// EnsureKey creates the business (by name) and the staff login when missing and
// returns a new key for the login. It backs `hub keys create`.
func (s *Service) EnsureKey(ctx context.Context, businessName, login string, keyName *string) (*APIKey, error) {
	p := Problems{}
	businessName = checkText(p, "business", businessName, 200)
	login = normalizeLogin(p, "staff", login)
	if err := p.Err(); err != nil {
		return nil, err
	}
	var k *APIKey
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		b, err := tx.BusinessByName(ctx, businessName)
		if ErrorCode(err) == ENotFound {
			b = &Business{ID: NewID(PrefixBusiness), Name: businessName, Timezone: "UTC", DefaultLanguage: "en", CreatedAt: s.clock()}
			if err = tx.CreateBusiness(ctx, b); err == nil {
				err = s.seedAutomations(ctx, tx, b)
			}
		}
		if err != nil {
			return err
		}
		st, err := tx.StaffByLogin(ctx, b.ID, login)
		if ErrorCode(err) == ENotFound {
			st = &Staff{ID: NewID(PrefixStaff), BusinessID: b.ID, Login: login, Name: login, CreatedAt: s.clock()}
			err = tx.CreateStaff(ctx, st)
		}
		if err != nil {
			return err
		}
		k = s.newKey(b.ID, st, keyName)
		if err := tx.CreateAPIKey(ctx, k); err != nil {
			if ErrorCode(err) == EConflict {
				return Errorf(EConflict, "the login %q already has an API key; regenerate or delete it", login)
			}
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// touchEvery is how often a key's last_used_at is written at most.
const touchEvery = time.Minute

// Authenticate resolves an API key to its principal. Unknown, malformed,
// revoked and replaced keys are all unauthorized.
func (s *Service) Authenticate(ctx context.Context, key string) (*Principal, error) {
	if !WellFormedAPIKey(key) {
		return nil, Errorf(EUnauthorized, "missing or malformed API key")
	}
	hash := HashAPIKey(key)
	if s.keyTTL > 0 {
		if v, ok := s.keys.Load(hash); ok {
			c := v.(cachedPrincipal)
			if time.Now().Before(c.expires) {
				s.touch(ctx, c.pr)
				return c.pr, nil
			}
			s.keys.Delete(hash)
		}
	}
	// A key forgotten while we read must not be cached from that read: it
	// may have been revoked after the read saw it.
	epoch := s.keyEpoch.Load()
	var pr *Principal
	err := s.read(ctx, func(tx Tx) error {
		var err error
		pr, err = tx.PrincipalByKeyHash(ctx, hash)
		return err
	})
	if ErrorCode(err) == ENotFound {
		return nil, Errorf(EUnauthorized, "unknown or revoked API key")
	}
	if err != nil {
		return nil, err
	}
	if s.keyTTL > 0 {
		s.keys.Store(hash, cachedPrincipal{pr: pr, expires: time.Now().Add(s.keyTTL)})
		if s.keyEpoch.Load() != epoch {
			// A key was forgotten meanwhile (ForgetKey counts before it
			// deletes): this entry may be stale. The next call reads again.
			s.keys.Delete(hash)
		}
	}
	s.touch(ctx, pr)
	return pr, nil
}

// ForgetKey drops a key hash from the authentication cache; the next call
// with that key asks the store. Revocations from other processes arrive here.
func (s *Service) ForgetKey(keyHash string) {
	s.keyEpoch.Add(1)
	s.keys.Delete(keyHash)
}

// ForgetAllKeys empties the authentication cache, for when revocations may
// have been missed (the channel that carries them reconnected).
func (s *Service) ForgetAllKeys() {
	s.keyEpoch.Add(1)
	s.keys.Range(func(k, _ any) bool { s.keys.Delete(k); return true })
}

// revoked forgets a key hash here and tells the other processes.
func (s *Service) revoked(ctx context.Context, keyHash string) {
	s.ForgetKey(keyHash)
	if s.revocations == nil {
		return
	}
	if err := s.revocations.PublishRevocation(context.WithoutCancel(ctx), keyHash); err != nil {
		s.log.WarnContext(ctx, "announcing a revoked key failed; other processes trust it until their cache expires",
			"err", err)
	}
}

// touch records the key's use at most once a minute per process.
func (s *Service) touch(ctx context.Context, pr *Principal) {
	now := s.clock()
	if pr.LastUsedAt != nil && now.Sub(*pr.LastUsedAt) < touchEvery {
		return
	}
	if v, ok := s.touched.Load(pr.KeyID); ok && now.Sub(v.(time.Time)) < touchEvery {
		return
	}
	s.touched.Store(pr.KeyID, now)
	err := s.store.Write(ctx, func(tx Tx) error { return tx.TouchAPIKey(ctx, pr.KeyID, now) })
	if err != nil && !errors.Is(err, context.Canceled) {
		s.log.WarnContext(ctx, "recording API key use failed", "key_id", pr.KeyID, "err", err)
	}
}

// Me describes the caller.
func (s *Service) Me(pr *Principal) *Me {
	return &Me{
		ID:       pr.KeyID,
		Name:     pr.Business.Name + " · " + pr.Staff.Login,
		Business: MeBiz{ID: pr.Business.ID, Name: pr.Business.Name, Timezone: pr.Business.Timezone},
		Staff:    MeStaff{ID: pr.Staff.ID, Login: pr.Staff.Login, Name: pr.Staff.Name},
	}
}
