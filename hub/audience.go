package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Audience fields: the allow-list of what a filter leaf may test. The store
// compiles each to SQL of its own; nothing a user sends becomes SQL text.
const (
	// AudienceLanguage is the customer's language (a string; eq, ne, in).
	AudienceLanguage = "language"
	// AudienceCardTemplate is a card template id (tpl_…): the customer
	// holds a card of it (eq, ne, in).
	AudienceCardTemplate = "card_template_id"
	// AudienceStamps and AudienceStampsTotal compare the stamps of a card:
	// the leaf matches when any of the customer's cards satisfies it.
	AudienceStamps      = "stamps"
	AudienceStampsTotal = "stamps_total"
	// AudienceDaysSinceLastStamp is the number of whole days (24-hour
	// periods before AudienceQuery.Now) since the customer's activity: the
	// newest stamp on any of their cards; a customer never stamped counts
	// from the creation of their first card, and one without a card from
	// joining (created_at).
	AudienceDaysSinceLastStamp = "days_since_last_stamp"
	// AudienceDaysSinceJoined is the number of whole days (24-hour periods
	// before AudienceQuery.Now) since the customer's created_at.
	AudienceDaysSinceJoined = "days_since_joined"
	// AudienceBirthdayMonth is the month (1..12) of the stored birthday. A
	// customer without a birthday has no month: eq, lt, lte, gt, gte and
	// in never match them, ne and not do.
	AudienceBirthdayMonth = "birthday_month"
	// AudienceHasChannel (value a channel name) matches customers with a
	// reachable address on the channel, whatever their consent: what
	// AudienceMember.Reach requires besides consent.
	AudienceHasChannel = "has_channel"
	// AudienceConsent (value a channel name) matches customers who granted
	// consent on the channel.
	AudienceConsent = "consent"
	// AudienceOpenVouchers is the number of the customer's vouchers that are
	// issued and not expired at AudienceQuery.Now.
	AudienceOpenVouchers = "open_vouchers"
)

// Audience operators. ne is always the complement of eq (a customer with no
// card, no birthday or no such value matches ne); in matches when eq matches
// one of the values. For has_channel and consent, eq means "has" and
// "granted".
const (
	AudienceEq  = "eq"
	AudienceNe  = "ne"
	AudienceLt  = "lt"
	AudienceLte = "lte"
	AudienceGt  = "gt"
	AudienceGte = "gte"
	AudienceIn  = "in"
)

// Bounds of an audience filter.
const (
	// MaxAudienceDepth is how deeply nodes nest; the root is level 1.
	MaxAudienceDepth = 8
	// MaxAudienceNodes bounds the nodes of a tree (groups, nots and leaves).
	MaxAudienceNodes = 100
	// MaxAudienceValues bounds the values of an in.
	MaxAudienceValues = 100
	// AudienceBatch is the Limit an AudienceQuery without one uses.
	AudienceBatch = 1000
)

// AudienceFields lists the fields a filter leaf may test, in a stable order.
var AudienceFields = []string{
	AudienceLanguage, AudienceCardTemplate, AudienceStamps, AudienceStampsTotal, AudienceDaysSinceLastStamp,
	AudienceDaysSinceJoined, AudienceBirthdayMonth, AudienceHasChannel, AudienceConsent, AudienceOpenVouchers,
}

// audienceOps lists every operator, in the order messages name them.
var audienceOps = []string{AudienceEq, AudienceNe, AudienceLt, AudienceLte, AudienceGt, AudienceGte, AudienceIn}

// valueKind says how a field's values are checked and held.
type valueKind int

const (
	kindLanguage valueKind = iota
	kindTemplate
	kindCount   // 0..1,000,000
	kindDays    // 0..36,500
	kindMonth   // 1..12
	kindChannel // one of Channels
)

type audienceField struct {
	kind valueKind
	ops  []string
}

var (
	stringOps = []string{AudienceEq, AudienceNe, AudienceIn}

	audienceFieldSpecs = map[string]audienceField{
		AudienceLanguage:           {kindLanguage, stringOps},
		AudienceCardTemplate:       {kindTemplate, stringOps},
		AudienceStamps:             {kindCount, audienceOps},
		AudienceStampsTotal:        {kindCount, audienceOps},
		AudienceDaysSinceLastStamp: {kindDays, audienceOps},
		AudienceDaysSinceJoined:    {kindDays, audienceOps},
		AudienceBirthdayMonth:      {kindMonth, audienceOps},
		AudienceHasChannel:         {kindChannel, stringOps},
		AudienceConsent:            {kindChannel, stringOps},
		AudienceOpenVouchers:       {kindCount, audienceOps},
	}
)

// Audience is a filter tree over a business's customers: exactly one of
// {"all": [F, …]} (every filter matches; an empty {"all": []} is everyone),
// {"any": [F, …]} (at least one matches; never empty once parsed),
// {"not": F}, or a leaf {"field": …, "op": …, "value": …}. The zero Audience
// is everyone and marshals as {"all": []}.
//
// Build one with ParseAudience (or json.Unmarshal, which validates the
// same way): the store trusts a parsed tree's Value types.
type Audience struct {
	All []*Audience
	Any []*Audience
	Not *Audience
	// Field is one of AudienceFields and Op one of the Audience operators
	// the field allows.
	Field, Op string
	// Value is the decoded value: an int for the number fields
	// (stamps, stamps_total, days_since_last_stamp, days_since_joined,
	// birthday_month, open_vouchers), a string for the others; with op in,
	// a []int or []string of 1..MaxAudienceValues values.
	Value any
}

// MarshalJSON writes the filter back in the shape it was parsed from.
func (a Audience) MarshalJSON() ([]byte, error) {
	switch {
	case a.All != nil:
		return json.Marshal(struct {
			All []*Audience `json:"all"`
		}{a.All})
	case a.Any != nil:
		return json.Marshal(struct {
			Any []*Audience `json:"any"`
		}{a.Any})
	case a.Not != nil:
		return json.Marshal(struct {
			Not *Audience `json:"not"`
		}{a.Not})
	case a.Field != "":
		return json.Marshal(struct {
			Field string `json:"field"`
			Op    string `json:"op"`
			Value any    `json:"value"`
		}{a.Field, a.Op, a.Value})
	}
	return []byte(`{"all":[]}`), nil
}

// UnmarshalJSON parses and validates a filter as ParseAudience does, with
// problems under "audience"; null leaves the Audience as it is.
func (a *Audience) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	parsed, err := ParseAudience(b, "audience")
	if err != nil {
		return err
	}
	*a = *parsed
	return nil
}

// ParseAudience decodes and validates a filter. Problems are a validation
// *Error (EValidation) whose fields are JSON paths under prefix (the
// filter's own field in the request; "audience" when empty), e.g.
// "audience.all[1].op": "must be one of eq, ne, in". Text that is not JSON is
// an invalid_json *Error; empty text or null is "is required".
func ParseAudience(raw []byte, prefix string) (*Audience, error) {
	if prefix == "" {
		prefix = "audience"
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, Problems{prefix: "is required"}.Err()
	}
	if !json.Valid(raw) {
		return nil, Errorf(EInvalidJSON, "%s is not valid JSON", prefix)
	}
	ps := &audienceParser{root: prefix, p: Problems{}}
	a := ps.node(raw, prefix, 1)
	if err := ps.p.Err(); err != nil {
		return nil, err
	}
	return a, nil
}

// audienceParser walks a filter, counting nodes.
type audienceParser struct {
	root  string
	p     Problems
	nodes int
	// full is set once the tree has more than MaxAudienceNodes nodes; the
	// walk then stops.
	full bool
}

const (
	msgFilterObject = `must be a filter object: {"all": [...]}, {"any": [...]}, {"not": {...}} or {"field": ..., "op": ..., "value": ...}`
	msgOneKind      = "must be exactly one of all, any, not or a field condition (field, op, value)"
)

func (ps *audienceParser) node(raw json.RawMessage, path string, depth int) *Audience {
	if ps.full {
		return nil
	}
	ps.nodes++
	if ps.nodes > MaxAudienceNodes {
		ps.full = true
		ps.p.Add(ps.root, fmt.Sprintf("has too many filters (at most %d nodes)", MaxAudienceNodes))
		return nil
	}
	if depth > MaxAudienceDepth {
		ps.p.Add(path, fmt.Sprintf("nests too deeply (at most %d levels)", MaxAudienceDepth))
		return nil
	}
	var obj map[string]json.RawMessage
	if raw = bytes.TrimSpace(raw); len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
		ps.p.Add(path, msgFilterObject)
		return nil
	}
	var unknown []string
	kinds := 0
	leaf := false
	for k := range obj {
		switch k {
		case "all", "any", "not":
			kinds++
		case "field", "op", "value":
			leaf = true
		default:
			unknown = append(unknown, k)
		}
	}
	if leaf {
		kinds++
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		ps.p.Add(path+"."+k, "is not a filter key; use all, any, not, or field, op and value")
	}
	if kinds != 1 {
		ps.p.Add(path, msgOneKind)
		return nil
	}
	if len(unknown) > 0 {
		return nil
	}
	switch {
	case obj["all"] != nil:
		return &Audience{All: ps.list(obj["all"], path+".all", depth, false)}
	case obj["any"] != nil:
		return &Audience{Any: ps.list(obj["any"], path+".any", depth, true)}
	case obj["not"] != nil:
		return &Audience{Not: ps.node(obj["not"], path+".not", depth+1)}
	}
	return ps.leaf(obj, path)
}

// list parses the filters of an all or any; any must not be empty.
func (ps *audienceParser) list(raw json.RawMessage, path string, depth int, nonEmpty bool) []*Audience {
	var items []json.RawMessage
	if raw = bytes.TrimSpace(raw); len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
		ps.p.Add(path, "must be an array of filters")
		return nil
	}
	if nonEmpty && len(items) == 0 {
		ps.p.Add(path, "must not be empty")
		return nil
	}
	out := make([]*Audience, 0, len(items))
	for i, item := range items {
		out = append(out, ps.node(item, path+"["+strconv.Itoa(i)+"]", depth+1))
		if ps.full {
			break
		}
	}
	return out
}

func (ps *audienceParser) leaf(obj map[string]json.RawMessage, path string) *Audience {
	a := &Audience{}
	var spec audienceField
	fieldOK := false
	if raw, ok := present(obj, "field"); !ok {
		ps.p.Add(path+".field", "is required")
	} else if json.Unmarshal(raw, &a.Field) != nil || audienceFieldSpecs[a.Field].ops == nil {
		ps.p.Add(path+".field", "must be one of "+strings.Join(AudienceFields, ", "))
	} else {
		spec, fieldOK = audienceFieldSpecs[a.Field], true
	}
	allowed := audienceOps
	if fieldOK {
		allowed = spec.ops
	}
	opOK := false
	if raw, ok := present(obj, "op"); !ok {
		ps.p.Add(path+".op", "is required")
	} else if json.Unmarshal(raw, &a.Op) != nil || !slices.Contains(allowed, a.Op) {
		ps.p.Add(path+".op", "must be one of "+strings.Join(allowed, ", "))
	} else {
		opOK = true
	}
	raw, ok := present(obj, "value")
	if !ok {
		ps.p.Add(path+".value", "is required")
	}
	if !ok || !fieldOK || !opOK {
		return nil
	}
	if a.Op != AudienceIn {
		a.Value = ps.value(spec.kind, raw, path+".value")
		return a
	}
	var items []json.RawMessage
	if raw = bytes.TrimSpace(raw); raw[0] != '[' || json.Unmarshal(raw, &items) != nil ||
		len(items) == 0 || len(items) > MaxAudienceValues {
		ps.p.Add(path+".value", fmt.Sprintf("must be a non-empty array of at most %d values", MaxAudienceValues))
		return nil
	}
	if isNumber(spec.kind) {
		vs := make([]int, len(items))
		for i, item := range items {
			v, _ := ps.value(spec.kind, item, path+".value["+strconv.Itoa(i)+"]").(int)
			vs[i] = v
		}
		a.Value = vs
	} else {
		vs := make([]string, len(items))
		for i, item := range items {
			v, _ := ps.value(spec.kind, item, path+".value["+strconv.Itoa(i)+"]").(string)
			vs[i] = v
		}
		a.Value = vs
	}
	return a
}

// present returns a key's value unless it is missing or null.
func present(obj map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	raw, ok := obj[key]
	if !ok || string(bytes.TrimSpace(raw)) == "null" {
		return nil, false
	}
	return raw, true
}

func isNumber(k valueKind) bool { return k == kindCount || k == kindDays || k == kindMonth }

// value checks one scalar value of the kind and returns it decoded (an int
// or a string), or nil after recording a problem.
func (ps *audienceParser) value(k valueKind, raw json.RawMessage, path string) any {
	switch k {
	case kindCount, kindDays, kindMonth:
		lo, hi := 0, 1_000_000
		if k == kindDays {
			hi = 36_500
		} else if k == kindMonth {
			lo, hi = 1, 12
		}
		v, ok := wholeNumber(raw, lo, hi)
		if !ok {
			ps.p.Add(path, fmt.Sprintf("must be a whole number from %d to %d", lo, hi))
			return nil
		}
		return v
	}
	var s string
	ok := json.Unmarshal(raw, &s) == nil
	switch k {
	case kindLanguage:
		if ok {
			s, ok = audienceLanguage(s)
		}
		if !ok {
			ps.p.Add(path, "must be a language code such as en or uk")
			return nil
		}
	case kindTemplate:
		if !ok || !ValidID(PrefixCardTemplate, s) {
			ps.p.Add(path, "must be a card template id (tpl_…)")
			return nil
		}
	case kindChannel:
		if !ok || !slices.Contains(Channels, s) {
			ps.p.Add(path, "must be one of "+strings.Join(Channels, ", "))
			return nil
		}
	}
	return s
}

// wholeNumber decodes a JSON number that is a whole number within lo..hi
// (5 and 5.0 both are).
func wholeNumber(raw json.RawMessage, lo, hi int) (int, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		return 0, false
	}
	return int(f), true
}

// audienceLanguage accepts a language tag of 2..10 letters, digits, - or _,
// normalized as customers' languages are when NormalizeLanguage knows it.
func audienceLanguage(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || len(s) > 10 {
		return "", false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return "", false
		}
	}
	if n, ok := NormalizeLanguage(s); ok {
		return n, true
	}
	return s, true
}

// AudienceMember is one customer an audience selects, with the channels that
// can reach them.
type AudienceMember struct {
	Customer *Customer
	// Reach lists, in the order of Channels, the channels on which the
	// customer granted consent and has a reachable address (no contact on
	// the channel marked unreachable): email (an email address), push (a
	// wallet device registered for one of the customer's cards), telegram
	// and viber (a reachable contact), whatsapp (a reachable contact, or no
	// contact at all and a phone number). Never nil.
	Reach []string
}

// AudienceQuery selects members of an audience.
type AudienceQuery struct {
	BusinessID string
	// Filter selects the customers; nil is everyone.
	Filter *Audience
	// Now is the moment day counts and open vouchers are computed at.
	Now time.Time
	// AfterID keeps only customers with an id greater than it (keyset
	// pagination: the id of the previous batch's last member); empty
	// starts at the first.
	AfterID string
	// CustomerID, when set, keeps only this customer (automation conditions).
	CustomerID string
	// Limit is the batch size; zero or less means AudienceBatch.
	Limit int
	// Channels, when not nil, are the only channels AudienceReach tests:
	// the others are left out of every Reach (AudienceMembers ignores it).
	Channels []string
	// Sample, between 1 and SampleBuckets - 1, keeps only the customers
	// whose SampleBucket is below it: about Sample/SampleBuckets of them,
	// a fair sample. Zero keeps everyone.
	Sample int
}

// SampleBuckets is the number of sample buckets customers are spread over
// for estimated audience counts; each customer's is SampleBucket of its id.
// 1,024 buckets let a sample of a business of 100,000 customers be sized
// to within 100 customers.
const SampleBuckets = 1024

// SampleBucket returns the sample bucket of a customer id, in [0,
// SampleBuckets): the FNV-1a hash of the id, which says nothing about
// anything an audience filter selects on, so the customers of any set of
// buckets are a fair sample of a business's. The store keeps it with the
// customer.
func SampleBucket(customerID string) int {
	h := uint32(2166136261)
	for i := 0; i < len(customerID); i++ {
		h ^= uint32(customerID[i])
		h *= 16777619
	}
	return int(h % SampleBuckets)
}

// ReachCount is how many members of an audience share one reach.
type ReachCount struct {
	// Reach is as AudienceMember.Reach, among the query's Channels.
	Reach []string
	Count int
}

// AudienceTx is the store access of audiences.
type AudienceTx interface {
	// AudienceMembers lists the customers of the business that the filter
	// selects, by id ascending, at most Limit, with their reach, in one
	// round trip.
	AudienceMembers(ctx context.Context, q AudienceQuery) ([]AudienceMember, error)
	// AudienceReach counts the customers of the business that the filter
	// selects (after AfterID, only CustomerID when set; Limit is ignored)
	// by their reach: one ReachCount per distinct reach, with a Count of at
	// least 1, in no particular order, in one round trip. It is the
	// grouping of what AudienceMembers would list, without listing it.
	AudienceReach(ctx context.Context, q AudienceQuery) ([]ReachCount, error)
}
