package sqlstore

import (
	"context"

	"github.com/7loc/hub/hub"
)

const messageTemplateKind = "message template"

// BusinessSettings implements hub.SettingsTx.
func (t *tx) BusinessSettings(ctx context.Context, businessID string) (*hub.StoredSettings, error) {
	var st *hub.StoredSettings
	err := t.queryRow(ctx, "SELECT settings FROM businesses WHERE id = ?", businessID).Scan(jsonDest{&st})
	if err != nil {
		return nil, mapErr(err, "business")
	}
	return st, nil
}

// UpdateBusinessSettings implements hub.SettingsTx.
func (t *tx) UpdateBusinessSettings(ctx context.Context, b *hub.Business, s *hub.StoredSettings) error {
	settings, err := jsonArg(s)
	if err != nil {
		return err
	}
	return t.execOne(ctx, "business",
		"UPDATE businesses SET timezone = ?, default_language = ?, settings = ? WHERE id = ?",
		b.Timezone, b.DefaultLanguage, settings, b.ID)
}

const messageTemplateCols = "id, business_id, name, variants, created_at, updated_at"

func scanMessageTemplate(r scanner) (*hub.MessageTemplate, error) {
	var m hub.MessageTemplate
	err := r.Scan(&m.ID, &m.BusinessID, &m.Name, jsonDest{&m.Variants}, timeDest{&m.CreatedAt}, timeDest{&m.UpdatedAt})
	return &m, err
}

// CreateMessageTemplate implements hub.TemplateTx.
func (t *tx) CreateMessageTemplate(ctx context.Context, m *hub.MessageTemplate) error {
	variants, err := jsonArg(m.Variants)
	if err != nil {
		return err
	}
	return t.insert(ctx, messageTemplateKind,
		"INSERT INTO message_templates ("+messageTemplateCols+") VALUES (?, ?, ?, ?, ?, ?)",
		m.ID, m.BusinessID, m.Name, variants, t.tm(m.CreatedAt), t.tm(m.UpdatedAt))
}

// MessageTemplate implements hub.TemplateTx.
func (t *tx) MessageTemplate(ctx context.Context, businessID, id string) (*hub.MessageTemplate, error) {
	return one(ctx, t, messageTemplateKind,
		"SELECT "+messageTemplateCols+" FROM message_templates WHERE id = ? AND business_id = ?",
		[]any{id, businessID}, scanMessageTemplate)
}

// MessageTemplates implements hub.TemplateTx.
func (t *tx) MessageTemplates(ctx context.Context, businessID string, p hub.Page) ([]*hub.MessageTemplate, error) {
	f := filter{}
	f.add("business_id = ?", businessID)
	tail := f.page("id", p)
	return list(ctx, t, messageTemplateKind,
		"SELECT "+messageTemplateCols+" FROM message_templates"+f.sql()+tail, f.args, scanMessageTemplate)
}

// UpdateMessageTemplate implements hub.TemplateTx.
func (t *tx) UpdateMessageTemplate(ctx context.Context, m *hub.MessageTemplate) error {
	variants, err := jsonArg(m.Variants)
	if err != nil {
		return err
	}
	return t.execOne(ctx, messageTemplateKind,
		"UPDATE message_templates SET name = ?, variants = ?, updated_at = ? WHERE id = ? AND business_id = ?",
		m.Name, variants, t.tm(m.UpdatedAt), m.ID, m.BusinessID)
}

// DeleteMessageTemplate implements hub.TemplateTx.
func (t *tx) DeleteMessageTemplate(ctx context.Context, businessID, id string) error {
	_, err := t.exec(ctx, "DELETE FROM message_templates WHERE id = ? AND business_id = ?", id, businessID)
	return mapErr(err, messageTemplateKind)
}
