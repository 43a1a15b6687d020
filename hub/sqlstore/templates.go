package sqlstore

import (
	"context"

	"github.com/7loc/hub/hub"
)

const cardTemplateCols = "id, business_id, name, goals, lottery, earning, created_at"

func scanCardTemplate(r scanner) (*hub.CardTemplate, error) {
	var c hub.CardTemplate
	err := r.Scan(&c.ID, &c.BusinessID, &c.Name, jsonDest{&c.Goals}, jsonDest{&c.Lottery}, jsonDest{&c.Earning}, timeDest{&c.CreatedAt})
	return &c, err
}

// CreateCardTemplate implements hub.Tx.
func (t *tx) CreateCardTemplate(ctx context.Context, c *hub.CardTemplate) error {
	goals, err := jsonArg(c.Goals)
	if err != nil {
		return err
	}
	lottery, err := jsonArg(c.Lottery)
	if err != nil {
		return err
	}
	earning, err := jsonArg(c.Earning)
	if err != nil {
		return err
	}
	return t.insert(ctx, "card template",
		"INSERT INTO card_templates ("+cardTemplateCols+") VALUES (?, ?, ?, ?, ?, ?, ?)",
		c.ID, c.BusinessID, c.Name, goals, lottery, earning, t.tm(c.CreatedAt))
}

// CardTemplate implements hub.Tx.
func (t *tx) CardTemplate(ctx context.Context, businessID, id string) (*hub.CardTemplate, error) {
	return one(ctx, t, "card template",
		"SELECT "+cardTemplateCols+" FROM card_templates WHERE id = ? AND business_id = ?",
		[]any{id, businessID}, scanCardTemplate)
}

// CardTemplates implements hub.Tx: newest first, at most page.Size()+1.
func (t *tx) CardTemplates(ctx context.Context, businessID string, page hub.Page) ([]*hub.CardTemplate, error) {
	var f filter
	f.add("business_id = ?", businessID)
	tail := f.page("id", page)
	return list(ctx, t, "card template",
		"SELECT "+cardTemplateCols+" FROM card_templates"+f.sql()+tail, f.args, scanCardTemplate)
}

const voucherTemplateCols = "id, business_id, title, description, redeem_code_formats, valid_days, created_at"

// CreateVoucherTemplate implements hub.Tx.
func (t *tx) CreateVoucherTemplate(ctx context.Context, v *hub.VoucherTemplate) error {
	formats, err := jsonArg(v.RedeemCodeFormats)
	if err != nil {
		return err
	}
	return t.insert(ctx, "voucher template",
		"INSERT INTO voucher_templates ("+voucherTemplateCols+") VALUES (?, ?, ?, ?, ?, ?, ?)",
		v.ID, v.BusinessID, v.Title, v.Description, formats, v.ValidDays, t.tm(v.CreatedAt))
}

// VoucherTemplate implements hub.Tx.
func (t *tx) VoucherTemplate(ctx context.Context, businessID, id string) (*hub.VoucherTemplate, error) {
	return one(ctx, t, "voucher template",
		"SELECT "+voucherTemplateCols+" FROM voucher_templates WHERE id = ? AND business_id = ?",
		[]any{id, businessID}, func(r scanner) (*hub.VoucherTemplate, error) {
			var v hub.VoucherTemplate
			err := r.Scan(&v.ID, &v.BusinessID, &v.Title, &v.Description, jsonDest{&v.RedeemCodeFormats},
				&v.ValidDays, timeDest{&v.CreatedAt})
			return &v, err
		})
}
