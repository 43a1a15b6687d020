package cardpage_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/cardpage"
)

func page(title string, formats []string) *hub.CardPage {
	desc := "One per visit"
	exp := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	return &hub.CardPage{
		Business: &hub.Business{Name: "Café <Ann>"},
		Template: &hub.CardTemplate{Name: "Coffee", Goals: []hub.Goal{{Stamps: 5, Reward: hub.Reward{Title: "Espresso"}}}},
		Card:     &hub.Card{Stamps: 2, GoalIndex: 0, Goals: []hub.GoalState{{Index: 0, Stamps: 5, Reward: hub.RewardTitle{Title: "Espresso"}}}},
		Vouchers: []*hub.Voucher{{Title: title, Description: &desc, RedeemCode: "FREECOFFEE", RedeemCodeFormats: formats, ExpiresAt: &exp}},
	}
}

func TestRenderShowsCodesInTheirFormats(t *testing.T) {
	r, err := cardpage.New()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		formats           []string
		text, qr, barcode bool
	}{
		{[]string{"text", "qr", "barcode"}, true, true, true},
		{[]string{"qr"}, false, true, false},
		{[]string{"text"}, true, false, false},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := r.Render(&buf, page("Free coffee", tt.formats)); err != nil {
			t.Fatal(err)
		}
		html := buf.String()
		checks := map[string]bool{
			`<div class="code">FREECOFFEE</div>`: tt.text,
			`alt="QR code for FREECOFFEE"`:       tt.qr,
			`alt="Barcode for FREECOFFEE"`:       tt.barcode,
		}
		for frag, want := range checks {
			if got := strings.Contains(html, frag); got != want {
				t.Errorf("formats %v: page has %q = %v, want %v", tt.formats, frag, got, want)
			}
		}
		if !strings.Contains(html, "2 of 5 stamps") || !strings.Contains(html, "Valid until 2026-12-31") {
			t.Errorf("formats %v: progress or expiry missing", tt.formats)
		}
	}
}

func TestRenderEscapesText(t *testing.T) {
	r, _ := cardpage.New()
	var buf bytes.Buffer
	if err := r.Render(&buf, page(`<script>alert(1)</script>`, []string{"text"})); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	if strings.Contains(html, "<script>") || strings.Contains(html, "Café <Ann>") {
		t.Errorf("page does not escape shop-supplied text:\n%s", html)
	}
}

func TestCodeImagesArePNG(t *testing.T) {
	for name, f := range map[string]func(string) (string, error){
		"qr":      func(s string) (string, error) { u, err := cardpage.QRDataURI(s); return string(u), err },
		"barcode": func(s string) (string, error) { u, err := cardpage.BarcodeDataURI(s); return string(u), err },
	} {
		u, err := f("FREECOFFEE")
		if err != nil || !strings.HasPrefix(u, "data:image/png;base64,iVBOR") {
			t.Errorf("%s = %.40q, %v", name, u, err)
		}
	}
}
