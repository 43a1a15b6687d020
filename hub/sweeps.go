package hub

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Sweep kinds: the clock-driven triggers.
const (
	SweepBirthday        = "birthday"
	SweepInactivity      = "inactivity"
	SweepVoucherExpiring = "voucher-expiring"
	SweepVoucherExpiry   = "voucher-expiry"
)

// SweepKinds lists the sweeps an operator can run.
var SweepKinds = []string{SweepBirthday, SweepInactivity, SweepVoucherExpiring, SweepVoucherExpiry}

// Sweep tuning.
const (
	// SweepMaxBack is how many missed local days a sweep catches up on.
	SweepMaxBack = 7
	// sweepBatch is how many subjects one sweep transaction handles.
	sweepBatch = 500
)

// SweepTx is the store access of the sweeps.
type SweepTx interface {
	// SweepLastDate returns the last local date a business's sweep ran for
	// ("" when never).
	SweepLastDate(ctx context.Context, businessID, kind string) (string, error)
	// SetSweepLastDate moves the date forward (never back).
	SetSweepLastDate(ctx context.Context, businessID, kind, date string, at time.Time) error
	// RecordFire records that a sweep fired for a subject in a period and
	// reports whether it is new: a repeat is false.
	RecordFire(ctx context.Context, kind, subjectID, period, businessID string, at time.Time) (bool, error)
	// BirthdayCustomers lists a business's customers whose birthday's
	// "MM-DD" is one of monthDays, by id after afterID.
	BirthdayCustomers(ctx context.Context, businessID string, monthDays []string, afterID string, limit int) ([]*Customer, error)
	// InactiveCards lists a business's cards whose last stamp (or, never
	// stamped, creation) is after from and at or before to, by id after afterID.
	InactiveCards(ctx context.Context, businessID string, from, to time.Time, afterID string, limit int) ([]*Card, error)
	// ExpiringVouchers lists a business's issued vouchers expiring at or
	// after from and before to, by id after afterID.
	ExpiringVouchers(ctx context.Context, businessID string, from, to time.Time, afterID string, limit int) ([]*Voucher, error)
	// BusinessIDs lists business ids after afterID.
	BusinessIDs(ctx context.Context, afterID string, limit int) ([]string, error)
}

// SweepDue runs, for every business, each sweep whose local time has
// passed on a day it has not run for yet (up to SweepMaxBack missed days,
// so a sweep missed while no worker ran runs late, not never). Any number
// of schedulers may call it at once: every firing is recorded under a
// unique key, so each fires once. It returns how many fired.
func (s *Service) SweepDue(ctx context.Context) (int, error) {
	total := 0
	after := ""
	for {
		var ids []string
		if err := s.read(ctx, func(tx Tx) error {
			var err error
			ids, err = tx.BusinessIDs(ctx, after, 100)
			return err
		}); err != nil {
			return total, err
		}
		for _, id := range ids {
			n, err := s.sweepBusiness(ctx, id)
			total += n
			if err != nil {
				return total, err
			}
		}
		if len(ids) < 100 {
			return total, nil
		}
		after = ids[len(ids)-1]
	}
}

// sweepBusiness runs a business's due sweeps.
func (s *Service) sweepBusiness(ctx context.Context, businessID string) (int, error) {
	var st *Settings
	last := map[string]string{}
	if err := s.read(ctx, func(tx Tx) error {
		var err error
		if st, err = s.settings(ctx, tx, businessID); err != nil {
			return err
		}
		for _, kind := range []string{SweepBirthday, SweepInactivity, SweepVoucherExpiring} {
			if last[kind], err = tx.SweepLastDate(ctx, businessID, kind); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return 0, err
	}
	loc, err := time.LoadLocation(st.Timezone)
	if err != nil {
		loc = time.UTC
	}
	now := s.clock()
	t := st.Triggers
	clocks := map[string]string{SweepBirthday: t.Birthday.LocalTime, SweepInactivity: t.Inactivity.LocalTime,
		SweepVoucherExpiring: t.VoucherExpiring.LocalTime}
	total := 0
	for _, kind := range []string{SweepBirthday, SweepInactivity, SweepVoucherExpiring} {
		for _, date := range DueDates(loc, clocks[kind], last[kind], now, SweepMaxBack) {
			n, err := s.sweep(ctx, businessID, kind, date, st, loc)
			total += n
			if err != nil {
				return total, err
			}
			if err := s.store.Write(ctx, func(tx Tx) error {
				return tx.SetSweepLastDate(ctx, businessID, kind, date, now)
			}); err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// SweepRunInput asks an operator's sweep run: one business or all, as of a
// time (default now).
type SweepRunInput struct {
	BusinessID *string    `json:"business_id"`
	AsOf       *time.Time `json:"as_of"`
}

// SweepResult is what a sweep run fired.
type SweepResult struct {
	Fired int `json:"fired"`
}

// RunSweep runs one sweep now, for the local date of as_of (default now)
// in each business's time zone, whatever the configured local time. It is
// idempotent with the scheduled runs: what fired once does not fire again.
// voucher-expiry expires the vouchers due now (as_of does not apply).
func (s *Service) RunSweep(ctx context.Context, kind string, in SweepRunInput) (*SweepResult, error) {
	p := Problems{}
	if !slices.Contains(SweepKinds, kind) {
		return nil, NotFound("sweep")
	}
	if in.BusinessID != nil && !ValidID(PrefixBusiness, *in.BusinessID) {
		p.Add("business_id", "must be a business id")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	if kind == SweepVoucherExpiry {
		n, err := s.ExpireDueVouchers(ctx, 200)
		return &SweepResult{Fired: n}, err
	}
	at := s.clock()
	if in.AsOf != nil {
		at = in.AsOf.UTC()
	}
	var ids []string
	if in.BusinessID != nil {
		ids = []string{*in.BusinessID}
	} else if err := s.read(ctx, func(tx Tx) error {
		after := ""
		for {
			page, err := tx.BusinessIDs(ctx, after, 1000)
			if err != nil {
				return err
			}
			ids = append(ids, page...)
			if len(page) < 1000 {
				return nil
			}
			after = page[len(page)-1]
		}
	}); err != nil {
		return nil, err
	}
	res := &SweepResult{}
	for _, id := range ids {
		var st *Settings
		if err := s.read(ctx, func(tx Tx) error {
			var err error
			st, err = s.settings(ctx, tx, id)
			return err
		}); err != nil {
			return nil, err
		}
		loc, err := time.LoadLocation(st.Timezone)
		if err != nil {
			loc = time.UTC
		}
		n, err := s.sweep(ctx, id, kind, LocalDate(loc, at), st, loc)
		res.Fired += n
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// sweep runs one sweep of a business for one local date, in batches.
func (s *Service) sweep(ctx context.Context, businessID, kind, date string, st *Settings, loc *time.Location) (int, error) {
	switch kind {
	case SweepBirthday:
		if !st.Triggers.Birthday.Enabled {
			return 0, nil
		}
		return s.sweepBirthdays(ctx, businessID, date, st.Triggers.Birthday.DaysBefore)
	case SweepInactivity:
		if !st.Triggers.Inactivity.Enabled {
			return 0, nil
		}
		at, err := At(loc, date, st.Triggers.Inactivity.LocalTime)
		if err != nil {
			return 0, err
		}
		return s.sweepInactive(ctx, businessID, at, st.Triggers.Inactivity.Days)
	case SweepVoucherExpiring:
		day, err := AddDays(date, st.Triggers.VoucherExpiring.DaysBefore)
		if err != nil {
			return 0, err
		}
		next, err := AddDays(day, 1)
		if err != nil {
			return 0, err
		}
		from, err := At(loc, day, "00:00")
		if err != nil {
			return 0, err
		}
		to, err := At(loc, next, "00:00")
		if err != nil {
			return 0, err
		}
		return s.sweepExpiring(ctx, businessID, from.UTC(), to.UTC())
	}
	return 0, fmt.Errorf("hub: unknown sweep %q", kind)
}

// sweepBatches finds a sweep's subjects a batch at a time in read
// transactions (a scan of every customer or card of a business must not
// hold SQLite's one writer, which every business's writes wait for) and
// fires each batch in one write transaction. find returns the batch after
// the subject id after and the batch's last id; fire records what is new,
// re-checking what may have changed since find, and returns how many fired.
// committed, when not nil, runs after each batch's write has committed. It
// ends after a batch shorter than sweepBatch.
func sweepBatches[T any](ctx context.Context, s *Service, find func(tx Tx, after string) ([]T, string, error),
	fire func(tx Tx, out *outbox, batch []T) (int, error), committed func()) (int, error) {
	total, after := 0, ""
	for {
		var batch []T
		var last string
		if err := s.read(ctx, func(tx Tx) error {
			var err error
			batch, last, err = find(tx, after)
			return err
		}); err != nil {
			return total, err
		}
		if len(batch) > 0 {
			var fired int
			if err := s.write(ctx, func(tx Tx, out *outbox) error {
				var err error
				fired, err = fire(tx, out, batch)
				return err
			}); err != nil {
				return total, err
			}
			total += fired
			if committed != nil {
				committed()
			}
		}
		if len(batch) < sweepBatch {
			return total, nil
		}
		after = last
	}
}

// sweepBirthdays fires birthday_reached for the customers whose birthday
// is daysBefore days after date, once per customer and birthday year.
func (s *Service) sweepBirthdays(ctx context.Context, businessID, date string, daysBefore int) (int, error) {
	keys, err := BirthdayKeys(date, daysBefore)
	if err != nil {
		return 0, err
	}
	year, err := BirthdayYear(date, daysBefore)
	if err != nil {
		return 0, err
	}
	period := fmt.Sprint(year)
	return sweepBatches(ctx, s, func(tx Tx, after string) ([]*Customer, string, error) {
		cs, err := tx.BirthdayCustomers(ctx, businessID, keys, after, sweepBatch)
		if err != nil || len(cs) == 0 {
			return nil, "", err
		}
		return cs, cs[len(cs)-1].ID, nil
	}, func(tx Tx, out *outbox, cs []*Customer) (int, error) {
		now, fired := s.clock(), 0
		for _, c := range cs {
			isNew, err := tx.RecordFire(ctx, SweepBirthday, c.ID, period, businessID, now)
			if err != nil {
				return 0, err
			}
			if !isNew {
				continue
			}
			e := s.newEvent(BirthdayReached, businessID, nil, now)
			e.Customer = eventCustomer(c)
			e.Data = map[string]any{"birthday": deref(c.Birthday), "days_before": daysBefore}
			out.add(e)
			fired++
		}
		return fired, nil
	}, nil)
}

// inactivityWindow is how far before the cut-off a card's last stamp may
// lie and still start an inactive spell: enough for the missed days a
// sweep catches up on, so a new deployment does not fire for every card
// that went quiet years ago.
const inactivityWindow = (SweepMaxBack + 1) * 24 * time.Hour

// sweepInactive fires inactivity_trigger for cards without a stamp for
// days days at the sweep's time, once per inactive spell (the spell is
// keyed by the last stamp, so a new stamp starts a new one).
func (s *Service) sweepInactive(ctx context.Context, businessID string, at time.Time, days int) (int, error) {
	to := at.Add(-time.Duration(days) * 24 * time.Hour)
	from := to.Add(-inactivityWindow)
	return sweepBatches(ctx, s, func(tx Tx, after string) ([]*Card, string, error) {
		cards, err := tx.InactiveCards(ctx, businessID, from, to, after, sweepBatch)
		if err != nil || len(cards) == 0 {
			return nil, "", err
		}
		return cards, cards[len(cards)-1].ID, nil
	}, func(tx Tx, out *outbox, cards []*Card) (int, error) {
		now, fired := s.clock(), 0
		for _, found := range cards {
			// A stamp since the scan starts a new spell: nothing to fire.
			c, err := tx.Card(ctx, businessID, found.ID, false)
			if ErrorCode(err) == ENotFound {
				continue
			}
			if err != nil {
				return 0, err
			}
			since := c.CreatedAt
			if c.LastStampAt != nil {
				since = *c.LastStampAt
			}
			if since.After(to) {
				continue
			}
			isNew, err := tx.RecordFire(ctx, SweepInactivity, c.ID, since.UTC().Format(time.RFC3339Nano), businessID, now)
			if err != nil {
				return 0, err
			}
			if !isNew {
				continue
			}
			e := s.cardEvent(InactivityTrigger, c, nil, now)
			e.Data = map[string]any{"days": days, "inactive_since": since.UTC().Format(time.RFC3339)}
			out.add(e)
			fired++
		}
		return fired, nil
	}, nil)
}

// sweepExpiring starts the voucher_expiring automations for vouchers
// expiring in [from, to), once per voucher.
func (s *Service) sweepExpiring(ctx context.Context, businessID string, from, to time.Time) (int, error) {
	var autos []*Automation
	var runs []AutomationKey
	total, err := sweepBatches(ctx, s, func(tx Tx, after string) ([]*Voucher, string, error) {
		var err error
		if autos, err = tx.EnabledAutomations(ctx, businessID); err != nil {
			return nil, "", err
		}
		autos = slices.DeleteFunc(autos, func(a *Automation) bool { return a.Trigger.Event != TriggerVoucherExpiring })
		if len(autos) == 0 {
			return nil, "", nil
		}
		vs, err := tx.ExpiringVouchers(ctx, businessID, from, to, after, sweepBatch)
		if err != nil || len(vs) == 0 {
			return nil, "", err
		}
		return vs, vs[len(vs)-1].ID, nil
	}, func(tx Tx, _ *outbox, vs []*Voucher) (int, error) {
		runs = nil
		now := s.clock()
		var fresh []*AutomationRun
		for _, found := range vs {
			// Redeemed (or expired) since the scan: no reminder.
			v, err := tx.Voucher(ctx, businessID, found.ID, false)
			if ErrorCode(err) == ENotFound {
				continue
			}
			if err != nil {
				return 0, err
			}
			if v.Status != found.Status {
				continue
			}
			isNew, err := tx.RecordFire(ctx, SweepVoucherExpiring, v.ID, "1", businessID, now)
			if err != nil {
				return 0, err
			}
			if !isNew {
				continue
			}
			for _, a := range autos {
				fresh = append(fresh, newRun(a, TriggerVoucherExpiring+":"+v.ID, v.CustomerID, now))
			}
		}
		var err error
		runs, err = s.recordRuns(ctx, tx, fresh)
		return len(runs), err
	}, func() { s.scheduleAutomations(ctx, runs) })
	return total, err
}
