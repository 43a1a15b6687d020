package console

import (
	"time"

	"github.com/7loc/hub/hub"
)

// chartBuckets is how many bars the activity chart has at most.
const chartBuckets = 40

// The chart's drawing area, in SVG user units: bars fill the plot between
// the left axis labels and the right edge.
const (
	chartWidth  = 640
	chartHeight = 180
	chartLeft   = 44
	chartTop    = 10
	chartBottom = 150
)

// chart is a campaign's activity drawn as stacked bars (sent below, failed
// above) in an inline SVG, computed here so that the page needs no script.
type chart struct {
	Width, Height      int
	Left, Top, Bottom  int
	Right              int
	Max                int // the top of the count axis (axisMax)
	Start, End         time.Time
	Step               time.Duration
	Bars               []bar
	TotalSent, TotalKO int
}

// bar is one bucket of the chart with its geometry.
type bar struct {
	hub.ActivityBucket
	X, W               int
	SentY, SentH       int
	FailedY, FailedH   int
	HasSent, HasFailed bool
}

// MidY is the height of the axis's middle label.
func (c *chart) MidY() int { return (c.Top + c.Bottom) / 2 }

// Mid is the count at MidY.
func (c *chart) Mid() int { return c.Max / 2 }

// axisMax is the top of the count axis for the largest bar: at least 2 and
// even, so that the middle label, half of it, is a whole count (a top of
// 1 would read 1, 0, 0).
func axisMax(largest int) int {
	return max(2, largest+largest%2)
}

// LabelY is the baseline of the time labels under the plot.
func (c *chart) LabelY() int { return c.Bottom + 18 }

// newChart lays out the bars of an activity.
func newChart(a *hub.CampaignActivity) *chart {
	c := &chart{Width: chartWidth, Height: chartHeight, Left: chartLeft, Top: chartTop, Bottom: chartBottom,
		Right: chartWidth - 4, Max: axisMax(a.Max()), Start: a.Start, End: a.End, Step: a.Step}
	n := len(a.Buckets)
	if n == 0 {
		return c
	}
	plot := c.Bottom - c.Top
	slot := float64(c.Right-c.Left) / float64(n)
	w := max(int(slot*0.8), 1)
	for i, b := range a.Buckets {
		x := c.Left + int(float64(i)*slot+slot*0.1)
		sentH := b.Sent * plot / c.Max
		failedH := b.Failed * plot / c.Max
		if b.Sent > 0 {
			sentH = max(sentH, 1)
		}
		if b.Failed > 0 {
			failedH = max(failedH, 1)
		}
		c.Bars = append(c.Bars, bar{ActivityBucket: b, X: x, W: w,
			SentY: c.Bottom - sentH, SentH: sentH, FailedY: c.Bottom - sentH - failedH, FailedH: failedH,
			HasSent: b.Sent > 0, HasFailed: b.Failed > 0})
		c.TotalSent += b.Sent
		c.TotalKO += b.Failed
	}
	return c
}

// AxisX is where the count labels end, left of the plot.
func (c *chart) AxisX() int { return c.Left - 6 }

// MaxY is the baseline of the top count label.
func (c *chart) MaxY() int { return c.Top + 4 }

// MidLabelY is the baseline of the middle count label.
func (c *chart) MidLabelY() int { return c.MidY() + 4 }

// BottomLabelY is the baseline of the zero label.
func (c *chart) BottomLabelY() int { return c.Bottom + 4 }
