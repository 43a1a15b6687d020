package hub

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"sync"
	"time"
)

// Id prefixes, one per kind of object.
const (
	PrefixBusiness        = "b"
	PrefixLocation        = "loc"
	PrefixStaff           = "stf"
	PrefixAPIKey          = "key"
	PrefixCustomer        = "c"
	PrefixCardTemplate    = "tpl"
	PrefixVoucherTemplate = "vt"
	PrefixCard            = "card"
	PrefixWalletPass      = "wp"
	PrefixVoucher         = "v"
	PrefixEvent           = "evt"
	PrefixHook            = "hk"
	PrefixCampaign        = "cmp"
	PrefixMessageTemplate = "mt"
	PrefixAutomation      = "au"
	PrefixDelivery        = "dlv"
	PrefixSale            = "sale"
)

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// ulidSource makes ULIDs (48-bit millisecond time, 80 random bits) that are
// strictly increasing within the process: inside one millisecond the random
// part is incremented, so ids made later sort later.
type ulidSource struct {
	mu     sync.Mutex
	lastMS uint64
	hi     uint16 // top 16 of the 80 random bits
	lo     uint64 // low 64 of the 80 random bits
}

var ids ulidSource

func (s *ulidSource) next(now time.Time) [26]byte {
	ms := uint64(now.UnixMilli())
	s.mu.Lock()
	if ms <= s.lastMS {
		ms = s.lastMS
		s.lo++
		if s.lo == 0 {
			s.hi++
		}
	} else {
		var b [10]byte
		_, _ = rand.Read(b[:])
		s.lastMS = ms
		s.hi = binary.BigEndian.Uint16(b[:2]) & 0x7fff // head room for increments
		s.lo = binary.BigEndian.Uint64(b[2:])
	}
	hi, lo := s.hi, s.lo
	s.mu.Unlock()

	var raw [16]byte
	raw[0] = byte(ms >> 40)
	raw[1] = byte(ms >> 32)
	raw[2] = byte(ms >> 24)
	raw[3] = byte(ms >> 16)
	raw[4] = byte(ms >> 8)
	raw[5] = byte(ms)
	binary.BigEndian.PutUint16(raw[6:8], hi)
	binary.BigEndian.PutUint64(raw[8:], lo)
	return encodeULID(raw)
}

func encodeULID(id [16]byte) [26]byte {
	var out [26]byte
	// 128 bits in 26 base32 characters: the first carries 3 bits.
	var acc uint64
	var bits uint
	pos := 0
	// Leading 2 zero bits make 130 = 26*5.
	acc, bits = 0, 2
	for _, b := range id {
		acc = acc<<8 | uint64(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out[pos] = crockford[(acc>>bits)&31]
			pos++
		}
	}
	return out
}

// NewID returns a new id with the prefix: "card_01JTZ6W1Q9M3N4R5S6T7V8W9XY".
func NewID(prefix string) string {
	u := ids.next(time.Now())
	return prefix + "_" + string(u[:])
}

// ValidID reports whether s looks like an id with the prefix.
func ValidID(prefix, s string) bool {
	if len(s) != len(prefix)+1+26 || !strings.HasPrefix(s, prefix+"_") {
		return false
	}
	for _, c := range s[len(prefix)+1:] {
		if !strings.ContainsRune(crockford, c) {
			return false
		}
	}
	return true
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// RandomString returns n characters drawn uniformly from alphabet with crypto/rand.
func RandomString(alphabet string, n int) string {
	out := make([]byte, n)
	buf := make([]byte, n*2)
	limit := 256 - 256%len(alphabet)
	for i := 0; i < n; {
		_, _ = rand.Read(buf)
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			out[i] = alphabet[int(b)%len(alphabet)]
			i++
			if i == n {
				break
			}
		}
	}
	return string(out)
}

// APIKeyPrefix starts every API key.
const APIKeyPrefix = "7loc_sc_"

// apiKeyRandomLen is the number of base62 characters after the prefix.
const apiKeyRandomLen = 40

// NewAPIKeySecret returns a new full API key.
func NewAPIKeySecret() string { return APIKeyPrefix + RandomString(base62, apiKeyRandomLen) }

// HashAPIKey returns the stored form of a key: hex SHA-256. Keys carry 238 bits
// of randomness, so a fast hash is enough (no password stretching needed).
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// WellFormedAPIKey reports whether key has the prefix and at least 32 base62 characters.
func WellFormedAPIKey(key string) bool {
	rest, ok := strings.CutPrefix(key, APIKeyPrefix)
	if !ok || len(rest) < 32 || len(rest) > 128 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(base62, rest[i]) < 0 {
			return false
		}
	}
	return true
}

// MaskAPIKey shows the prefix and the last four characters: "7loc_sc_…a1B2".
func MaskAPIKey(key string) string {
	if len(key) < 4 {
		return APIKeyPrefix + "…"
	}
	return APIKeyPrefix + "…" + key[len(key)-4:]
}

// redeemAlphabet has no look-alikes (no 0/O, 1/I/L).
const redeemAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// NewRedeemCode returns an 8-character redeem code without look-alike characters.
func NewRedeemCode() string { return RandomString(redeemAlphabet, 8) }

// NewPageToken returns the secret that opens a card's public page.
func NewPageToken() string { return RandomString(base62, 32) }
