package hub

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
)

// SecretBox seals channel secrets at rest with AES-256-GCM. The additional
// data binds a sealed value to its row, so a ciphertext copied to another
// business or provider does not open.
type SecretBox struct {
	aead cipher.AEAD
	mac  []byte
}

// SecretKeySize is the length of the key NewSecretBox takes.
const SecretKeySize = 32

// NewSecretBox returns a box for a 32-byte key.
func NewSecretBox(key []byte) (*SecretBox, error) {
	if len(key) != SecretKeySize {
		return nil, fmt.Errorf("hub: the secret key has %d bytes, want %d", len(key), SecretKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	// A separate key for MACs (unsubscribe links), derived so one secret
	// serves both without reusing the encryption key.
	m := hmac.New(sha256.New, key)
	m.Write([]byte("7loc hub mac key"))
	return &SecretBox{aead: aead, mac: m.Sum(nil)}, nil
}

// Seal encrypts plain; the result is nonce || ciphertext.
func (b *SecretBox) Seal(plain, additional []byte) []byte {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("hub: crypto/rand failed: " + err.Error())
	}
	return b.aead.Seal(nonce, nonce, plain, additional)
}

// errSealed is returned for a sealed value that does not open.
var errSealed = errors.New("hub: sealed value does not open with this key")

// Open decrypts what Seal returned for the same additional data.
func (b *SecretBox) Open(sealed, additional []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n {
		return nil, errSealed
	}
	plain, err := b.aead.Open(nil, sealed[:n], sealed[n:], additional)
	if err != nil {
		return nil, errSealed
	}
	return plain, nil
}

// MAC returns an HMAC-SHA256 of msg under the box's MAC key.
func (b *SecretBox) MAC(msg string) []byte {
	m := hmac.New(sha256.New, b.mac)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// sealSecrets seals a map of secrets as JSON, bound to what they belong to
// (ad: a ciphertext moved to another row does not open).
func (s *Service) sealSecrets(secrets map[string]string, ad string) ([]byte, error) {
	plain, err := json.Marshal(secrets)
	if err != nil {
		return nil, err
	}
	return s.box.Seal(plain, []byte(ad)), nil
}

// openSecrets opens what sealSecrets sealed; never nil. what names the
// secrets in the error ("channel", "till").
func (s *Service) openSecrets(sealed []byte, ad, what string) (map[string]string, error) {
	plain, err := s.box.Open(sealed, []byte(ad))
	if err != nil {
		return nil, &Error{Code: EInternal, Message: what + " secrets do not open; was HUB_SECRET_KEY changed?", Err: err}
	}
	var secrets map[string]string
	if err := json.Unmarshal(plain, &secrets); err != nil {
		return nil, err
	}
	if secrets == nil {
		secrets = map[string]string{}
	}
	return secrets, nil
}
