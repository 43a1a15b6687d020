package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Settings are a business's time zone, language and messaging settings
// (GET and PATCH /v1/settings).
type Settings struct {
	Timezone        string            `json:"timezone"`
	DefaultLanguage string            `json:"default_language"`
	Messaging       MessagingSettings `json:"messaging"`
	Triggers        TriggerSettings   `json:"triggers"`
}

// MessagingSettings say how messages that are not transactional reach
// customers.
type MessagingSettings struct {
	// ChannelOrder is the default order in which a customer is tried:
	// "messengers" (the customer's Telegram, WhatsApp and Viber, in that
	// order), "push", "email", or one messenger by name.
	ChannelOrder []string `json:"channel_order"`
	// QuietHours, in the business's time zone; nil means none.
	QuietHours *QuietHours `json:"quiet_hours"`
	// FrequencyCap bounds the messages a customer gets; nil means none.
	FrequencyCap *FrequencyCap `json:"frequency_cap"`
}

// QuietHours is a daily window ("21:00" to "09:00" spans midnight) in which
// no message that is not transactional is sent; such messages wait for its end.
type QuietHours struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// FrequencyCap allows at most Max messages that are not transactional to a
// customer in PerDays days; a campaign recipient over it is skipped.
type FrequencyCap struct {
	Max     int `json:"max"`
	PerDays int `json:"per_days"`
}

// TriggerSettings configure the clock-driven sweeps, each at a local time of
// the business.
type TriggerSettings struct {
	Birthday        BirthdaySweep        `json:"birthday"`
	Inactivity      InactivitySweep      `json:"inactivity"`
	VoucherExpiring VoucherExpiringSweep `json:"voucher_expiring"`
}

// BirthdaySweep fires birthday_reached once per customer and year,
// DaysBefore days ahead of the birthday.
type BirthdaySweep struct {
	Enabled    bool   `json:"enabled"`
	DaysBefore int    `json:"days_before"`
	LocalTime  string `json:"local_time"`
}

// InactivitySweep fires inactivity_trigger for a card without a stamp for
// Days days, once per inactive spell.
type InactivitySweep struct {
	Enabled   bool   `json:"enabled"`
	Days      int    `json:"days"`
	LocalTime string `json:"local_time"`
}

// VoucherExpiringSweep starts voucher_expiring automations DaysBefore days
// before a voucher expires.
type VoucherExpiringSweep struct {
	DaysBefore int    `json:"days_before"`
	LocalTime  string `json:"local_time"`
}

// StoredSettings is the part of Settings kept beside the business row.
type StoredSettings struct {
	Messaging MessagingSettings `json:"messaging"`
	Triggers  TriggerSettings   `json:"triggers"`
}

// Channel order names beyond the channels themselves.
const (
	// OrderMessengers stands for the customer's messengers.
	OrderMessengers = "messengers"
)

// Messengers are the channels "messengers" stands for, in the order tried.
var Messengers = []string{ChannelTelegram, ChannelWhatsApp, ChannelViber}

// DefaultSettings are the messaging settings of a business that set none.
func DefaultSettings() StoredSettings {
	return StoredSettings{
		Messaging: MessagingSettings{ChannelOrder: []string{OrderMessengers, ChannelPush, ChannelEmail}},
		Triggers: TriggerSettings{
			Birthday:        BirthdaySweep{Enabled: true, DaysBefore: 0, LocalTime: "10:00"},
			Inactivity:      InactivitySweep{Enabled: true, Days: 30, LocalTime: "11:00"},
			VoucherExpiring: VoucherExpiringSweep{DaysBefore: 3, LocalTime: "12:00"},
		},
	}
}

// SettingsTx is the store access of business settings.
type SettingsTx interface {
	// BusinessSettings returns the stored settings of a business; nil when it
	// never set any.
	BusinessSettings(ctx context.Context, businessID string) (*StoredSettings, error)
	// UpdateBusinessSettings stores the business's time zone, default
	// language and settings.
	UpdateBusinessSettings(ctx context.Context, b *Business, s *StoredSettings) error
}

// Bounds of settings.
const (
	MaxCapMessages   = 1000
	MaxCapDays       = 365
	MaxDaysBefore    = 60
	MaxInactiveDays  = 3650
	settingsCacheTTL = 5 * time.Second
)

// ExpandOrder turns a channel order into channels, "messengers" expanded and
// repeats dropped.
func ExpandOrder(order []string) []string {
	out := make([]string, 0, len(Channels))
	for _, o := range order {
		names := []string{o}
		if o == OrderMessengers {
			names = Messengers
		}
		for _, n := range names {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// checkOrder validates a channel order under the field name.
func checkOrder(p Problems, field string, order []string) {
	if len(order) == 0 || len(order) > 6 {
		p.Add(field, "must name 1 to 6 channels")
		return
	}
	for i, o := range order {
		if o != OrderMessengers && !slices.Contains(Channels, o) {
			p.Add(fmt.Sprintf("%s[%d]", field, i), "must be one of messengers, "+strings.Join(Channels, ", "))
		} else if slices.Contains(order[:i], o) {
			p.Add(fmt.Sprintf("%s[%d]", field, i), "is named twice")
		}
	}
}

func checkClock(p Problems, field, s string) {
	if _, ok := ParseClock(s); !ok {
		p.Add(field, "must be a time of day as HH:MM")
	}
}

// validate checks settings and reports problems by JSON path.
func (st *Settings) validate(p Problems) {
	if !ValidTimezone(st.Timezone) {
		p.Add("timezone", "must be an IANA time zone such as Europe/Kyiv")
	}
	if lang, ok := NormalizeLanguage(st.DefaultLanguage); !ok {
		p.Add("default_language", "must be a language code such as en or th")
	} else {
		st.DefaultLanguage = lang
	}
	m := &st.Messaging
	checkOrder(p, "messaging.channel_order", m.ChannelOrder)
	if q := m.QuietHours; q != nil {
		checkClock(p, "messaging.quiet_hours.start", q.Start)
		checkClock(p, "messaging.quiet_hours.end", q.End)
	}
	if c := m.FrequencyCap; c != nil {
		if c.Max < 1 || c.Max > MaxCapMessages {
			p.Add("messaging.frequency_cap.max", fmt.Sprintf("must be between 1 and %d", MaxCapMessages))
		}
		if c.PerDays < 1 || c.PerDays > MaxCapDays {
			p.Add("messaging.frequency_cap.per_days", fmt.Sprintf("must be between 1 and %d", MaxCapDays))
		}
	}
	t := &st.Triggers
	if t.Birthday.DaysBefore < 0 || t.Birthday.DaysBefore > MaxDaysBefore {
		p.Add("triggers.birthday.days_before", fmt.Sprintf("must be between 0 and %d", MaxDaysBefore))
	}
	checkClock(p, "triggers.birthday.local_time", t.Birthday.LocalTime)
	if t.Inactivity.Days < 1 || t.Inactivity.Days > MaxInactiveDays {
		p.Add("triggers.inactivity.days", fmt.Sprintf("must be between 1 and %d", MaxInactiveDays))
	}
	checkClock(p, "triggers.inactivity.local_time", t.Inactivity.LocalTime)
	if t.VoucherExpiring.DaysBefore < 1 || t.VoucherExpiring.DaysBefore > MaxDaysBefore {
		p.Add("triggers.voucher_expiring.days_before", fmt.Sprintf("must be between 1 and %d", MaxDaysBefore))
	}
	checkClock(p, "triggers.voucher_expiring.local_time", t.VoucherExpiring.LocalTime)
}

// Settings returns a business's settings, defaults filled in.
func (s *Service) Settings(ctx context.Context, businessID string) (*Settings, error) {
	var out *Settings
	err := s.read(ctx, func(tx Tx) error {
		var err error
		out, err = s.settings(ctx, tx, businessID)
		return err
	})
	return out, err
}

// settings reads a business's settings inside a transaction.
func (s *Service) settings(ctx context.Context, tx Tx, businessID string) (*Settings, error) {
	b, err := tx.Business(ctx, businessID)
	if err != nil {
		return nil, err
	}
	stored, err := tx.BusinessSettings(ctx, businessID)
	if err != nil {
		return nil, err
	}
	st := DefaultSettings()
	if stored != nil {
		st = *stored
	}
	return &Settings{Timezone: b.Timezone, DefaultLanguage: b.DefaultLanguage, Messaging: st.Messaging, Triggers: st.Triggers}, nil
}

// cachedSettings is a business's settings as the send path sees them.
type cachedSettings struct {
	settings *Settings
	loc      *time.Location
	expires  time.Time
}

// sendSettings returns a business's settings and time zone for the send
// path, cached for a few seconds (a PATCH reaches every process within that).
func (s *Service) sendSettings(ctx context.Context, tx Tx, businessID string) (*Settings, *time.Location, error) {
	now := time.Now()
	if v, ok := s.settingsCache.Load(businessID); ok {
		c := v.(cachedSettings)
		if now.Before(c.expires) {
			return c.settings, c.loc, nil
		}
	}
	st, err := s.settings(ctx, tx, businessID)
	if err != nil {
		return nil, nil, err
	}
	loc, err := time.LoadLocation(st.Timezone)
	if err != nil {
		loc = time.UTC
	}
	s.settingsCache.Store(businessID, cachedSettings{settings: st, loc: loc, expires: now.Add(settingsCacheTTL)})
	return st, loc, nil
}

// UpdateSettings applies a JSON merge patch (RFC 7386) to a business's
// settings: fields left out are kept, null clears quiet hours or the
// frequency cap (and resets other fields to their defaults).
func (s *Service) UpdateSettings(ctx context.Context, businessID string, patch json.RawMessage) (*Settings, error) {
	var out *Settings
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		cur, err := s.settings(ctx, tx, businessID)
		if err != nil {
			return err
		}
		next, err := mergeSettings(cur, patch)
		if err != nil {
			return err
		}
		p := Problems{}
		next.validate(p)
		if err := p.Err(); err != nil {
			return err
		}
		b, err := tx.Business(ctx, businessID)
		if err != nil {
			return err
		}
		b.Timezone, b.DefaultLanguage = next.Timezone, next.DefaultLanguage
		if err := tx.UpdateBusinessSettings(ctx, b, &StoredSettings{Messaging: next.Messaging, Triggers: next.Triggers}); err != nil {
			return err
		}
		out = next
		return nil
	})
	if err == nil {
		s.settingsCache.Delete(businessID)
	}
	return out, err
}

// mergeSettings applies a merge patch to the current settings and decodes
// the result strictly: unknown fields and wrong types are problems.
func mergeSettings(cur *Settings, patch json.RawMessage) (*Settings, error) {
	var p any
	if err := json.Unmarshal(patch, &p); err != nil {
		return nil, Errorf(EInvalidJSON, "the body is not valid JSON")
	}
	if _, ok := p.(map[string]any); !ok {
		return nil, &Error{Code: EValidation, Message: "the body must be a JSON object",
			Fields: map[string]string{"": "must be an object"}}
	}
	base, err := json.Marshal(cur)
	if err != nil {
		return nil, err
	}
	var doc any
	if err := json.Unmarshal(base, &doc); err != nil {
		return nil, err
	}
	merged, err := json.Marshal(mergePatch(doc, p))
	if err != nil {
		return nil, err
	}
	defaults := DefaultSettings()
	next := &Settings{Messaging: defaults.Messaging, Triggers: defaults.Triggers}
	next.Messaging.ChannelOrder = nil
	if err := decodeStrict(merged, next); err != nil {
		return nil, err
	}
	if next.Messaging.ChannelOrder == nil {
		next.Messaging.ChannelOrder = defaults.Messaging.ChannelOrder
	}
	return next, nil
}

// mergePatch applies an RFC 7386 merge patch.
func mergePatch(target, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	tm, ok := target.(map[string]any)
	if !ok {
		tm = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(tm, k)
			continue
		}
		tm[k] = mergePatch(tm[k], v)
	}
	return tm
}

// decodeStrict decodes JSON into dst refusing unknown fields; a mistake is a
// validation error naming the field.
func decodeStrict(b []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &Error{Code: EValidation, Message: "a field has the wrong type",
			Fields: map[string]string{te.Field: "must be " + jsonKindName(te.Type.Kind().String())}}
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		return &Error{Code: EValidation, Message: "unknown field " + f, Fields: map[string]string{f: "is not a known field"}}
	}
	return &Error{Code: EValidation, Message: "the body does not have the expected shape", Err: err}
}

func jsonKindName(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	default:
		return "a number"
	}
}
