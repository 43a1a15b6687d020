package tasks_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/tasks"
)

// TestDispatchPayloads: a dispatch task names events of any businesses; a
// task queued before dispatch spanned businesses (one business and its ids)
// still reads the same after an upgrade.
func TestDispatchPayloads(t *testing.T) {
	tests := []struct {
		name, raw string
		want      []hub.EventKey
	}{
		{"events of two businesses", `{"events":[{"b":"b_1","id":"evt_1"},{"b":"b_2","id":"evt_2"}]}`,
			[]hub.EventKey{{BusinessID: "b_1", ID: "evt_1"}, {BusinessID: "b_2", ID: "evt_2"}}},
		{"queued by an earlier version", `{"business_id":"b_1","event_ids":["evt_1","evt_3"]}`,
			[]hub.EventKey{{BusinessID: "b_1", ID: "evt_1"}, {BusinessID: "b_1", ID: "evt_3"}}},
		{"empty", `{}`, []hub.EventKey{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tasks.DispatchPayloadKeys([]byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("keys (-want +got):\n%s", d)
			}
		})
	}
}
