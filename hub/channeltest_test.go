package hub_test

import (
	"testing"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

func TestTestChannel(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		card := f.card("ann@example.com")
		biz := &f.pr.Business
		tests := []struct {
			name     string
			provider string
			in       hub.ChannelTestInput
			code     hub.Code
			field    string
		}{
			{"unknown provider", "fax", hub.ChannelTestInput{CustomerID: &card.CustomerID}, hub.ENotFound, ""},
			{"no customer", "email", hub.ChannelTestInput{}, hub.EValidation, "customer_id"},
			{"gateway without a messenger", "gateway", hub.ChannelTestInput{CustomerID: &card.CustomerID}, hub.EValidation, "channel"},
			{"another channel", "email", hub.ChannelTestInput{CustomerID: &card.CustomerID, Channel: ptr("telegram")}, hub.EValidation, "channel"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := f.svc.TestChannel(f.ctx, biz, tt.provider, tt.in)
				wantCode(t, err, tt.code)
				if tt.field != "" && hub.ErrorFields(err)[tt.field] == "" {
					t.Errorf("no problem with %s: %v", tt.field, hub.ErrorFields(err))
				}
			})
		}
		d, err := f.svc.TestChannel(f.ctx, biz, "email", hub.ChannelTestInput{CustomerID: &card.CustomerID})
		if err != nil {
			t.Fatal(err)
		}
		if d.Channel != "email" || !d.Transactional || d.Content.Text != "This is a test message from Café." ||
			d.Content.Subject != "Test message" || d.CustomerID != card.CustomerID {
			t.Errorf("delivery %+v", d)
		}
		d, err = f.svc.TestChannel(f.ctx, biz, "gateway", hub.ChannelTestInput{CustomerID: &card.CustomerID,
			Channel: ptr("telegram"), Text: ptr("Hi")})
		if err != nil || d.Channel != "telegram" || d.Content.Text != "Hi" {
			t.Errorf("gateway test: %+v, %v", d, err)
		}
	})
}
