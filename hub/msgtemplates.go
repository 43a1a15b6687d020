package hub

import (
	"context"
	"errors"
	"fmt"
	"html"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Kinds of message template variants.
const (
	// KindText is the text of messengers and PUSH.
	KindText = "text"
	// KindEmail is an email: subject, HTML and text.
	KindEmail = "email"
)

// MessageVariant is one language and kind of a message template, in Liquid.
type MessageVariant struct {
	Language string `json:"language"`
	Kind     string `json:"kind"`
	Subject  string `json:"subject"`
	Text     string `json:"text"`
	HTML     string `json:"html"`
}

// MessageTemplate is a business's reusable message (mt_…) with variants per
// language and kind.
type MessageTemplate struct {
	ID         string           `json:"id"`
	BusinessID string           `json:"-"`
	Name       string           `json:"name"`
	Variants   []MessageVariant `json:"variants"`
	CreatedAt  time.Time        `json:"created_at"`
	UpdatedAt  time.Time        `json:"updated_at"`
}

// MessageTemplateInput creates a message template or, in a PATCH, changes
// the fields given.
type MessageTemplateInput struct {
	Name     *string          `json:"name"`
	Variants []MessageVariant `json:"variants"`
}

// Renderer checks and renders Liquid templates (package templates).
type Renderer interface {
	// Check parses src and checks its variables and filters; the error's
	// message starts with the line ("line 1: unknown variable customer.nmae").
	Check(src string) error
	// Render renders src with vars; html escapes values for an HTML body.
	Render(ctx context.Context, src string, vars map[string]any, html bool) (string, error)
}

// TemplateTx is the store access of message templates.
type TemplateTx interface {
	CreateMessageTemplate(ctx context.Context, t *MessageTemplate) error
	MessageTemplate(ctx context.Context, businessID, id string) (*MessageTemplate, error)
	// MessageTemplates lists a business's templates newest first (at most page.Size()+1).
	MessageTemplates(ctx context.Context, businessID string, page Page) ([]*MessageTemplate, error)
	// UpdateMessageTemplate stores Name, Variants and UpdatedAt.
	UpdateMessageTemplate(ctx context.Context, t *MessageTemplate) error
	// DeleteMessageTemplate deletes a template; one already gone is not an error.
	DeleteMessageTemplate(ctx context.Context, businessID, id string) error
}

// Bounds of message templates.
const (
	MaxVariants       = 30
	MaxTemplateSource = 64 << 10
)

// errNoRenderer answers template calls when no Renderer is wired.
var errNoRenderer = Errorf(EUnavailable, "message templates are not available")

// checkVariants validates variants under the field name: languages, kinds,
// one variant per language and kind, every source parsed, and the render of
// the sample within the provider limits.
func (s *Service) checkVariants(ctx context.Context, p Problems, field string, vs []MessageVariant) []MessageVariant {
	if len(vs) == 0 || len(vs) > MaxVariants {
		p.Add(field, fmt.Sprintf("must have 1 to %d variants", MaxVariants))
		return nil
	}
	out := make([]MessageVariant, len(vs))
	for i, v := range vs {
		f := fmt.Sprintf("%s[%d]", field, i)
		lang, ok := NormalizeLanguage(v.Language)
		if !ok {
			p.Add(f+".language", "must be a language code such as en or th")
		}
		v.Language = lang
		for j := range i {
			if out[j].Language == v.Language && out[j].Kind == v.Kind {
				p.Add(f, "repeats the language and kind of "+fmt.Sprintf("%s[%d]", field, j))
			}
		}
		switch v.Kind {
		case KindText:
			if v.Subject != "" {
				p.Add(f+".subject", "is only for kind email")
			}
			if v.HTML != "" {
				p.Add(f+".html", "is only for kind email")
			}
			s.checkSource(ctx, p, f+".text", v.Text, true, MaxMessageText, false)
		case KindEmail:
			s.checkSource(ctx, p, f+".subject", v.Subject, true, MaxMessageSubject, false)
			s.checkSource(ctx, p, f+".html", v.HTML, false, MaxMessageHTML, true)
			s.checkSource(ctx, p, f+".text", v.Text, v.HTML == "", MaxMessageText, false)
		default:
			p.Add(f+".kind", "must be text or email")
		}
		out[i] = v
	}
	return out
}

// checkSource checks one Liquid source and that its render with sample data
// stays within max characters (bytes for HTML).
func (s *Service) checkSource(ctx context.Context, p Problems, field, src string, required bool, max int, html bool) {
	switch {
	case strings.TrimSpace(src) == "":
		if required {
			p.Add(field, "is required")
		}
		return
	case len(src) > MaxTemplateSource:
		p.Add(field, "must be at most 64 KiB")
		return
	case !utf8.ValidString(src):
		p.Add(field, "must be valid UTF-8")
		return
	}
	if err := s.renderer.Check(src); err != nil {
		p.Add(field, err.Error())
		return
	}
	out, err := s.renderer.Render(ctx, src, sampleVars(), html)
	if err != nil {
		p.Add(field, err.Error())
		return
	}
	if n := renderedLength(out, html); n > max {
		p.Add(field, fmt.Sprintf("renders to %d characters with sample data; the limit is %d", n, max))
	}
}

func renderedLength(s string, html bool) int {
	if html {
		return len(s)
	}
	return utf8.RuneCountInString(s)
}

// CreateMessageTemplate validates and stores a message template.
func (s *Service) CreateMessageTemplate(ctx context.Context, businessID string, in MessageTemplateInput) (*MessageTemplate, error) {
	if s.renderer == nil {
		return nil, errNoRenderer
	}
	p := Problems{}
	now := s.clock()
	t := &MessageTemplate{ID: NewID(PrefixMessageTemplate), BusinessID: businessID, CreatedAt: now, UpdatedAt: now}
	if in.Name == nil {
		p.Add("name", "is required")
	} else {
		t.Name = checkText(p, "name", *in.Name, 200)
	}
	t.Variants = s.checkVariants(ctx, p, "variants", in.Variants)
	if err := p.Err(); err != nil {
		return nil, err
	}
	return t, s.write(ctx, func(tx Tx, _ *outbox) error {
		if _, err := tx.Business(ctx, businessID); err != nil {
			return err
		}
		return tx.CreateMessageTemplate(ctx, t)
	})
}

// UpdateMessageTemplate changes the name or the variants (all of them) of
// a template.
func (s *Service) UpdateMessageTemplate(ctx context.Context, businessID, id string, in MessageTemplateInput) (*MessageTemplate, error) {
	if s.renderer == nil {
		return nil, errNoRenderer
	}
	p := Problems{}
	var name string
	if in.Name != nil {
		name = checkText(p, "name", *in.Name, 200)
	}
	var variants []MessageVariant
	if in.Variants != nil {
		variants = s.checkVariants(ctx, p, "variants", in.Variants)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	var t *MessageTemplate
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		var err error
		if t, err = tx.MessageTemplate(ctx, businessID, id); err != nil {
			return err
		}
		if in.Name != nil {
			t.Name = name
		}
		if in.Variants != nil {
			t.Variants = variants
		}
		t.UpdatedAt = s.clock()
		return tx.UpdateMessageTemplate(ctx, t)
	})
	return t, err
}

// MessageTemplateByID returns one of a business's message templates.
func (s *Service) MessageTemplateByID(ctx context.Context, businessID, id string) (*MessageTemplate, error) {
	var t *MessageTemplate
	err := s.read(ctx, func(tx Tx) error {
		var err error
		t, err = tx.MessageTemplate(ctx, businessID, id)
		return err
	})
	return t, err
}

// MessageTemplates lists a business's message templates, newest first.
func (s *Service) MessageTemplates(ctx context.Context, businessID string, pg Page) ([]*MessageTemplate, *string, error) {
	if err := CheckPage(pg, PrefixMessageTemplate); err != nil {
		return nil, nil, err
	}
	var ts []*MessageTemplate
	err := s.read(ctx, func(tx Tx) error {
		var err error
		ts, err = tx.MessageTemplates(ctx, businessID, pg)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	items, next := page(ts, pg, func(t *MessageTemplate) string { return t.ID })
	return items, next, nil
}

// DeleteMessageTemplate deletes a template. Campaigns already sending keep
// their copy; drafts and automations that name it fail when they use it.
func (s *Service) DeleteMessageTemplate(ctx context.Context, businessID, id string) error {
	return s.write(ctx, func(tx Tx, _ *outbox) error {
		return tx.DeleteMessageTemplate(ctx, businessID, id)
	})
}

// PreviewInput asks for a template rendered for a customer or sample data.
type PreviewInput struct {
	CustomerID *string        `json:"customer_id"`
	Language   *string        `json:"language"`
	Kind       *string        `json:"kind"`
	Data       map[string]any `json:"data"`
	// Variants, when not nil, are rendered instead of the stored
	// template's: an editor's unsaved text (the console's live preview).
	// They are checked as a save checks them, with problems under
	// "variants[i]…", and the template id may then be empty. The API's
	// preview body has no such field.
	Variants []MessageVariant `json:"-"`
}

// Rendered is a variant rendered for one customer.
type Rendered struct {
	Language string `json:"language"`
	Kind     string `json:"kind"`
	Subject  string `json:"subject"`
	Text     string `json:"text"`
	HTML     string `json:"html"`
}

// PreviewMessageTemplate renders a template for a customer (their newest
// card, business and language) or, without one, for sample data; with
// in.Variants it renders those instead of the stored template's.
func (s *Service) PreviewMessageTemplate(ctx context.Context, businessID, id string, in PreviewInput) (*Rendered, error) {
	if s.renderer == nil {
		return nil, errNoRenderer
	}
	p := Problems{}
	if in.CustomerID != nil && !ValidID(PrefixCustomer, *in.CustomerID) {
		p.Add("customer_id", "must be a customer id")
	}
	kind := KindText
	if in.Kind != nil {
		if *in.Kind != KindText && *in.Kind != KindEmail {
			p.Add("kind", "must be text or email")
		}
		kind = *in.Kind
	}
	var lang string
	if in.Language != nil {
		l, ok := NormalizeLanguage(*in.Language)
		if !ok {
			p.Add("language", "must be a language code such as en or th")
		}
		lang = l
	}
	var unsaved []MessageVariant
	if in.Variants != nil {
		unsaved = s.checkVariants(ctx, p, "variants", in.Variants)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	var (
		t    *MessageTemplate
		vars map[string]any
		biz  *Settings
	)
	err := s.read(ctx, func(tx Tx) error {
		var err error
		if in.Variants != nil {
			t = &MessageTemplate{Variants: unsaved}
		} else if t, err = tx.MessageTemplate(ctx, businessID, id); err != nil {
			return err
		}
		if biz, err = s.settings(ctx, tx, businessID); err != nil {
			return err
		}
		if in.CustomerID == nil {
			vars = sampleVars()
			return nil
		}
		cust, err := tx.Customer(ctx, businessID, *in.CustomerID)
		if err != nil {
			return err
		}
		if lang == "" {
			lang = cust.Language
		}
		rc := RenderContext{Customer: cust}
		if rc.Business, err = tx.Business(ctx, businessID); err != nil {
			return err
		}
		if rc.Card, err = s.newestCard(ctx, tx, businessID, cust.ID); err != nil {
			return err
		}
		vars = rc.Vars()
		return nil
	})
	if err != nil {
		return nil, err
	}
	if in.Data != nil {
		vars["data"] = in.Data
	}
	v, ok := SelectVariant(t.Variants, kind, lang, biz.DefaultLanguage)
	if !ok {
		return nil, &Error{Code: EValidation, Message: "the template has no variant of kind " + kind,
			Fields: map[string]string{"kind": "the template has no " + kind + " variant"}}
	}
	r, err := s.renderVariant(ctx, v, vars)
	if err != nil {
		return nil, &Error{Code: EValidation, Message: "the template does not render: " + err.Error(),
			Fields: map[string]string{"variants": err.Error()}}
	}
	return r, nil
}

// SelectVariant picks the variant of a kind for a customer: the customer's
// language, then the business's default language, then the first of the
// kind. Languages match exactly, then on the base language ("pt" for "pt-BR").
func SelectVariant(vs []MessageVariant, kind, customerLang, businessLang string) (MessageVariant, bool) {
	for _, lang := range []string{customerLang, businessLang} {
		if lang == "" {
			continue
		}
		for _, v := range vs {
			if v.Kind == kind && v.Language == lang {
				return v, true
			}
		}
		base, _, _ := strings.Cut(lang, "-")
		for _, v := range vs {
			vb, _, _ := strings.Cut(v.Language, "-")
			if v.Kind == kind && vb == base {
				return v, true
			}
		}
	}
	i := slices.IndexFunc(vs, func(v MessageVariant) bool { return v.Kind == kind })
	if i < 0 {
		return MessageVariant{}, false
	}
	return vs[i], true
}

// ErrTooLong marks a render over a provider's limit; the recipient fails
// with reason "too_long".
var ErrTooLong = errors.New("the message is longer than the channel allows")

// renderVariant renders every part of a variant and checks the limits.
func (s *Service) renderVariant(ctx context.Context, v MessageVariant, vars map[string]any) (*Rendered, error) {
	r := &Rendered{Language: v.Language, Kind: v.Kind}
	parts := []struct {
		src  string
		dst  *string
		html bool
		max  int
	}{
		{v.Subject, &r.Subject, false, MaxMessageSubject},
		{v.Text, &r.Text, false, MaxMessageText},
		{v.HTML, &r.HTML, true, MaxMessageHTML},
	}
	for _, part := range parts {
		if part.src == "" {
			continue
		}
		out, err := s.renderer.Render(ctx, part.src, vars, part.html)
		if err != nil {
			return nil, err
		}
		if renderedLength(out, part.html) > part.max {
			return nil, ErrTooLong
		}
		*part.dst = out
	}
	if v.Kind == KindEmail && r.Text == "" {
		r.Text = htmlToText(r.HTML)
	}
	return r, nil
}

// htmlToText is the plain-text part of an email written only in HTML: the
// markup dropped, entities decoded.
func htmlToText(h string) string {
	var b strings.Builder
	in := false
	for _, r := range h {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(html.UnescapeString(b.String()))
}

// RenderContext is what a message may mention.
type RenderContext struct {
	Business *Business
	Customer *Customer
	Card     *Card
	Voucher  *Voucher
	Campaign *Campaign
	Data     map[string]any
}

// Vars are the template variables of the context, from the allow-list:
// customer, card, voucher, business, campaign and data.
func (rc RenderContext) Vars() map[string]any {
	vars := map[string]any{}
	if b := rc.Business; b != nil {
		vars["business"] = map[string]any{"name": b.Name}
	}
	if c := rc.Customer; c != nil {
		vars["customer"] = map[string]any{"id": c.ID, "name": deref(c.Name), "email": deref(c.Email),
			"phone": deref(c.Phone), "language": c.Language, "birthday": deref(c.Birthday)}
	}
	if c := rc.Card; c != nil {
		card := map[string]any{"id": c.ID, "stamps": c.Stamps, "stamps_total": c.StampsTotal, "cycle": c.Cycle,
			"page_url": c.PageURL, "stamps_left": 0, "next_reward": ""}
		if c.GoalIndex >= 0 && c.GoalIndex < len(c.Goals) {
			g := c.Goals[c.GoalIndex]
			card["stamps_left"] = max(g.Stamps-c.Stamps, 0)
			card["next_reward"] = g.Reward.Title
		}
		vars["card"] = card
	}
	if v := rc.Voucher; v != nil {
		exp := ""
		if v.ExpiresAt != nil {
			exp = v.ExpiresAt.UTC().Format(time.RFC3339)
		}
		vars["voucher"] = map[string]any{"id": v.ID, "title": v.Title, "redeem_code": v.RedeemCode, "expires_at": exp}
	}
	if c := rc.Campaign; c != nil {
		vars["campaign"] = map[string]any{"id": c.ID, "name": c.Name}
	}
	if rc.Data != nil {
		vars["data"] = rc.Data
	}
	return vars
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// sampleVars are the variables of a preview without a customer, and of the
// length check at save time.
func sampleVars() map[string]any {
	name, email, phone, bday := "Ann", "ann@example.com", "+66812345678", "1990-05-17"
	exp := time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC)
	return RenderContext{
		Business: &Business{Name: "Demo Café"},
		Customer: &Customer{ID: "c_sample", Name: &name, Email: &email, Phone: &phone, Language: "en", Birthday: &bday},
		Card: &Card{ID: "card_sample", Stamps: 3, StampsTotal: 13, Cycle: 1, GoalIndex: 0, PageURL: "https://example.com/c/card_sample",
			Goals: []GoalState{{Index: 0, Stamps: 5, Reward: RewardTitle{Title: "Free coffee"}}}},
		Voucher:  &Voucher{ID: "v_sample", Title: "Free coffee", RedeemCode: "FREECOFFEE", ExpiresAt: &exp},
		Campaign: &Campaign{ID: "cmp_sample", Name: "Summer"},
		Data:     map[string]any{},
	}.Vars()
}

// newestCard returns the customer's newest card, decorated, or nil.
func (s *Service) newestCard(ctx context.Context, tx Tx, businessID, customerID string) (*Card, error) {
	cards, err := tx.Cards(ctx, CardFilter{BusinessID: businessID, CustomerID: customerID, Page: Page{Limit: 1}})
	if err != nil || len(cards) == 0 {
		return nil, err
	}
	c := cards[0]
	t, err := s.cardTemplate(ctx, tx, businessID, c.TemplateID)
	if err != nil {
		return nil, err
	}
	s.decorate(c, t)
	return c, nil
}
