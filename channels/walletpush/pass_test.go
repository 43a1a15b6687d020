package walletpush_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/7loc/hub/channels/walletpush"
	"github.com/7loc/hub/channels/walletpush/passcerts"
	"github.com/7loc/hub/hub"
	"github.com/google/go-cmp/cmp"
	"github.com/smallstep/pkcs7"
)

func samplePass() walletpush.Pass {
	return walletpush.Pass{
		SerialNumber:        "crd_0001",
		AuthenticationToken: "0123456789abcdef0123",
		WebServiceURL:       "https://hub.example.com/wallet",
		OrganizationName:    "Coffee Corner",
		Description:         "Coffee Corner loyalty card",
		LogoText:            "Coffee Corner",
		Stamps:              3,
		StampsGoal:          10,
		RewardTitle:         "Free coffee",
		OfferText:           "2 for 1 on Fridays",
		ChangeMessage:       "New offer: %@",
		Barcode:             walletpush.Barcode{Message: "crd_0001", Format: walletpush.BarcodeQR, AltText: "crd_0001"},
		BackgroundColor:     "#3c2f2f",
		ForegroundColor:     "rgb(255, 255, 255)",
		UpdatedAt:           time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC),
	}
}

// unzip returns the files of a .pkpass and their order.
func unzip(t *testing.T, b []byte) (map[string][]byte, []string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	files := map[string][]byte{}
	var names []string
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name] = data
		names = append(names, f.Name)
	}
	return files, names
}

// verifyPass checks the manifest and the signature of a .pkpass against chain.
func verifyPass(t *testing.T, b []byte, chain *passcerts.Chain) map[string][]byte {
	t.Helper()
	files, _ := unzip(t, b)
	var manifest map[string]string
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	var want []string
	for name, data := range files {
		if name == "manifest.json" || name == "signature" {
			continue
		}
		want = append(want, name)
		sum := sha1.Sum(data)
		if got := manifest[name]; got != hex.EncodeToString(sum[:]) {
			t.Errorf("manifest[%s] = %q, want the SHA-1 of the file", name, got)
		}
	}
	var got []string
	for name := range manifest {
		got = append(got, name)
	}
	sort.Strings(got)
	sort.Strings(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("manifest entries (-files +manifest):\n%s", d)
	}
	p7, err := pkcs7.Parse(files["signature"])
	if err != nil {
		t.Fatalf("signature is not PKCS#7: %v", err)
	}
	if len(p7.Content) != 0 {
		t.Error("signature is not detached")
	}
	p7.Content = files["manifest.json"]
	if err := p7.VerifyWithChain(chain.RootPool); err != nil {
		t.Fatalf("signature does not verify against the root: %v", err)
	}
	if signer := p7.GetOnlySigner(); signer == nil || !signer.Equal(chain.Pass) {
		t.Error("signer is not the pass certificate")
	}
	var hasWWDR bool
	for _, c := range p7.Certificates {
		hasWWDR = hasWWDR || c.Equal(chain.WWDR)
	}
	if !hasWWDR {
		t.Error("the WWDR certificate is not in the signature")
	}
	var signingTime time.Time
	if err := p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeSigningTime, &signingTime); err != nil || time.Since(signingTime) > time.Hour {
		t.Errorf("signing time %v, %v", signingTime, err)
	}
	// Tampering with the manifest breaks the signature.
	p7.Content = append([]byte(nil), files["manifest.json"]...)
	p7.Content[5] ^= 1
	if err := p7.VerifyWithChain(chain.RootPool); err == nil {
		t.Error("a changed manifest still verifies")
	}
	return files
}

func TestBuildPass(t *testing.T) {
	kinds := []struct {
		name string
		kind passcerts.KeyKind
	}{
		{"rsa pkcs8", passcerts.RSAPKCS8},
		{"rsa pkcs1", passcerts.RSAPKCS1},
		{"ec sec1", passcerts.ECSEC1},
		{"ec pkcs8", passcerts.ECPKCS8},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			chain := testChain(t)
			if k.kind != passcerts.RSAPKCS8 {
				var err error
				if chain, err = passcerts.NewWithKey(testPassType, testTeam, k.kind); err != nil {
					t.Fatal(err)
				}
			}
			s, err := walletpush.New(appleConfig(chain), walletpush.Options{})
			if err != nil {
				t.Fatal(err)
			}
			b, err := s.BuildPass(samplePass())
			if err != nil {
				t.Fatal(err)
			}
			files := verifyPass(t, b, chain)
			for _, name := range []string{"pass.json", "icon.png", "icon@2x.png", "logo.png", "manifest.json", "signature"} {
				if _, ok := files[name]; !ok {
					t.Errorf("%s missing", name)
				}
			}
			if !bytes.HasPrefix(files["icon.png"], []byte("\x89PNG")) {
				t.Error("icon.png is not a PNG")
			}
		})
	}
}

func TestBuildPassJSON(t *testing.T) {
	s, err := walletpush.New(appleConfig(testChain(t)), walletpush.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.BuildPass(samplePass())
	if err != nil {
		t.Fatal(err)
	}
	files, _ := unzip(t, b)
	var got map[string]any
	if err := json.Unmarshal(files["pass.json"], &got); err != nil {
		t.Fatal(err)
	}
	field := func(key, label string, value any, extra ...string) map[string]any {
		f := map[string]any{"key": key, "label": label, "value": value}
		for i := 0; i+1 < len(extra); i += 2 {
			f[extra[i]] = extra[i+1]
		}
		return f
	}
	code := map[string]any{"message": "crd_0001", "format": "PKBarcodeFormatQR", "messageEncoding": "iso-8859-1", "altText": "crd_0001"}
	want := map[string]any{
		"formatVersion":       1.0,
		"passTypeIdentifier":  testPassType,
		"teamIdentifier":      testTeam,
		"serialNumber":        "crd_0001",
		"authenticationToken": "0123456789abcdef0123",
		"webServiceURL":       "https://hub.example.com/wallet",
		"organizationName":    "Coffee Corner",
		"description":         "Coffee Corner loyalty card",
		"logoText":            "Coffee Corner",
		"backgroundColor":     "rgb(60, 47, 47)",
		"foregroundColor":     "rgb(255, 255, 255)",
		"labelColor":          "rgb(255, 255, 255)",
		"storeCard": map[string]any{
			"primaryFields":   []any{field("stamps", "Stamps", "3 / 10")},
			"secondaryFields": []any{field("reward", "Reward", "Free coffee")},
			"auxiliaryFields": []any{field("offer", "Offer", "2 for 1 on Fridays", "changeMessage", "New offer: %@")},
			"backFields": []any{
				field("offer_details", "Latest offer", "2 for 1 on Fridays"),
				field("updated", "Updated", "2025-03-01T10:00:00Z", "dateStyle", "PKDateStyleMedium", "timeStyle", "PKDateStyleShort"),
			},
		},
		"barcodes": []any{code},
		"barcode":  code,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("pass.json (-want +got):\n%s", d)
	}

	p := samplePass()
	p.Expired, p.OfferText, p.ChangeMessage = true, "", ""
	p.Barcode.Format = walletpush.BarcodeCode128
	j, err := s.PassJSON(p)
	if err != nil {
		t.Fatal(err)
	}
	var got2 struct {
		Voided    bool `json:"voided"`
		StoreCard struct {
			AuxiliaryFields []map[string]any `json:"auxiliaryFields"`
		} `json:"storeCard"`
		Barcode  any   `json:"barcode"`
		Barcodes []any `json:"barcodes"`
	}
	if err := json.Unmarshal(j, &got2); err != nil {
		t.Fatal(err)
	}
	if !got2.Voided || got2.Barcode != nil || len(got2.Barcodes) != 1 {
		t.Errorf("expired Code 128 pass: voided %v barcode %v barcodes %v", got2.Voided, got2.Barcode, got2.Barcodes)
	}
	if f := got2.StoreCard.AuxiliaryFields[0]; f["changeMessage"] != "%@" || f["value"] == "" {
		t.Errorf("offer field without an offer: %v", f)
	}
}

func TestBuildPassValidation(t *testing.T) {
	s, err := walletpush.New(appleConfig(testChain(t)), walletpush.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(*walletpush.Pass)
		field  string
	}{
		{"no serial", func(p *walletpush.Pass) { p.SerialNumber = "" }, "serial_number"},
		{"no organization", func(p *walletpush.Pass) { p.OrganizationName = "" }, "organization_name"},
		{"short token", func(p *walletpush.Pass) { p.AuthenticationToken = "short" }, "authentication_token"},
		{"bad url", func(p *walletpush.Pass) { p.WebServiceURL = "ftp://x" }, "web_service_url"},
		{"bad colour", func(p *walletpush.Pass) { p.BackgroundColor = "blue" }, "background_color"},
		{"bad format", func(p *walletpush.Pass) { p.Barcode.Format = "QR" }, "barcode.format"},
		{"bad image name", func(p *walletpush.Pass) { p.Images = map[string][]byte{"evil.sh": []byte("\x89PNG\r\n\x1a\n")} }, "images.evil.sh"},
		{"image not png", func(p *walletpush.Pass) { p.Images = map[string][]byte{"logo.png": []byte("GIF89a")} }, "images.logo.png"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := samplePass()
			tt.change(&p)
			_, err := s.BuildPass(p)
			var he *hub.Error
			if !errors.As(err, &he) || he.Code != hub.EValidation {
				t.Fatalf("err = %v, want a validation error", err)
			}
			if _, ok := he.Fields[tt.field]; !ok {
				t.Errorf("fields %v lack %q", he.Fields, tt.field)
			}
		})
	}
}

func TestBuildPassImages(t *testing.T) {
	chain := testChain(t)
	s, err := walletpush.New(appleConfig(chain), walletpush.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := samplePass()
	logo := []byte("\x89PNG\r\n\x1a\nlogo")
	p.Images = map[string][]byte{"logo.png": logo, "strip.png": []byte("\x89PNG\r\n\x1a\nstrip")}
	b, err := s.BuildPass(p)
	if err != nil {
		t.Fatal(err)
	}
	files := verifyPass(t, b, chain)
	if !bytes.Equal(files["logo.png"], logo) || files["strip.png"] == nil {
		t.Error("images were not used")
	}
}

func TestBuildPassNeedsConfig(t *testing.T) {
	chain := testChain(t)
	// Without apple_wwdr_certificate nor the WWDR in apple_certificate.
	cfg := appleConfig(chain)
	delete(cfg.Settings, "apple_wwdr_certificate")
	s, err := walletpush.New(cfg, walletpush.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.BuildPass(samplePass()); !errors.Is(err, walletpush.ErrNoWWDR) {
		t.Errorf("err = %v, want ErrNoWWDR", err)
	}
	// The WWDR appended to apple_certificate is found there.
	cfg.Secrets["apple_certificate"] = chain.PassPEM + chain.WWDRPEM
	if s, err = walletpush.New(cfg, walletpush.Options{}); err != nil {
		t.Fatal(err)
	}
	b, err := s.BuildPass(samplePass())
	if err != nil {
		t.Fatal(err)
	}
	verifyPass(t, b, chain)
	// Google only: no passes.
	g := googleOnly(t)
	if _, err := g.BuildPass(samplePass()); !errors.Is(err, walletpush.ErrAppleNotConfigured) {
		t.Errorf("err = %v, want ErrAppleNotConfigured", err)
	}
}

func TestWrongKeyPair(t *testing.T) {
	chain := testChain(t)
	other, err := passcerts.NewWithKey(testPassType, testTeam, passcerts.ECSEC1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := appleConfig(chain)
	cfg.Secrets["apple_certificate"] = chain.CertPEM + other.KeyPEM
	_, err = walletpush.New(cfg, walletpush.Options{})
	var he *hub.Error
	if !errors.As(err, &he) || !strings.Contains(he.Fields["apple_certificate"], "private key does not match the certificate") {
		t.Fatalf("err = %v (%v), want apple_certificate: the private key does not match", err, he)
	}
}
