package email_test

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"mime"
)

func decodeHeader(v string) (string, error) {
	return new(mime.WordDecoder).DecodeHeader(v)
}

func tlsConfigSystemRoots() tls.Config {
	return tls.Config{MinVersion: tls.VersionTLS12}
}

func sha8(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:8]
}
