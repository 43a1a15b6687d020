package hub_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// TestPreviewUnsavedVariants renders an editor's unsaved variants instead
// of the stored template's, checked as a save checks them.
func TestPreviewUnsavedVariants(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		m := newMessagingFixture(t, st)
		stored, err := m.svc.CreateMessageTemplate(m.ctx, m.biz, hub.MessageTemplateInput{Name: ptr("Hello"),
			Variants: []hub.MessageVariant{{Language: "en", Kind: hub.KindText, Text: "stored {{ customer.name }}"}}})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name     string
			id       string
			in       hub.PreviewInput
			want     *hub.Rendered
			problems map[string]string
		}{
			{name: "stored", id: stored.ID, in: hub.PreviewInput{},
				want: &hub.Rendered{Language: "en", Kind: hub.KindText, Text: "stored Ann"}},
			{name: "unsaved of a stored template", id: stored.ID, in: hub.PreviewInput{
				Variants: []hub.MessageVariant{{Language: "en", Kind: hub.KindText, Text: "unsaved {{ customer.name }}"}}},
				want: &hub.Rendered{Language: "en", Kind: hub.KindText, Text: "unsaved Ann"}},
			{name: "unsaved without a template", in: hub.PreviewInput{Kind: ptr(hub.KindEmail), Variants: []hub.MessageVariant{
				{Language: "th", Kind: hub.KindEmail, Subject: "Hi {{ business.name }}", HTML: "<p>{{ card.stamps }}</p>"}}},
				want: &hub.Rendered{Language: "th", Kind: hub.KindEmail, Subject: "Hi Demo Café", HTML: "<p>3</p>", Text: "3"}},
			{name: "bad Liquid at its line", in: hub.PreviewInput{Variants: []hub.MessageVariant{
				{Language: "en", Kind: hub.KindText, Text: "fine\n{{ customer.nmae }}"}}},
				problems: map[string]string{"variants[0].text": "line 2: unknown variable customer.nmae"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := m.svc.PreviewMessageTemplate(m.ctx, m.biz, tt.id, tt.in)
				if tt.problems != nil {
					if diff := cmp.Diff(tt.problems, hub.ErrorFields(err)); diff != "" {
						t.Fatalf("problems (-want +got):\n%s", diff)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("preview (-want +got):\n%s", diff)
				}
			})
		}
		// The stored template is left as it was.
		got, err := m.svc.MessageTemplateByID(m.ctx, m.biz, stored.ID)
		if err != nil || got.Variants[0].Text != "stored {{ customer.name }}" {
			t.Errorf("stored template changed: %+v, %v", got, err)
		}
	})
}
