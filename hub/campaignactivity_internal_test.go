package hub

import (
	"testing"
	"time"
)

func TestActivityStep(t *testing.T) {
	tests := []struct {
		span time.Duration
		n    int
		want time.Duration
	}{
		{time.Second, 60, time.Second},
		{60 * time.Second, 60, time.Second},
		{61 * time.Second, 60, 2 * time.Second},
		{5 * time.Minute, 60, 5 * time.Second},
		{90 * time.Minute, 60, 2 * time.Minute},
		{31 * time.Hour, 60, time.Hour},
		{60 * 24 * time.Hour, 60, 24 * time.Hour},
		{61 * 24 * time.Hour, 60, 48 * time.Hour},
	}
	for _, tt := range tests {
		if got := activityStep(tt.span, tt.n); got != tt.want {
			t.Errorf("activityStep(%v, %d) = %v, want %v", tt.span, tt.n, got, tt.want)
		}
	}
}
