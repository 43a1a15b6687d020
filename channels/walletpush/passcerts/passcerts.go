// Package passcerts makes throw-away Apple Wallet certificate chains for
// tests: a root CA, a "WWDR" intermediate and a Pass Type ID certificate with
// the pass type id in the subject UID, shaped like Apple's. Nothing here is
// meant for production; the keys are generated on the fly and never stored.
package passcerts

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// OIDUserID is the subject attribute (UID) in which Apple puts a pass
// certificate's pass type identifier.
var OIDUserID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// KeyKind selects the pass certificate's key type and its PEM encoding.
type KeyKind int

// Key kinds of the pass certificate.
const (
	// RSAPKCS8 is an RSA key in a "PRIVATE KEY" block (the default).
	RSAPKCS8 KeyKind = iota
	// RSAPKCS1 is an RSA key in an "RSA PRIVATE KEY" block.
	RSAPKCS1
	// ECSEC1 is a P-256 key in an "EC PRIVATE KEY" block.
	ECSEC1
	// ECPKCS8 is a P-256 key in a "PRIVATE KEY" block.
	ECPKCS8
)

// Chain is a generated certificate chain.
type Chain struct {
	// Root is the self-signed CA; RootPool trusts only it.
	Root     *x509.Certificate
	RootPool *x509.CertPool
	// WWDR is the intermediate that issued the pass certificate.
	WWDR *x509.Certificate
	// Pass is the Pass Type ID certificate and Key its private key.
	Pass *x509.Certificate
	Key  crypto.Signer
	// WWDRPEM is the intermediate in PEM (the apple_wwdr_certificate field).
	WWDRPEM string
	// PassPEM is the pass certificate followed by its private key in PEM
	// (the apple_certificate field).
	PassPEM string
	// CertPEM and KeyPEM are the two halves of PassPEM.
	CertPEM, KeyPEM string
}

// New makes a chain whose pass certificate names passTypeID (subject UID and
// CN "Pass Type ID: <id>") and teamID (subject OU), valid from an hour ago for
// a year, with an RSA PKCS#8 key.
func New(passTypeID, teamID string) (*Chain, error) {
	return NewWithKey(passTypeID, teamID, RSAPKCS8)
}

// NewWithKey is New with the pass certificate's key kind chosen.
func NewWithKey(passTypeID, teamID string, kind KeyKind) (*Chain, error) {
	now := time.Now()
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	rootTpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Test Apple Root CA", Organization: []string{"Test"}},
		NotBefore:             now.Add(-2 * time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	root, err := create(rootTpl, rootTpl, rootKey.Public(), rootKey)
	if err != nil {
		return nil, err
	}
	wwdrKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	wwdrTpl := &x509.Certificate{
		SerialNumber:          big.NewInt(2),
		Subject:               pkix.Name{CommonName: "Test Apple Worldwide Developer Relations Certification Authority", OrganizationalUnit: []string{"G4"}, Organization: []string{"Test"}},
		NotBefore:             now.Add(-2 * time.Hour),
		NotAfter:              now.Add(5 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	wwdr, err := create(wwdrTpl, root, wwdrKey.Public(), rootKey)
	if err != nil {
		return nil, err
	}
	var key crypto.Signer
	switch kind {
	case RSAPKCS8, RSAPKCS1:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case ECSEC1, ECPKCS8:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("passcerts: unknown key kind %d", kind)
	}
	if err != nil {
		return nil, err
	}
	passTpl := &x509.Certificate{
		SerialNumber: big.NewInt(3),
		Subject: pkix.Name{
			CommonName:         "Pass Type ID: " + passTypeID,
			OrganizationalUnit: []string{teamID},
			Organization:       []string{"Test Business"},
			ExtraNames:         []pkix.AttributeTypeAndValue{{Type: OIDUserID, Value: passTypeID}},
		},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageAny},
	}
	pass, err := create(passTpl, wwdr, key.Public(), wwdrKey)
	if err != nil {
		return nil, err
	}
	keyPEM, err := EncodeKey(key, kind)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	certPEM := EncodeCert(pass)
	return &Chain{
		Root: root, RootPool: pool, WWDR: wwdr, Pass: pass, Key: key,
		WWDRPEM: EncodeCert(wwdr), PassPEM: certPEM + keyPEM, CertPEM: certPEM, KeyPEM: keyPEM,
	}, nil
}

// EncodeCert returns a certificate as a PEM block.
func EncodeCert(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// EncodeKey returns a private key as a PEM block of the given kind.
func EncodeKey(key crypto.Signer, kind KeyKind) (string, error) {
	var block *pem.Block
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if kind == RSAPKCS1 {
			block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
		}
	case *ecdsa.PrivateKey:
		if kind == ECSEC1 {
			der, err := x509.MarshalECPrivateKey(k)
			if err != nil {
				return "", err
			}
			block = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
		}
	}
	if block == nil {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return "", err
		}
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	return string(pem.EncodeToMemory(block)), nil
}

func create(tpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("passcerts: %w", err)
	}
	return x509.ParseCertificate(der)
}
