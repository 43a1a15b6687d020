package console

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
)

// TestChartTicks checks the count axis's three labels (top, middle, 0) and
// that the tallest bar's height follows the top.
func TestChartTicks(t *testing.T) {
	tests := []struct {
		name         string
		sent, failed []int // per bucket
		want         []int // the labels, top first
		tallest      int   // the tallest bar's height in user units
	}{
		{"no messages", []int{0}, []int{0}, []int{2, 1, 0}, 0},
		{"one message", []int{1}, []int{0}, []int{2, 1, 0}, 70},
		{"two", []int{1, 2}, []int{0, 0}, []int{2, 1, 0}, 140},
		{"three, odd", []int{2}, []int{1}, []int{4, 2, 0}, 105},
		{"ten", []int{3, 10}, []int{0, 0}, []int{10, 5, 0}, 140},
		{"a thousand and one", []int{1000}, []int{1}, []int{1002, 501, 0}, 140}, // 139 sent, the 1 failed at least 1
	}
	start := time.Date(2026, 5, 11, 12, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &hub.CampaignActivity{Start: start, End: start.Add(time.Minute), Step: time.Second}
			for i := range tt.sent {
				a.Buckets = append(a.Buckets, hub.ActivityBucket{Start: start.Add(time.Duration(i) * time.Second),
					Sent: tt.sent[i], Failed: tt.failed[i]})
			}
			c := newChart(a)
			if d := cmp.Diff(tt.want, []int{c.Max, c.Mid(), 0}); d != "" {
				t.Errorf("labels (-want +got):\n%s", d)
			}
			tallest := 0
			for _, b := range c.Bars {
				tallest = max(tallest, b.SentH+b.FailedH)
			}
			if tallest != tt.tallest {
				t.Errorf("tallest bar %d units high, want %d", tallest, tt.tallest)
			}
		})
	}
}
