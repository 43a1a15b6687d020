package hub

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Transitions used below (tzdata, 2026):
//
//	America/New_York  8 Mar 02:00 EST → 03:00 EDT (07:00Z); 1 Nov 02:00 EDT → 01:00 EST (06:00Z)
//	Europe/Kyiv      29 Mar 03:00 EET → 04:00 EEST (01:00Z); 25 Oct 04:00 EEST → 03:00 EET (01:00Z)
//	Pacific/Chatham   5 Apr 03:45 +1345 → 02:45 +1245; 27 Sep 02:45 +1245 → 03:45 +1345 (14:00Z the day before)
//	Pacific/Apia     skipped 30 Dec 2011 (29 Dec 24:00 -10 → 31 Dec 00:00 +14)

func calendarZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("time zone %s: %v", name, err)
	}
	return loc
}

// instant reads an RFC 3339 time; "" is the zero time.
func instant(t *testing.T, s string) time.Time {
	t.Helper()
	if s == "" {
		return time.Time{}
	}
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("instant %q: %v", s, err)
	}
	return v
}

// sameInstant compares instants, not locations, and prints both in loc.
func sameInstant(t *testing.T, loc *time.Location, what string, want, got time.Time) {
	t.Helper()
	show := func(v time.Time) string {
		if v.IsZero() {
			return "zero"
		}
		return v.In(loc).Format(time.RFC3339) + " (" + v.UTC().Format(time.RFC3339) + ")"
	}
	if diff := cmp.Diff(show(want), show(got)); diff != "" || !want.Equal(got) {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

func TestParseClock(t *testing.T) {
	type result struct {
		Minutes int
		OK      bool
	}
	tests := []struct {
		in   string
		want result
	}{
		{"00:00", result{0, true}},
		{"00:01", result{1, true}},
		{"09:05", result{545, true}},
		{"12:30", result{750, true}},
		{"23:59", result{1439, true}},
		{"24:00", result{}},
		{"23:60", result{}},
		{"99:99", result{}},
		{"9:00", result{}},
		{"09:0", result{}},
		{"0900", result{}},
		{"09-00", result{}},
		{"09.00", result{}},
		{" 09:00", result{}},
		{"09:00 ", result{}},
		{"+9:00", result{}},
		{"-1:00", result{}},
		{"0a:00", result{}},
		{"12:30:00", result{}},
		{"١٢:٣٠", result{}}, // Arabic-Indic digits
		{"", result{}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			m, ok := ParseClock(tt.in)
			if diff := cmp.Diff(tt.want, result{m, ok}); diff != "" {
				t.Errorf("ParseClock(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestQuietUntil(t *testing.T) {
	tests := []struct {
		name       string
		zone       string
		start, end string
		now        string // RFC 3339
		want       string // RFC 3339, "" for not quiet
	}{
		// Across midnight, UTC.
		{"night: evening", "UTC", "21:00", "09:00", "2026-06-10T22:00:00Z", "2026-06-11T09:00:00Z"},
		{"night: after midnight", "UTC", "21:00", "09:00", "2026-06-11T03:00:00Z", "2026-06-11T09:00:00Z"},
		{"night: midnight itself", "UTC", "21:00", "09:00", "2026-06-11T00:00:00Z", "2026-06-11T09:00:00Z"},
		{"night: midday", "UTC", "21:00", "09:00", "2026-06-10T12:00:00Z", ""},
		{"night: start is inclusive", "UTC", "21:00", "09:00", "2026-06-10T21:00:00Z", "2026-06-11T09:00:00Z"},
		{"night: a second before the start", "UTC", "21:00", "09:00", "2026-06-10T20:59:59Z", ""},
		{"night: end is exclusive", "UTC", "21:00", "09:00", "2026-06-11T09:00:00Z", ""},
		{"night: a second before the end", "UTC", "21:00", "09:00", "2026-06-11T08:59:59Z", "2026-06-11T09:00:00Z"},
		{"night: across a year end", "UTC", "21:00", "09:00", "2026-12-31T23:00:00Z", "2027-01-01T09:00:00Z"},
		{"until midnight", "UTC", "22:00", "00:00", "2026-06-10T23:30:00Z", "2026-06-11T00:00:00Z"},
		{"until midnight: midnight is out", "UTC", "22:00", "00:00", "2026-06-11T00:00:00Z", ""},
		{"from midnight", "UTC", "00:00", "06:00", "2026-06-11T00:00:00Z", "2026-06-11T06:00:00Z"},
		{"from midnight: the evening before is out", "UTC", "00:00", "06:00", "2026-06-10T23:59:59Z", ""},
		// Same-day window, UTC.
		{"day: inside", "UTC", "13:00", "15:00", "2026-06-10T14:00:00Z", "2026-06-10T15:00:00Z"},
		{"day: start is inclusive", "UTC", "13:00", "15:00", "2026-06-10T13:00:00Z", "2026-06-10T15:00:00Z"},
		{"day: before", "UTC", "13:00", "15:00", "2026-06-10T12:59:59Z", ""},
		{"day: end is exclusive", "UTC", "13:00", "15:00", "2026-06-10T15:00:00Z", ""},
		{"day: night is out", "UTC", "13:00", "15:00", "2026-06-10T02:00:00Z", ""},
		// No quiet hours.
		{"start == end", "UTC", "09:00", "09:00", "2026-06-10T09:00:00Z", ""},
		{"start == end, another time", "UTC", "09:00", "09:00", "2026-06-10T03:00:00Z", ""},
		{"start == end at midnight", "UTC", "00:00", "00:00", "2026-06-10T00:00:00Z", ""},
		{"bad start", "UTC", "9:00", "21:00", "2026-06-10T12:00:00Z", ""},
		{"bad end", "UTC", "09:00", "25:00", "2026-06-10T12:00:00Z", ""},
		// The instant now may come in any location.
		{"now given in another zone", "Europe/Kyiv", "21:00", "09:00", "2026-06-10T19:30:00Z", "2026-06-11T09:00:00+03:00"},

		// New York, spring forward (02:00–03:00 does not exist on 8 March 2026).
		{"NY spring: night before, end in the gap", "America/New_York", "21:00", "02:30", "2026-03-07T22:00:00-05:00", "2026-03-08T03:00:00-04:00"},
		{"NY spring: last minute before the gap", "America/New_York", "21:00", "02:30", "2026-03-08T01:59:00-05:00", "2026-03-08T03:00:00-04:00"},
		{"NY spring: end in the gap, first instant after it is out", "America/New_York", "21:00", "02:30", "2026-03-08T03:00:00-04:00", ""},
		{"NY spring: end at the gap's start", "America/New_York", "21:00", "02:00", "2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00"},
		{"NY spring: end at the gap's end", "America/New_York", "21:00", "03:00", "2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00"},
		{"NY spring: a night an hour shorter", "America/New_York", "21:00", "09:00", "2026-03-08T08:30:00-04:00", "2026-03-08T09:00:00-04:00"},
		{"NY spring: start in the gap begins after it", "America/New_York", "02:30", "06:00", "2026-03-08T03:00:00-04:00", "2026-03-08T06:00:00-04:00"},
		{"NY spring: start in the gap, before it is out", "America/New_York", "02:30", "06:00", "2026-03-08T01:59:59-05:00", ""},
		{"NY spring: window wholly in the gap is empty", "America/New_York", "02:00", "02:30", "2026-03-08T03:00:00-04:00", ""},
		{"NY spring: the same window the next day", "America/New_York", "02:00", "02:30", "2026-03-09T02:10:00-04:00", "2026-03-09T02:30:00-04:00"},
		// New York, fall back (01:00–02:00 happens twice on 1 November 2026).
		{"NY fall: end in the repeat, first pass", "America/New_York", "21:00", "01:30", "2026-11-01T01:15:00-04:00", "2026-11-01T01:30:00-04:00"},
		{"NY fall: end in the repeat, first pass after the end", "America/New_York", "21:00", "01:30", "2026-11-01T01:40:00-04:00", ""},
		{"NY fall: end in the repeat, second pass is out", "America/New_York", "21:00", "01:30", "2026-11-01T01:15:00-05:00", ""},
		{"NY fall: a night an hour longer", "America/New_York", "21:00", "09:00", "2026-11-01T08:00:00-05:00", "2026-11-01T09:00:00-05:00"},
		{"NY fall: a night an hour longer, in the repeat", "America/New_York", "21:00", "09:00", "2026-11-01T01:30:00-05:00", "2026-11-01T09:00:00-05:00"},
		{"NY fall: start in the repeat, second pass", "America/New_York", "01:30", "03:00", "2026-11-01T01:10:00-05:00", "2026-11-01T03:00:00-05:00"},
		{"NY fall: start in the repeat is its first occurrence", "America/New_York", "01:30", "03:00", "2026-11-01T01:30:00-04:00", "2026-11-01T03:00:00-05:00"},
		{"NY fall: start in the repeat, before it", "America/New_York", "01:30", "03:00", "2026-11-01T01:29:00-04:00", ""},

		// Kyiv (east of UTC, where time.Date would pick the second occurrence).
		{"Kyiv spring: end in the gap", "Europe/Kyiv", "22:00", "03:30", "2026-03-29T02:50:00+02:00", "2026-03-29T04:00:00+03:00"},
		{"Kyiv spring: first instant after the gap is out", "Europe/Kyiv", "22:00", "03:30", "2026-03-29T04:00:00+03:00", ""},
		{"Kyiv spring: a night an hour shorter", "Europe/Kyiv", "21:00", "09:00", "2026-03-28T21:00:00+02:00", "2026-03-29T09:00:00+03:00"},
		{"Kyiv fall: end in the repeat, first pass", "Europe/Kyiv", "22:00", "03:30", "2026-10-25T03:10:00+03:00", "2026-10-25T03:30:00+03:00"},
		{"Kyiv fall: end in the repeat, second pass is out", "Europe/Kyiv", "22:00", "03:30", "2026-10-25T03:10:00+02:00", ""},
		{"Kyiv fall: a night an hour longer", "Europe/Kyiv", "21:00", "09:00", "2026-10-25T03:40:00+02:00", "2026-10-25T09:00:00+02:00"},

		// Half- and three-quarter-hour offsets.
		{"Kolkata: night", "Asia/Kolkata", "21:00", "09:00", "2026-05-31T20:45:00Z", "2026-06-01T09:00:00+05:30"},
		{"Kolkata: start is inclusive", "Asia/Kolkata", "21:00", "09:00", "2026-05-31T15:30:00Z", "2026-06-01T09:00:00+05:30"},
		{"Kolkata: a second before the start", "Asia/Kolkata", "21:00", "09:00", "2026-05-31T15:29:59Z", ""},
		{"Kolkata: end is exclusive", "Asia/Kolkata", "21:00", "09:00", "2026-06-01T03:30:00Z", ""},
		{"Chatham: night", "Pacific/Chatham", "21:00", "09:00", "2026-01-10T10:00:00Z", "2026-01-11T09:00:00+13:45"},
		{"Chatham: end is exclusive", "Pacific/Chatham", "21:00", "09:00", "2026-01-10T19:15:00Z", ""},
		{"Chatham: standard time", "Pacific/Chatham", "21:00", "09:00", "2026-06-10T10:00:00Z", "2026-06-11T09:00:00+12:45"},
		{"Chatham spring: end in the gap", "Pacific/Chatham", "22:00", "03:00", "2026-09-27T02:30:00+12:45", "2026-09-27T03:45:00+13:45"},
		{"Chatham spring: first instant after the gap is out", "Pacific/Chatham", "22:00", "03:00", "2026-09-27T03:45:00+13:45", ""},
		{"Chatham fall: end in the repeat, first pass", "Pacific/Chatham", "22:00", "03:00", "2026-04-05T02:50:00+13:45", "2026-04-05T03:00:00+13:45"},
		{"Chatham fall: end in the repeat, second pass is out", "Pacific/Chatham", "22:00", "03:00", "2026-04-05T02:50:00+12:45", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := calendarZone(t, tt.zone)
			got := QuietUntil(loc, tt.start, tt.end, instant(t, tt.now))
			sameInstant(t, loc, "QuietUntil("+tt.start+"–"+tt.end+", "+tt.now+")", instant(t, tt.want), got)
		})
	}
}

func TestCalendarLocalDate(t *testing.T) {
	tests := []struct {
		zone, now, want string
	}{
		{"UTC", "2026-06-10T23:59:59Z", "2026-06-10"},
		{"Europe/Kyiv", "2026-06-10T21:00:00Z", "2026-06-11"},
		{"Pacific/Kiritimati", "2026-06-10T10:00:00Z", "2026-06-11"},
		{"Pacific/Pago_Pago", "2026-06-10T10:00:00Z", "2026-06-09"},
		{"Asia/Kolkata", "2026-12-31T18:30:00Z", "2027-01-01"},
		{"Asia/Kolkata", "2026-12-31T18:29:59Z", "2026-12-31"},
	}
	for _, tt := range tests {
		t.Run(tt.zone+" "+tt.now, func(t *testing.T) {
			got := LocalDate(calendarZone(t, tt.zone), instant(t, tt.now))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("LocalDate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAt(t *testing.T) {
	tests := []struct {
		name        string
		zone        string
		date, clock string
		want        string // RFC 3339
	}{
		{"UTC", "UTC", "2026-06-10", "10:00", "2026-06-10T10:00:00Z"},
		{"midnight", "Europe/Kyiv", "2026-06-10", "00:00", "2026-06-10T00:00:00+03:00"},
		{"last minute", "Europe/Kyiv", "2026-06-10", "23:59", "2026-06-10T23:59:00+03:00"},
		{"Kolkata", "Asia/Kolkata", "2026-01-15", "10:00", "2026-01-15T04:30:00Z"},
		{"Chatham", "Pacific/Chatham", "2026-01-15", "10:00", "2026-01-14T20:15:00Z"},
		{"Kiritimati", "Pacific/Kiritimati", "2026-01-01", "10:00", "2025-12-31T20:00:00Z"},
		{"Pago Pago", "Pacific/Pago_Pago", "2026-01-01", "10:00", "2026-01-01T21:00:00Z"},
		{"NY gap: first instant after it", "America/New_York", "2026-03-08", "02:30", "2026-03-08T03:00:00-04:00"},
		{"NY gap: its first minute", "America/New_York", "2026-03-08", "02:00", "2026-03-08T03:00:00-04:00"},
		{"NY gap: its last minute", "America/New_York", "2026-03-08", "02:59", "2026-03-08T03:00:00-04:00"},
		{"NY gap: just before", "America/New_York", "2026-03-08", "01:59", "2026-03-08T01:59:00-05:00"},
		{"NY gap: its end", "America/New_York", "2026-03-08", "03:00", "2026-03-08T03:00:00-04:00"},
		{"NY repeat: first occurrence", "America/New_York", "2026-11-01", "01:30", "2026-11-01T01:30:00-04:00"},
		{"NY repeat: its first minute", "America/New_York", "2026-11-01", "01:00", "2026-11-01T01:00:00-04:00"},
		{"NY repeat: after it", "America/New_York", "2026-11-01", "02:00", "2026-11-01T02:00:00-05:00"},
		{"Kyiv gap", "Europe/Kyiv", "2026-03-29", "03:30", "2026-03-29T04:00:00+03:00"},
		{"Kyiv repeat: first occurrence", "Europe/Kyiv", "2026-10-25", "03:30", "2026-10-25T03:30:00+03:00"},
		{"Kyiv repeat: its first minute", "Europe/Kyiv", "2026-10-25", "03:00", "2026-10-25T03:00:00+03:00"},
		{"Kyiv repeat: after it", "Europe/Kyiv", "2026-10-25", "04:00", "2026-10-25T04:00:00+02:00"},
		{"Chatham gap", "Pacific/Chatham", "2026-09-27", "03:00", "2026-09-27T03:45:00+13:45"},
		{"Chatham repeat", "Pacific/Chatham", "2026-04-05", "03:00", "2026-04-05T03:00:00+13:45"},
		{"Apia: a skipped day", "Pacific/Apia", "2011-12-30", "10:00", "2011-12-31T00:00:00+14:00"},
		{"Apia: the day before it", "Pacific/Apia", "2011-12-29", "23:59", "2011-12-29T23:59:00-10:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := calendarZone(t, tt.zone)
			got, err := At(loc, tt.date, tt.clock)
			if err != nil {
				t.Fatalf("At(%s, %s): %v", tt.date, tt.clock, err)
			}
			sameInstant(t, loc, "At("+tt.date+", "+tt.clock+")", instant(t, tt.want), got)
			if got.Location() != loc {
				t.Errorf("At returned a time in %v, want %v", got.Location(), loc)
			}
		})
	}
}

func TestAtRefusesBadInput(t *testing.T) {
	for _, in := range [][2]string{
		{"2026-02-30", "10:00"}, {"2026-2-3", "10:00"}, {"", "10:00"}, {"2026-06-10 ", "10:00"},
		{"2026-06-10", "24:00"}, {"2026-06-10", "10:0"}, {"2026-06-10", ""},
	} {
		if got, err := At(time.UTC, in[0], in[1]); ErrorCode(err) != EValidation {
			t.Errorf("At(%q, %q) = %v, %v; want a validation error", in[0], in[1], got, err)
		}
	}
}

// TestAtMatchesBruteForceAroundCalendarTransitions checks At against its
// definition, minute by minute: the first instant whose wall clock reads the
// requested time or later (the first occurrence of a repeated time, the end
// of the gap for a skipped one), on every day next to a zone transition.
func TestAtMatchesBruteForceAroundCalendarTransitions(t *testing.T) {
	clocks := []string{"00:00", "00:30", "01:00", "01:30", "02:00", "02:30", "02:45", "03:00", "03:30", "03:45", "04:00", "12:00", "23:59"}
	for _, zone := range []string{"America/New_York", "Europe/Kyiv", "Pacific/Chatham", "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata"} {
		loc := calendarZone(t, zone)
		var days []time.Time
		for d := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == 2026; d = d.AddDate(0, 0, 1) {
			_, off1 := time.Unix(d.Unix()-86400, 0).In(loc).Zone()
			_, off2 := time.Unix(d.Unix()+2*86400, 0).In(loc).Zone()
			if off1 != off2 {
				days = append(days, d)
			}
		}
		if zone != "Asia/Kolkata" && len(days) == 0 {
			t.Fatalf("%s: no transitions found in 2026", zone)
		}
		days = append(days, time.Date(2026, 6, 10, 0, 0, 0, 0, time.UTC))
		for _, d := range days {
			date := d.Format(dateLayout)
			for _, clock := range clocks {
				m, _ := ParseClock(clock)
				w := d.Unix() + int64(m)*60
				var want time.Time
				for u := w - 16*3600; u <= w+16*3600; u += 60 {
					v := time.Unix(u, 0).In(loc)
					if civilDate(v).Unix()+int64(v.Hour()*3600+v.Minute()*60) >= w {
						want = v
						break
					}
				}
				got, err := At(loc, date, clock)
				if err != nil {
					t.Fatalf("At(%s, %s): %v", date, clock, err)
				}
				if !got.Equal(want) {
					t.Errorf("%s At(%s, %s) = %v, want %v", zone, date, clock, got, want)
				}
			}
		}
	}
}

func TestDueDates(t *testing.T) {
	tests := []struct {
		name    string
		zone    string
		clock   string
		last    string
		now     string // RFC 3339
		maxBack int
		want    []string
	}{
		{"never run, time passed", "UTC", "10:00", "", "2026-06-10T11:00:00Z", 7, []string{"2026-06-10"}},
		{"never run, exactly at the time", "UTC", "10:00", "", "2026-06-10T10:00:00Z", 7, []string{"2026-06-10"}},
		{"never run, time not yet passed", "UTC", "10:00", "", "2026-06-10T09:59:59Z", 7, nil},
		{"run today already", "UTC", "10:00", "2026-06-10", "2026-06-10T11:00:00Z", 7, nil},
		{"run yesterday, time passed", "UTC", "10:00", "2026-06-09", "2026-06-10T11:00:00Z", 7, []string{"2026-06-10"}},
		{"run yesterday, time not yet passed", "UTC", "10:00", "2026-06-09", "2026-06-10T09:00:00Z", 7, nil},
		{"missed 3 days, time not yet passed", "UTC", "10:00", "2026-06-06", "2026-06-10T09:00:00Z", 7,
			[]string{"2026-06-07", "2026-06-08", "2026-06-09"}},
		{"missed 3 days, time passed", "UTC", "10:00", "2026-06-06", "2026-06-10T10:30:00Z", 7,
			[]string{"2026-06-07", "2026-06-08", "2026-06-09", "2026-06-10"}},
		{"missed 3 days across a year end", "UTC", "10:00", "2026-12-29", "2027-01-01T10:30:00Z", 7,
			[]string{"2026-12-30", "2026-12-31", "2027-01-01"}},
		{"missed 30 days, maxBack 7", "UTC", "10:00", "2026-05-11", "2026-06-10T11:00:00Z", 7,
			[]string{"2026-06-04", "2026-06-05", "2026-06-06", "2026-06-07", "2026-06-08", "2026-06-09", "2026-06-10"}},
		{"missed 30 days, maxBack 7, time not yet passed", "UTC", "10:00", "2026-05-11", "2026-06-10T09:00:00Z", 7,
			[]string{"2026-06-03", "2026-06-04", "2026-06-05", "2026-06-06", "2026-06-07", "2026-06-08", "2026-06-09"}},
		{"missed days, maxBack 1", "UTC", "10:00", "2026-06-01", "2026-06-10T11:00:00Z", 1, []string{"2026-06-10"}},
		{"maxBack 0 counts as 1", "UTC", "10:00", "2026-06-01", "2026-06-10T11:00:00Z", 0, []string{"2026-06-10"}},
		{"last in the future", "UTC", "10:00", "2026-06-12", "2026-06-10T11:00:00Z", 7, nil},
		{"unreadable last counts as never run", "UTC", "10:00", "10.06.2026", "2026-06-10T11:00:00Z", 7, []string{"2026-06-10"}},
		{"bad clock", "UTC", "10", "2026-06-01", "2026-06-10T11:00:00Z", 7, nil},
		{"midnight clock", "UTC", "00:00", "2026-06-09", "2026-06-10T00:00:00Z", 7, []string{"2026-06-10"}},
		// Date line zones: the local date is not the UTC date.
		{"Kiritimati: tomorrow in UTC terms", "Pacific/Kiritimati", "10:00", "2026-06-09", "2026-06-09T20:30:00Z", 7, []string{"2026-06-10"}},
		{"Kiritimati: time not yet passed", "Pacific/Kiritimati", "10:00", "2026-06-08", "2026-06-09T19:30:00Z", 7, []string{"2026-06-09"}},
		{"Kiritimati: never run", "Pacific/Kiritimati", "10:00", "", "2026-06-09T19:30:00Z", 7, nil},
		{"Pago Pago: yesterday in UTC terms", "Pacific/Pago_Pago", "10:00", "2026-06-08", "2026-06-10T05:00:00Z", 7, []string{"2026-06-09"}},
		{"Pago Pago: time not yet passed", "Pacific/Pago_Pago", "19:00", "2026-06-08", "2026-06-10T05:00:00Z", 7, nil},
		{"Pago Pago: UTC date already run", "Pacific/Pago_Pago", "10:00", "2026-06-10", "2026-06-10T05:00:00Z", 7, nil},
		// DST days.
		{"NY spring: clock in the gap, before it", "America/New_York", "02:30", "2026-03-07", "2026-03-08T01:59:00-05:00", 7, nil},
		{"NY spring: clock in the gap, runs after it", "America/New_York", "02:30", "2026-03-07", "2026-03-08T03:00:00-04:00", 7, []string{"2026-03-08"}},
		{"NY spring: missed across the change", "America/New_York", "10:00", "2026-03-06", "2026-03-09T12:00:00-04:00", 7,
			[]string{"2026-03-07", "2026-03-08", "2026-03-09"}},
		{"NY fall: clock in the repeat, first pass", "America/New_York", "01:30", "2026-10-31", "2026-11-01T01:30:00-04:00", 7, []string{"2026-11-01"}},
		{"NY fall: clock in the repeat, before it", "America/New_York", "01:30", "2026-10-31", "2026-11-01T01:29:00-04:00", 7, nil},
		{"NY fall: already run on the first pass", "America/New_York", "01:30", "2026-11-01", "2026-11-01T01:30:00-05:00", 7, nil},
		{"Kyiv fall: clock in the repeat, first pass", "Europe/Kyiv", "03:30", "2026-10-24", "2026-10-25T03:30:00+03:00", 7, []string{"2026-10-25"}},
		{"Kyiv spring: clock in the gap", "Europe/Kyiv", "03:30", "2026-03-28", "2026-03-29T02:59:00+02:00", 7, nil},
		{"Kyiv spring: clock in the gap, runs after it", "Europe/Kyiv", "03:30", "2026-03-28", "2026-03-29T04:00:00+03:00", 7, []string{"2026-03-29"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DueDates(calendarZone(t, tt.zone), tt.clock, tt.last, instant(t, tt.now), tt.maxBack)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DueDates(%s, last %q, %s, %d) (-want +got):\n%s", tt.clock, tt.last, tt.now, tt.maxBack, diff)
			}
		})
	}
}

func TestBirthdayKeys(t *testing.T) {
	tests := []struct {
		name       string
		date       string
		daysBefore int
		want       []string
	}{
		{"ordinary day", "2026-06-10", 0, []string{"06-10"}},
		{"ordinary day, a week before", "2026-06-10", 7, []string{"06-17"}},
		{"28 Feb of a common year greets 29 Feb too", "2026-02-28", 0, []string{"02-28", "02-29"}},
		{"28 Feb of a leap year", "2028-02-28", 0, []string{"02-28"}},
		{"29 Feb of a leap year", "2028-02-29", 0, []string{"02-29"}},
		{"1 Mar of a common year", "2026-03-01", 0, []string{"03-01"}},
		{"1 Mar of a leap year", "2028-03-01", 0, []string{"03-01"}},
		{"2100 is not a leap year", "2100-02-28", 0, []string{"02-28", "02-29"}},
		{"2000 was a leap year", "2000-02-28", 0, []string{"02-28"}},
		{"days_before crossing a month", "2026-01-30", 3, []string{"02-02"}},
		{"days_before crossing a year end", "2026-12-30", 3, []string{"01-02"}},
		{"days_before onto 31 Dec", "2026-12-28", 3, []string{"12-31"}},
		{"days_before onto 28 Feb of a common year", "2026-02-25", 3, []string{"02-28", "02-29"}},
		{"days_before past 28 Feb of a common year", "2026-02-26", 3, []string{"03-01"}},
		{"days_before onto 28 Feb of a leap year", "2028-02-25", 3, []string{"02-28"}},
		{"days_before onto 29 Feb", "2028-02-26", 3, []string{"02-29"}},
		{"days_before crossing 29 Feb", "2028-02-27", 3, []string{"03-01"}},
		{"days_before from January onto 28 Feb of a common year", "2027-01-29", 30, []string{"02-28", "02-29"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BirthdayKeys(tt.date, tt.daysBefore)
			if err != nil {
				t.Fatalf("BirthdayKeys(%s, %d): %v", tt.date, tt.daysBefore, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("BirthdayKeys(%s, %d) (-want +got):\n%s", tt.date, tt.daysBefore, diff)
			}
		})
	}
}

func TestBirthdayYear(t *testing.T) {
	tests := []struct {
		date       string
		daysBefore int
		want       int
	}{
		{"2026-06-10", 0, 2026},
		{"2026-12-31", 0, 2026},
		{"2026-12-28", 3, 2026},
		{"2026-12-29", 3, 2027},
		{"2026-12-30", 3, 2027},
		{"2026-02-25", 3, 2026},
		{"2028-02-27", 3, 2028},
		{"2027-01-01", 0, 2027},
	}
	for _, tt := range tests {
		t.Run(tt.date, func(t *testing.T) {
			got, err := BirthdayYear(tt.date, tt.daysBefore)
			if err != nil {
				t.Fatalf("BirthdayYear(%s, %d): %v", tt.date, tt.daysBefore, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("BirthdayYear(%s, %d) (-want +got):\n%s", tt.date, tt.daysBefore, diff)
			}
		})
	}
}

func TestAddDays(t *testing.T) {
	tests := []struct {
		date string
		n    int
		want string
	}{
		{"2026-06-10", 0, "2026-06-10"},
		{"2026-06-30", 1, "2026-07-01"},
		{"2026-12-31", 1, "2027-01-01"},
		{"2026-02-28", 1, "2026-03-01"},
		{"2028-02-28", 1, "2028-02-29"},
		{"2028-03-01", -1, "2028-02-29"},
		{"2027-01-01", -1, "2026-12-31"},
		{"2026-01-01", 365, "2027-01-01"},
		{"2028-01-01", 365, "2028-12-31"},
	}
	for _, tt := range tests {
		t.Run(tt.date, func(t *testing.T) {
			got, err := AddDays(tt.date, tt.n)
			if err != nil {
				t.Fatalf("AddDays(%s, %d): %v", tt.date, tt.n, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("AddDays(%s, %d) (-want +got):\n%s", tt.date, tt.n, diff)
			}
		})
	}
}

func TestCalendarDatesRefuseBadInput(t *testing.T) {
	for _, date := range []string{"", "2026-02-29", "2026-13-01", "2026-6-10", "10.06.2026", "2026-06-10T00:00:00Z", " 2026-06-10"} {
		if _, err := AddDays(date, 1); ErrorCode(err) != EValidation {
			t.Errorf("AddDays(%q) error = %v; want a validation error", date, err)
		}
		if _, err := BirthdayKeys(date, 0); ErrorCode(err) != EValidation {
			t.Errorf("BirthdayKeys(%q) error = %v; want a validation error", date, err)
		}
		if _, err := BirthdayYear(date, 0); ErrorCode(err) != EValidation {
			t.Errorf("BirthdayYear(%q) error = %v; want a validation error", date, err)
		}
	}
}
