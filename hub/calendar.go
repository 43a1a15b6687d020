package hub

import "time"

// The calendar rules of messaging: quiet hours, the local time at which a
// daily sweep (birthdays, inactivity, expiring vouchers) runs, the dates a
// sweep still owes after it was missed, and which birthdays a sweep greets.
// Dates are "YYYY-MM-DD" and clock times "HH:MM", both in the business's
// time zone; everything here is a pure function of its arguments.
//
// Wall-clock times are turned into instants by one rule (wallInstant): a wall
// time that does not exist on a day (skipped when clocks spring forward) is
// the first instant after the gap, a wall time that exists twice (clocks fall
// back) is its first occurrence. time.Date leaves both cases unspecified (and
// in fact picks the second occurrence east of UTC and the first west of it).

const dateLayout = "2006-01-02"

// ParseClock reads "HH:MM" (00:00..23:59, two digits each) as minutes after midnight.
func ParseClock(s string) (minutes int, ok bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if h > 23 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}

// QuietUntil reports when the quiet hours [start, end) in loc that contain
// now end, or the zero time when now is outside them. start and end are
// "HH:MM"; start > end spans midnight ("21:00"–"09:00"); start == end means
// no quiet hours, and so does a start or end that is not a valid "HH:MM".
// DST: quiet hours are wall-clock times; on a day when the end's wall time
// does not exist (spring forward) they end at the first instant after the
// gap; when it exists twice (fall back) at its first occurrence. The start
// follows the same rule, so a window whose start and end both fall in the
// same gap is empty that day.
func QuietUntil(loc *time.Location, start, end string, now time.Time) time.Time {
	s, ok1 := ParseClock(start)
	e, ok2 := ParseClock(end)
	if !ok1 || !ok2 || s == e {
		return time.Time{}
	}
	today := civilDate(now.In(loc))
	// The window that contains now began today or, spanning midnight, yesterday.
	for _, startDay := range []time.Time{today.AddDate(0, 0, -1), today} {
		endDay := startDay
		if s > e {
			endDay = startDay.AddDate(0, 0, 1)
		}
		from := wallInstant(loc, startDay, s)
		until := wallInstant(loc, endDay, e)
		if !now.Before(from) && now.Before(until) {
			return until
		}
	}
	return time.Time{}
}

// LocalDate is the calendar date of t in loc as "YYYY-MM-DD".
func LocalDate(loc *time.Location, t time.Time) string {
	return t.In(loc).Format(dateLayout)
}

// At returns the instant at which the wall clock in loc shows clock ("HH:MM")
// on date ("YYYY-MM-DD"), with the same DST rules as QuietUntil: a wall time
// skipped by a spring-forward gap is the first instant after the gap, one
// repeated by a fall-back is its first occurrence. The result is in loc.
func At(loc *time.Location, date, clock string) (time.Time, error) {
	d, err := parseDate(date)
	if err != nil {
		return time.Time{}, err
	}
	m, ok := ParseClock(clock)
	if !ok {
		return time.Time{}, Errorf(EValidation, "clock %q is not HH:MM", clock)
	}
	return wallInstant(loc, d, m), nil
}

// DueDates lists the local dates, oldest first, whose clock time has passed
// at now and that come after last (a "YYYY-MM-DD" date; "" means never run:
// then only today, if its time has passed). At most maxBack dates: a sweep
// missed for days runs for the last maxBack of them (late, not never), older
// ones are dropped. A maxBack below 1 counts as 1, an unreadable last as
// never run, and an invalid clock gives no dates. The clock time has passed
// when now is at or after At(loc, date, clock).
func DueDates(loc *time.Location, clock, last string, now time.Time, maxBack int) []string {
	m, ok := ParseClock(clock)
	if !ok {
		return nil
	}
	if maxBack < 1 {
		maxBack = 1
	}
	today := civilDate(now.In(loc))
	newest := today
	if now.Before(wallInstant(loc, today, m)) {
		newest = today.AddDate(0, 0, -1)
	}
	oldest := newest.AddDate(0, 0, -(maxBack - 1))
	if l, err := parseDate(last); err == nil {
		if next := l.AddDate(0, 0, 1); next.After(oldest) {
			oldest = next
		}
	} else if oldest.Before(today) {
		oldest = today // never run: today only
	}
	var out []string
	for d := oldest; !d.After(newest); d = d.AddDate(0, 0, 1) {
		if !now.Before(wallInstant(loc, d, m)) {
			out = append(out, d.Format(dateLayout))
		}
	}
	return out
}

// BirthdayKeys returns the birthdays' "MM-DD" that are celebrated on the
// target date date+daysBefore days (so a sweep on date greets customers whose
// birthday comes daysBefore days later). 29 February is celebrated on 28
// February in years that are not leap years, so the target 28 February of a
// common year returns both "02-28" and "02-29".
func BirthdayKeys(date string, daysBefore int) ([]string, error) {
	d, err := parseDate(date)
	if err != nil {
		return nil, err
	}
	target := d.AddDate(0, 0, daysBefore)
	keys := []string{target.Format("01-02")}
	if target.Month() == time.February && target.Day() == 28 && !isLeap(target.Year()) {
		keys = append(keys, "02-29")
	}
	return keys, nil
}

// AddDays adds n days to a "YYYY-MM-DD" date.
func AddDays(date string, n int) (string, error) {
	d, err := parseDate(date)
	if err != nil {
		return "", err
	}
	return d.AddDate(0, 0, n).Format(dateLayout), nil
}

// BirthdayYear is the year whose birthday a greeting on date (with
// daysBefore) celebrates, for the once-per-year key (a greeting on 30
// December with days_before 3 celebrates next year's birthday): the year of
// date+daysBefore days.
func BirthdayYear(date string, daysBefore int) (int, error) {
	d, err := parseDate(date)
	if err != nil {
		return 0, err
	}
	return d.AddDate(0, 0, daysBefore).Year(), nil
}

// parseDate reads a "YYYY-MM-DD" date as midnight UTC.
func parseDate(s string) (time.Time, error) {
	d, err := time.Parse(dateLayout, s)
	if err != nil {
		return time.Time{}, Errorf(EValidation, "date %q is not a YYYY-MM-DD date", s)
	}
	return d, nil
}

// civilDate is t's calendar date (in t's location) as midnight UTC.
func civilDate(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// wallInstant is the first instant at which the wall clock in loc reads
// minutes after midnight of day (a civil date as midnight UTC): the one
// instant for an ordinary wall time, the first occurrence of a repeated one,
// and the end of the gap (the transition) for a skipped one. The result is in loc.
//
// It walks the zone periods (ZoneBounds) that can hold the wall time, in
// time order: offsets lie within -24h..+26h, so the instant lies within a
// day and a bit of the wall time read as UTC.
func wallInstant(loc *time.Location, day time.Time, minutes int) time.Time {
	w := day.Unix() + int64(minutes)*60 // the wall time read as if it were UTC
	const margin = 27 * 3600
	t := time.Unix(w-margin, 0).In(loc)
	for {
		_, off := t.Zone()
		start, end := t.ZoneBounds()
		c := w - int64(off)
		if (start.IsZero() || c >= start.Unix()) && (end.IsZero() || c < end.Unix()) {
			return time.Unix(c, 0).In(loc)
		}
		if end.IsZero() || end.Unix() > w+margin {
			break
		}
		next := end.In(loc)
		_, nextOff := next.Zone()
		// Just before the transition the wall clock reads end+off, from it on
		// end+nextOff: a wall time in between is skipped.
		if e := end.Unix(); e+int64(off) <= w && w < e+int64(nextOff) {
			return next
		}
		t = next
	}
	// Unreachable for real zones; fall back on time.Date's choice.
	return time.Date(day.Year(), day.Month(), day.Day(), 0, minutes, 0, 0, loc)
}
