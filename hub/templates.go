package hub

import (
	"context"
	"fmt"
)

// CardTemplateInput creates a card template.
type CardTemplateInput struct {
	Name    string        `json:"name"`
	Goals   []GoalInput   `json:"goals"`
	Lottery *LotteryInput `json:"lottery"`
	// Earning is the template's earning rule (null: one stamp per sale).
	Earning *Earning `json:"earning"`
}

// GoalInput is one goal of a new template.
type GoalInput struct {
	Stamps int         `json:"stamps"`
	Reward RewardInput `json:"reward"`
}

// RewardInput is a goal's reward.
type RewardInput struct {
	Title       string  `json:"title"`
	Description *string `json:"description"`
}

// LotteryInput is a new template's lottery.
type LotteryInput struct {
	Prizes     []PrizeInput `json:"prizes"`
	LoseWeight int          `json:"lose_weight"`
}

// PrizeInput is one weighted prize.
type PrizeInput struct {
	Title  string `json:"title"`
	Weight int    `json:"weight"`
}

// Limits of card templates.
const (
	MaxGoals       = 20
	MaxGoalStamps  = 1000
	MaxPrizes      = 50
	MaxPrizeWeight = 1_000_000
)

// CreateCardTemplate validates and stores a card template. Goals must have
// strictly increasing stamp counts.
func (s *Service) CreateCardTemplate(ctx context.Context, businessID string, in CardTemplateInput) (*CardTemplate, error) {
	p := Problems{}
	t := &CardTemplate{ID: NewID(PrefixCardTemplate), BusinessID: businessID, CreatedAt: s.clock()}
	t.Name = checkText(p, "name", in.Name, 200)
	switch {
	case len(in.Goals) == 0:
		p.Add("goals", "must have at least one goal")
	case len(in.Goals) > MaxGoals:
		p.Add("goals", fmt.Sprintf("must have at most %d goals", MaxGoals))
	}
	prev := 0
	for i, g := range in.Goals {
		f := fmt.Sprintf("goals[%d]", i)
		if g.Stamps < 1 || g.Stamps > MaxGoalStamps {
			p.Add(f+".stamps", fmt.Sprintf("must be between 1 and %d", MaxGoalStamps))
		} else if g.Stamps <= prev {
			p.Add(f+".stamps", "must be greater than the previous goal's stamps")
		}
		prev = g.Stamps
		t.Goals = append(t.Goals, Goal{Stamps: g.Stamps, Reward: Reward{
			Title:       checkText(p, f+".reward.title", g.Reward.Title, 200),
			Description: optionalText(p, f+".reward.description", g.Reward.Description, 1000),
		}})
	}
	if l := in.Lottery; l != nil {
		if len(l.Prizes) == 0 || len(l.Prizes) > MaxPrizes {
			p.Add("lottery.prizes", fmt.Sprintf("must have 1 to %d prizes", MaxPrizes))
		}
		if l.LoseWeight < 0 || l.LoseWeight > MaxPrizeWeight {
			p.Add("lottery.lose_weight", fmt.Sprintf("must be between 0 and %d", MaxPrizeWeight))
		}
		lot := &Lottery{LoseWeight: l.LoseWeight}
		for i, pr := range l.Prizes {
			f := fmt.Sprintf("lottery.prizes[%d]", i)
			if pr.Weight < 1 || pr.Weight > MaxPrizeWeight {
				p.Add(f+".weight", fmt.Sprintf("must be between 1 and %d", MaxPrizeWeight))
			}
			lot.Prizes = append(lot.Prizes, Prize{Title: checkText(p, f+".title", pr.Title, 200), Weight: pr.Weight})
		}
		t.Lottery = lot
	}
	t.Earning = checkEarning(p, "earning", in.Earning)
	if err := p.Err(); err != nil {
		return nil, err
	}
	return t, s.write(ctx, func(tx Tx, _ *outbox) error {
		if _, err := tx.Business(ctx, businessID); err != nil {
			return err
		}
		return tx.CreateCardTemplate(ctx, t)
	})
}

// CardTemplate returns one of a business's card templates.
func (s *Service) CardTemplate(ctx context.Context, businessID, id string) (*CardTemplate, error) {
	var t *CardTemplate
	err := s.read(ctx, func(tx Tx) error {
		var err error
		t, err = s.cardTemplate(ctx, tx, businessID, id)
		return err
	})
	return t, err
}

// CardTemplatePatch changes a card template. Only the earning rule can change:
// goals and lottery are fixed once cards exist.
type CardTemplatePatch struct {
	// Earning is the new rule; JSON null restores one stamp per sale.
	Earning *Earning `json:"earning"`
}

// PatchCardTemplate replaces a template's earning rule.
func (s *Service) PatchCardTemplate(ctx context.Context, businessID, id string, in CardTemplatePatch) (*CardTemplate, error) {
	p := Problems{}
	earning := checkEarning(p, "earning", in.Earning)
	if err := p.Err(); err != nil {
		return nil, err
	}
	var t *CardTemplate
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		var err error
		if t, err = tx.CardTemplate(ctx, businessID, id); err != nil {
			return err
		}
		t.Earning = earning
		return tx.UpdateCardTemplateEarning(ctx, t)
	})
	if err != nil {
		return nil, err
	}
	s.templates.Store(t.ID, t)
	s.earnings.Delete(t.ID)
	return t, nil
}

// CardTemplates lists a business's card templates, newest first.
func (s *Service) CardTemplates(ctx context.Context, businessID string, pg Page) ([]*CardTemplate, *string, error) {
	if err := CheckPage(pg, PrefixCardTemplate); err != nil {
		return nil, nil, err
	}
	var ts []*CardTemplate
	err := s.read(ctx, func(tx Tx) error {
		var err error
		ts, err = tx.CardTemplates(ctx, businessID, pg)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	items, next := page(ts, pg, func(t *CardTemplate) string { return t.ID })
	return items, next, nil
}

// VoucherTemplateInput creates a voucher template.
type VoucherTemplateInput struct {
	Title             string   `json:"title"`
	Description       *string  `json:"description"`
	RedeemCodeFormats []string `json:"redeem_code_formats"`
	ValidDays         *int     `json:"valid_days"`
}

// MaxValidDays bounds voucher validity.
const MaxValidDays = 3660

// CreateVoucherTemplate validates and stores a voucher template.
func (s *Service) CreateVoucherTemplate(ctx context.Context, businessID string, in VoucherTemplateInput) (*VoucherTemplate, error) {
	p := Problems{}
	t := &VoucherTemplate{ID: NewID(PrefixVoucherTemplate), BusinessID: businessID, CreatedAt: s.clock()}
	t.Title = checkText(p, "title", in.Title, 200)
	t.Description = optionalText(p, "description", in.Description, 1000)
	t.RedeemCodeFormats = checkFormats(p, "redeem_code_formats", in.RedeemCodeFormats)
	if in.ValidDays != nil {
		if *in.ValidDays < 1 || *in.ValidDays > MaxValidDays {
			p.Add("valid_days", fmt.Sprintf("must be between 1 and %d", MaxValidDays))
		}
		t.ValidDays = in.ValidDays
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return t, s.write(ctx, func(tx Tx, _ *outbox) error {
		if _, err := tx.Business(ctx, businessID); err != nil {
			return err
		}
		return tx.CreateVoucherTemplate(ctx, t)
	})
}

// checkFormats validates redeem code formats; nil means all of them.
func checkFormats(p Problems, field string, formats []string) []string {
	if formats == nil {
		return append([]string(nil), RedeemCodeFormats...)
	}
	if len(formats) == 0 {
		p.Add(field, "must name at least one of text, qr, barcode")
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for i, f := range formats {
		if !contains(RedeemCodeFormats, f) {
			p.Add(fmt.Sprintf("%s[%d]", field, i), "must be one of text, qr, barcode")
			continue
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
