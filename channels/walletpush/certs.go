package walletpush

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// oidUserID is the subject attribute in which Apple puts a Pass Type ID
// certificate's pass type identifier.
var oidUserID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// parsedPEM is the content of the apple_certificate field.
type parsedPEM struct {
	leaf  *x509.Certificate
	extra []*x509.Certificate
	key   crypto.Signer
}

// parseCertAndKey reads certificates and one private key (PKCS#8, PKCS#1 or
// SEC 1 EC) from PEM and picks the certificate that belongs to the key.
func parseCertAndKey(data string) (*parsedPEM, error) {
	var certs []*x509.Certificate
	var key crypto.Signer
	rest := []byte(data)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch {
		case b.Type == "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("unreadable certificate: %w", err)
			}
			certs = append(certs, c)
		case b.Type == "ENCRYPTED PRIVATE KEY" || b.Headers["Proc-Type"] != "":
			return nil, errors.New("encrypted private keys are not supported; export the key without a password")
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			if key != nil {
				return nil, errors.New("more than one private key")
			}
			k, err := parseKey(b)
			if err != nil {
				return nil, err
			}
			key = k
		}
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	if key == nil {
		return nil, errors.New("no PEM private key found (the field needs the certificate and its private key)")
	}
	for i, c := range certs {
		if samePublicKey(c.PublicKey, key.Public()) {
			extra := append(append([]*x509.Certificate{}, certs[:i]...), certs[i+1:]...)
			return &parsedPEM{leaf: c, extra: extra, key: key}, nil
		}
	}
	return nil, errors.New("the private key does not match the certificate")
}

func parseKey(b *pem.Block) (crypto.Signer, error) {
	var k any
	var err error
	switch b.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			// Some tools label PKCS#1 or SEC 1 keys "PRIVATE KEY".
			if k1, err1 := x509.ParsePKCS1PrivateKey(b.Bytes); err1 == nil {
				k, err = k1, nil
			} else if k2, err2 := x509.ParseECPrivateKey(b.Bytes); err2 == nil {
				k, err = k2, nil
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("unreadable private key (%s)", b.Type)
	}
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("unsupported private key type %T (RSA or ECDSA only)", k)
}

func samePublicKey(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// parseCerts reads every certificate of a PEM text.
func parseCerts(data string) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := []byte(data)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("unreadable certificate: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return certs, nil
}

// certUID returns the subject UID of a certificate ("" when absent).
func certUID(c *x509.Certificate) string {
	for _, n := range c.Subject.Names {
		if n.Type.Equal(oidUserID) {
			if s, ok := n.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}

// issuerOf returns the first certificate that signed leaf.
func issuerOf(leaf *x509.Certificate, cands []*x509.Certificate) *x509.Certificate {
	for _, c := range cands {
		if leaf.CheckSignatureFrom(c) == nil {
			return c
		}
	}
	return nil
}
