package walletpush

import (
	"archive/zip"
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
	"github.com/smallstep/pkcs7"
)

// Barcode formats of Apple Wallet.
const (
	BarcodeQR      = "PKBarcodeFormatQR"
	BarcodeCode128 = "PKBarcodeFormatCode128"
	BarcodePDF417  = "PKBarcodeFormatPDF417"
	BarcodeAztec   = "PKBarcodeFormatAztec"
)

// Default pass colours (rgb(r, g, b) or #rrggbb are accepted).
const (
	DefaultBackgroundColor = "rgb(255, 255, 255)"
	DefaultForegroundColor = "rgb(0, 0, 0)"
)

// Barcode is the code a pass shows for scanning at the till.
type Barcode struct {
	// Message is the encoded text (usually the card id or a scan URL);
	// empty means no barcode.
	Message string
	// Format is one of the Barcode* constants; "" means QR.
	Format string
	// AltText is printed under the code.
	AltText string
}

// Pass is the content of a business's loyalty card as an Apple Wallet store card.
type Pass struct {
	// SerialNumber is the card id.
	SerialNumber string
	// AuthenticationToken is what the device sends to the web service
	// ("ApplePass <token>"); at least 16 characters.
	AuthenticationToken string
	// WebServiceURL is the base URL of the hub's Apple Wallet web service;
	// empty means a pass that never updates.
	WebServiceURL    string
	OrganizationName string
	Description      string
	LogoText         string
	// Stamps collected of StampsGoal (0: no goal).
	Stamps, StampsGoal int
	// RewardTitle is what the goal earns ("Free coffee").
	RewardTitle string
	// OfferText is the latest offer; it is the field whose change makes the
	// device show a notification.
	OfferText string
	// ChangeMessage is the offer field's notification, "%@" standing for the
	// new value; "" means "%@".
	ChangeMessage string
	Barcode       Barcode
	// BackgroundColor and ForegroundColor are "rgb(r, g, b)" or "#rrggbb".
	BackgroundColor, ForegroundColor string
	// Expired voids the pass.
	Expired bool
	// UpdatedAt is shown on the back and dates the zip entries; zero means now.
	UpdatedAt time.Time
	// Images optionally replace or add the pass's images by file name
	// ("icon.png", "icon@2x.png", "logo.png", "logo@2x.png", "strip.png",
	// "strip@2x.png", ...); they must be PNG. Icon and logo are generated
	// from BackgroundColor when absent.
	Images map[string][]byte
}

// passImageNames are the image files a store card may carry.
var passImageNames = map[string]bool{}

func init() {
	for _, n := range []string{"icon", "logo", "strip", "thumbnail"} {
		for _, s := range []string{"", "@2x", "@3x"} {
			passImageNames[n+s+".png"] = true
		}
	}
}

// passJSON is pass.json (field order kept for stable output).
type passJSON struct {
	FormatVersion       int        `json:"formatVersion"`
	PassTypeIdentifier  string     `json:"passTypeIdentifier"`
	TeamIdentifier      string     `json:"teamIdentifier"`
	SerialNumber        string     `json:"serialNumber"`
	AuthenticationToken string     `json:"authenticationToken,omitempty"`
	WebServiceURL       string     `json:"webServiceURL,omitempty"`
	OrganizationName    string     `json:"organizationName"`
	Description         string     `json:"description"`
	LogoText            string     `json:"logoText,omitempty"`
	BackgroundColor     string     `json:"backgroundColor"`
	ForegroundColor     string     `json:"foregroundColor"`
	LabelColor          string     `json:"labelColor"`
	Voided              bool       `json:"voided,omitempty"`
	StoreCard           passFields `json:"storeCard"`
	Barcodes            []passCode `json:"barcodes,omitempty"`
	Barcode             *passCode  `json:"barcode,omitempty"`
}

type passFields struct {
	PrimaryFields   []passField `json:"primaryFields"`
	SecondaryFields []passField `json:"secondaryFields,omitempty"`
	AuxiliaryFields []passField `json:"auxiliaryFields,omitempty"`
	BackFields      []passField `json:"backFields,omitempty"`
}

type passField struct {
	Key           string `json:"key"`
	Label         string `json:"label,omitempty"`
	Value         any    `json:"value"`
	ChangeMessage string `json:"changeMessage,omitempty"`
	DateStyle     string `json:"dateStyle,omitempty"`
	TimeStyle     string `json:"timeStyle,omitempty"`
}

type passCode struct {
	Message         string `json:"message"`
	Format          string `json:"format"`
	MessageEncoding string `json:"messageEncoding"`
	AltText         string `json:"altText,omitempty"`
}

// PassJSON returns the pass.json BuildPass would put in the pass.
func (s *Sender) PassJSON(p Pass) ([]byte, error) {
	if s.apple == nil {
		return nil, ErrAppleNotConfigured
	}
	bg, fg, err := validatePass(&p)
	if err != nil {
		return nil, err
	}
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = s.now()
	}
	return s.passJSON(p, bg, fg)
}

func (s *Sender) passJSON(p Pass, bg, fg color.RGBA) ([]byte, error) {
	stamps := strconv.Itoa(p.Stamps)
	if p.StampsGoal > 0 {
		stamps = fmt.Sprintf("%d / %d", p.Stamps, p.StampsGoal)
	}
	change := p.ChangeMessage
	if change == "" {
		change = "%@"
	}
	offer := p.OfferText
	if offer == "" {
		offer = "—" // the field stays, so the first offer is a change the device announces
	}
	f := passFields{
		PrimaryFields: []passField{{Key: "stamps", Label: "Stamps", Value: stamps}},
		AuxiliaryFields: []passField{
			{Key: "offer", Label: "Offer", Value: offer, ChangeMessage: change},
		},
		BackFields: []passField{
			{Key: "offer_details", Label: "Latest offer", Value: offer},
			{Key: "updated", Label: "Updated", Value: p.UpdatedAt.UTC().Format(time.RFC3339), DateStyle: "PKDateStyleMedium", TimeStyle: "PKDateStyleShort"},
		},
	}
	if p.RewardTitle != "" {
		f.SecondaryFields = []passField{{Key: "reward", Label: "Reward", Value: p.RewardTitle}}
	}
	j := passJSON{
		FormatVersion:       1,
		PassTypeIdentifier:  s.apple.passTypeID,
		TeamIdentifier:      s.apple.teamID,
		SerialNumber:        p.SerialNumber,
		AuthenticationToken: p.AuthenticationToken,
		WebServiceURL:       p.WebServiceURL,
		OrganizationName:    p.OrganizationName,
		Description:         p.Description,
		LogoText:            p.LogoText,
		BackgroundColor:     rgbString(bg),
		ForegroundColor:     rgbString(fg),
		LabelColor:          rgbString(fg),
		Voided:              p.Expired,
		StoreCard:           f,
	}
	if p.Barcode.Message != "" {
		format := p.Barcode.Format
		if format == "" {
			format = BarcodeQR
		}
		c := passCode{Message: p.Barcode.Message, Format: format, MessageEncoding: "iso-8859-1", AltText: p.Barcode.AltText}
		j.Barcodes = []passCode{c}
		if format != BarcodeCode128 { // iOS 8 and older knew no Code 128
			j.Barcode = &c
		}
	}
	return json.MarshalIndent(j, "", "  ")
}

// validatePass checks a Pass and returns its colours.
func validatePass(p *Pass) (bg, fg color.RGBA, err error) {
	pr := hub.Problems{}
	if p.SerialNumber == "" || len(p.SerialNumber) > 255 {
		pr.Add("serial_number", "is required")
	}
	if p.OrganizationName == "" {
		pr.Add("organization_name", "is required")
	}
	if p.Description == "" {
		pr.Add("description", "is required")
	}
	if p.WebServiceURL != "" {
		u, err := url.Parse(p.WebServiceURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			pr.Add("web_service_url", "must be an absolute https URL")
		}
		if len(p.AuthenticationToken) < 16 {
			pr.Add("authentication_token", "must be at least 16 characters with a web service URL")
		}
	}
	if p.Stamps < 0 || p.StampsGoal < 0 {
		pr.Add("stamps", "must not be negative")
	}
	switch p.Barcode.Format {
	case "", BarcodeQR, BarcodeCode128, BarcodePDF417, BarcodeAztec:
	default:
		pr.Add("barcode.format", "must be a PKBarcodeFormat")
	}
	if p.Barcode.Message != "" && !latin1(p.Barcode.Message) {
		pr.Add("barcode.message", "must be ISO-8859-1 text")
	}
	bg, fg = color.RGBA{255, 255, 255, 255}, color.RGBA{0, 0, 0, 255}
	if p.BackgroundColor != "" {
		var ok bool
		if bg, ok = parseColor(p.BackgroundColor); !ok {
			pr.Add("background_color", "must be rgb(r, g, b) or #rrggbb")
		}
	}
	if p.ForegroundColor != "" {
		var ok bool
		if fg, ok = parseColor(p.ForegroundColor); !ok {
			pr.Add("foreground_color", "must be rgb(r, g, b) or #rrggbb")
		}
	}
	for name, b := range p.Images {
		if !passImageNames[name] {
			pr.Add("images."+name, "is not a pass image name")
		} else if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
			pr.Add("images."+name, "must be a PNG")
		}
	}
	return bg, fg, pr.Err()
}

func latin1(s string) bool {
	for _, r := range s {
		if r > 0xff {
			return false
		}
	}
	return true
}

// BuildPass returns a signed .pkpass: a zip of pass.json, icon.png,
// icon@2x.png, logo.png (and p.Images), manifest.json (the hex SHA-1 of
// every file) and signature, a detached CMS signature of manifest.json
// (SHA-256, signing time, signer and WWDR certificates included) made with
// the pass certificate's key. A bad Pass is a hub validation error.
func (s *Sender) BuildPass(p Pass) ([]byte, error) {
	if s.apple == nil {
		return nil, ErrAppleNotConfigured
	}
	if s.apple.wwdr == nil {
		return nil, ErrNoWWDR
	}
	now := s.now()
	if now.After(s.apple.cert.NotAfter) {
		return nil, fmt.Errorf("walletpush: the pass certificate expired on %s", s.apple.cert.NotAfter.Format(time.DateOnly))
	}
	bg, fg, err := validatePass(&p)
	if err != nil {
		return nil, err
	}
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = now
	}
	pj, err := s.passJSON(p, bg, fg)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{"pass.json": pj}
	for name, size := range map[string][2]int{"icon.png": {29, 29}, "icon@2x.png": {58, 58}, "logo.png": {160, 50}} {
		if _, ok := p.Images[name]; !ok {
			if files[name], err = solidPNG(size[0], size[1], bg); err != nil {
				return nil, err
			}
		}
	}
	for name, b := range p.Images {
		files[name] = b
	}
	names := make([]string, 0, len(files))
	manifest := map[string]string{}
	for name, b := range files {
		sum := sha1.Sum(b)
		manifest[name] = hex.EncodeToString(sum[:])
		names = append(names, name)
	}
	sort.Strings(names)
	mj, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		return nil, err
	}
	sig, err := s.signManifest(mj)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, b []byte) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: p.UpdatedAt.UTC()})
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	for _, name := range names {
		if err := add(name, files[name]); err != nil {
			return nil, err
		}
	}
	if err := add("manifest.json", mj); err != nil {
		return nil, err
	}
	if err := add("signature", sig); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// signManifest makes the detached CMS signature of manifest.json.
func (s *Sender) signManifest(manifest []byte) ([]byte, error) {
	a := s.apple
	if !samePublicKey(a.cert.PublicKey, a.key.Public()) {
		return nil, errors.New("walletpush: the private key in apple_certificate does not match the pass certificate")
	}
	sd, err := pkcs7.NewSignedData(manifest)
	if err != nil {
		return nil, fmt.Errorf("walletpush: signing the pass: %w", err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSignerChain(a.cert, a.key, []*x509.Certificate{a.wwdr}, pkcs7.SignerInfoConfig{}); err != nil {
		return nil, fmt.Errorf("walletpush: signing the pass: %w", err)
	}
	sd.Detach()
	sig, err := sd.Finish()
	if err != nil {
		return nil, fmt.Errorf("walletpush: signing the pass: %w", err)
	}
	return sig, nil
}

func solidPNG(w, h int, c color.RGBA) ([]byte, error) {
	img := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{c})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// parseColor reads "rgb(r, g, b)", "#rrggbb" or "#rgb".
func parseColor(s string) (color.RGBA, bool) {
	s = strings.TrimSpace(s)
	if h, ok := strings.CutPrefix(s, "#"); ok {
		if len(h) == 3 {
			h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
		}
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 3 {
			return color.RGBA{}, false
		}
		return color.RGBA{b[0], b[1], b[2], 255}, true
	}
	inner, ok := strings.CutPrefix(s, "rgb(")
	if !ok {
		return color.RGBA{}, false
	}
	inner, ok = strings.CutSuffix(inner, ")")
	if !ok {
		return color.RGBA{}, false
	}
	parts := strings.Split(inner, ",")
	if len(parts) != 3 {
		return color.RGBA{}, false
	}
	var v [3]uint8
	for i, part := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 0 || n > 255 {
			return color.RGBA{}, false
		}
		v[i] = uint8(n)
	}
	return color.RGBA{v[0], v[1], v[2], 255}, true
}

func rgbString(c color.RGBA) string {
	return fmt.Sprintf("rgb(%d, %d, %d)", c.R, c.G, c.B)
}
