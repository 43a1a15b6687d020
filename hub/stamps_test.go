package hub

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestApplyStamps(t *testing.T) {
	goals := []Goal{{Stamps: 3}, {Stamps: 5}, {Stamps: 8}}
	tests := []struct {
		name        string
		start       Card
		add         int
		wantCrossed []int
		want        Card // Stamps, StampsTotal, GoalIndex, Cycle
	}{
		{"one stamp, no goal", Card{Cycle: 1}, 1, nil, Card{Stamps: 1, StampsTotal: 1, Cycle: 1}},
		{"exactly the first goal", Card{Cycle: 1, Stamps: 2, StampsTotal: 2}, 1, []int{0}, Card{Stamps: 3, StampsTotal: 3, GoalIndex: 1, Cycle: 1}},
		{"two goals in one call", Card{Cycle: 1}, 5, []int{0, 1}, Card{Stamps: 5, StampsTotal: 5, GoalIndex: 2, Cycle: 1}},
		{"last goal starts a new cycle", Card{Cycle: 1, Stamps: 7, StampsTotal: 7, GoalIndex: 2}, 1, []int{2}, Card{Stamps: 0, StampsTotal: 8, GoalIndex: 0, Cycle: 2}},
		{"stamps past the last goal carry over", Card{Cycle: 1, Stamps: 7, StampsTotal: 7, GoalIndex: 2}, 4, []int{2, 0}, Card{Stamps: 3, StampsTotal: 11, GoalIndex: 1, Cycle: 2}},
		{"every goal twice", Card{Cycle: 1}, 16, []int{0, 1, 2, 0, 1, 2}, Card{Stamps: 0, StampsTotal: 16, GoalIndex: 0, Cycle: 3}},
		{"hundred stamps: twelve cycles of 8 and 4 more", Card{Cycle: 1}, 100, append(repeat([]int{0, 1, 2}, 12), 0), Card{Stamps: 4, StampsTotal: 100, GoalIndex: 1, Cycle: 13}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.start
			crossed := ApplyStamps(&c, goals, tt.add)
			var got []int
			for _, cr := range crossed {
				got = append(got, cr.GoalIndex)
			}
			if diff := cmp.Diff(tt.wantCrossed, got); diff != "" {
				t.Errorf("goals crossed (-want +got):\n%s", diff)
			}
			gotState := Card{Stamps: c.Stamps, StampsTotal: c.StampsTotal, GoalIndex: c.GoalIndex, Cycle: c.Cycle}
			if diff := cmp.Diff(tt.want, gotState); diff != "" {
				t.Errorf("card (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyStampsSnapshotsTheCardAtEachGoal(t *testing.T) {
	c := Card{ID: "card_x", Cycle: 1}
	crossed := ApplyStamps(&c, []Goal{{Stamps: 2}, {Stamps: 4}}, 4)
	want := []Crossing{
		{GoalIndex: 0, Card: EventCard{ID: "card_x", Stamps: 2, StampsTotal: 2, GoalIndex: 1, Cycle: 1}},
		{GoalIndex: 1, Card: EventCard{ID: "card_x", Stamps: 4, StampsTotal: 4, GoalIndex: 2, Cycle: 1}},
	}
	if diff := cmp.Diff(want, crossed); diff != "" {
		t.Errorf("crossings (-want +got):\n%s", diff)
	}
}

func TestDrawFollowsTheWeights(t *testing.T) {
	l := &Lottery{Prizes: []Prize{{Title: "a", Weight: 1}, {Title: "b", Weight: 2}}, LoseWeight: 3}
	got := map[string]int{}
	for r := 0; r < 6; r++ {
		p := Draw(l, func(n int) int {
			if n != 6 {
				t.Fatalf("Draw asked for [0,%d), want [0,6)", n)
			}
			return r
		})
		name := "lose"
		if p != nil {
			name = p.Title
		}
		got[name]++
	}
	if diff := cmp.Diff(map[string]int{"a": 1, "b": 2, "lose": 3}, got); diff != "" {
		t.Errorf("outcomes over every draw (-want +got):\n%s", diff)
	}
	if p := Draw(&Lottery{}, func(int) int { return 0 }); p != nil {
		t.Errorf("empty lottery drew %v", p)
	}
}

func repeat(s []int, n int) []int {
	var out []int
	for i := 0; i < n; i++ {
		out = append(out, s...)
	}
	return out
}
