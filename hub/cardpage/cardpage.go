package cardpage

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"image/png"
	"io"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/code128"
	"github.com/boombuler/barcode/qr"

	"github.com/7loc/hub/hub"
)

// Renderer renders card pages. The zero value is not usable; call New.
type Renderer struct {
	tmpl *template.Template
}

// New parses the page template.
func New() (*Renderer, error) {
	t, err := template.New("card").Parse(pageHTML)
	if err != nil {
		return nil, err
	}
	return &Renderer{tmpl: t}, nil
}

type stampDot struct{ Filled bool }

type voucherView struct {
	Title       string
	Description string
	Code        string
	ExpiresAt   string
	QR          template.URL
	Barcode     template.URL
	ShowText    bool
}

type pageView struct {
	Business string
	Template string
	Stamps   int
	Target   int
	Next     string
	Dots     []stampDot
	Goals    []hub.GoalState
	Vouchers []voucherView
	Links    []linkView
}

type linkView struct {
	Label string
	URL   string
}

var linkLabels = map[string]string{"telegram": "Get updates in Telegram", "viber": "Get updates in Viber"}

// Render writes the page.
func (r *Renderer) Render(w io.Writer, p *hub.CardPage) error {
	v := pageView{Business: p.Business.Name, Template: p.Template.Name, Stamps: p.Card.Stamps, Goals: p.Card.Goals}
	if gi := p.Card.GoalIndex; gi < len(p.Template.Goals) {
		g := p.Template.Goals[gi]
		v.Target, v.Next = g.Stamps, g.Reward.Title
	}
	for i := 0; i < v.Target && i < 100; i++ {
		v.Dots = append(v.Dots, stampDot{Filled: i < v.Stamps})
	}
	for _, vo := range p.Vouchers {
		vv := voucherView{Title: vo.Title, Code: vo.RedeemCode}
		if vo.Description != nil {
			vv.Description = *vo.Description
		}
		if vo.ExpiresAt != nil {
			vv.ExpiresAt = vo.ExpiresAt.Format("2006-01-02")
		}
		for _, f := range vo.RedeemCodeFormats {
			switch f {
			case "text":
				vv.ShowText = true
			case "qr":
				img, err := QRDataURI(vo.RedeemCode)
				if err != nil {
					return err
				}
				vv.QR = img
			case "barcode":
				img, err := BarcodeDataURI(vo.RedeemCode)
				if err != nil {
					return err
				}
				vv.Barcode = img
			}
		}
		v.Vouchers = append(v.Vouchers, vv)
	}
	for _, l := range p.Links {
		v.Links = append(v.Links, linkView{Label: linkLabels[l.Channel], URL: l.URL})
	}
	return r.tmpl.Execute(w, v)
}

// QRDataURI returns a QR code of the text as a PNG data URI.
func QRDataURI(text string) (template.URL, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return "", fmt.Errorf("qr: %w", err)
	}
	return pngURI(code, 220, 220)
}

// BarcodeDataURI returns a Code 128 barcode of the text as a PNG data URI.
func BarcodeDataURI(text string) (template.URL, error) {
	code, err := code128.Encode(text)
	if err != nil {
		return "", fmt.Errorf("code128: %w", err)
	}
	return pngURI(code, 300, 80)
}

func pngURI(code barcode.Barcode, w, h int) (template.URL, error) {
	scaled, err := barcode.Scale(code, w, h)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, scaled); err != nil {
		return "", err
	}
	// The data is base64 from our own PNG encoder, so it is safe as a URL.
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())), nil
}

const pageHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Template}} · {{.Business}}</title>
<style>
body{font-family:system-ui,-apple-system,sans-serif;margin:0;background:#f6f4f0;color:#222}
main{max-width:28rem;margin:0 auto;padding:1.5rem}
h1{font-size:1.4rem;margin:.2rem 0}
.biz{color:#777;font-size:.9rem}
.card,.voucher{background:#fff;border-radius:1rem;padding:1.2rem;margin:1rem 0;box-shadow:0 1px 4px #0001}
.dots{display:flex;flex-wrap:wrap;gap:.5rem;margin:.8rem 0}
.dot{width:1.6rem;height:1.6rem;border-radius:50%;border:2px solid #8a5a2b}
.dot.on{background:#8a5a2b}
.goals{list-style:none;padding:0;margin:0}
.goals li{padding:.3rem 0;border-top:1px solid #eee}
.done{color:#2a7a2a}
.code{font:600 1.4rem ui-monospace,monospace;letter-spacing:.15rem;text-align:center;margin:.6rem 0}
img{display:block;margin:.6rem auto;max-width:100%}
</style>
</head>
<body>
<main>
<div class="biz">{{.Business}}</div>
<h1>{{.Template}}</h1>
<section class="card">
{{if .Target}}<div>{{.Stamps}} of {{.Target}} stamps — next: <strong>{{.Next}}</strong></div>{{end}}
<div class="dots">{{range .Dots}}<span class="dot{{if .Filled}} on{{end}}"></span>{{end}}</div>
<ul class="goals">{{range .Goals}}<li{{if .Reached}} class="done"{{end}}>{{.Stamps}} stamps: {{.Reward.Title}}{{if .Reached}} ✓{{end}}</li>{{end}}</ul>
</section>
{{range .Vouchers}}<section class="voucher">
<h2>{{.Title}}</h2>
{{if .Description}}<p>{{.Description}}</p>{{end}}
{{if .QR}}<img src="{{.QR}}" alt="QR code for {{.Code}}" width="220" height="220">{{end}}
{{if .Barcode}}<img src="{{.Barcode}}" alt="Barcode for {{.Code}}" width="300" height="80">{{end}}
{{if .ShowText}}<div class="code">{{.Code}}</div>{{end}}
{{if .ExpiresAt}}<div class="biz">Valid until {{.ExpiresAt}}</div>{{end}}
</section>{{else}}<p class="biz">No open vouchers yet. Keep collecting stamps!</p>{{end}}
{{range .Links}}<p><a class="link" href="{{.URL}}" rel="nofollow">{{.Label}}</a></p>{{end}}
</main>
</body>
</html>
`
