package syrve

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
)

// SaleFromOrder maps a closed Syrve order to the hub's sale intake. ok is
// false, with a zero SaleInput, when o is nil, not Closed, or belongs to
// another organization than orgID. The mapping:
//
//   - Source "syrve", OrderID the Syrve order id, LocationID nil (the hub maps
//     organizations to its locations itself), Currency as given.
//   - Total: the order's sum as an exact decimal string (see Decimal).
//   - Items: one per undeleted line, SKU the product id, Name the product
//     name, Quantity the amount and Price the unit price, both exact; Price
//     is "0.00" for a line without one (a Service line has only a cost).
//     Lines without a product id or with an unreadable amount are left out.
//   - ClosedAt: whenClosed read in o.Zone (nil: UTC), in RFC 3339 UTC; nil
//     when absent or unreadable.
//   - Customer.Phone: the order's phone in E.164 (see E164), nil when there
//     is none or it cannot be made E.164.
func SaleFromOrder(orgID string, o *Order, currency string) (hub.SaleInput, bool) {
	if !o.Closed() || (orgID != "" && o.OrganizationID != "" && o.OrganizationID != orgID) {
		return hub.SaleInput{}, false
	}
	total, ok := Decimal(o.Sum)
	if !ok {
		return hub.SaleInput{}, false
	}
	in := hub.SaleInput{Source: hub.SourceSyrve, OrderID: o.ID, Total: total, Currency: currency,
		Items: []hub.SaleItem{}}
	for _, it := range o.Items {
		qty, ok := exact(it.Amount)
		if !ok || it.ProductID == "" {
			continue
		}
		price, ok := Decimal(it.Price)
		if !ok {
			price = "0.00"
		}
		si := hub.SaleItem{SKU: it.ProductID, Quantity: hub.Quantity(qty), Price: price}
		if it.ProductName != "" {
			name := it.ProductName
			si.Name = &name
		}
		in.Items = append(in.Items, si)
	}
	if at, ok := o.ClosedAt(); ok {
		s := at.UTC().Format(time.RFC3339)
		in.ClosedAt = &s
	}
	if p, ok := E164(o.Phone); ok {
		in.Customer.Phone = &p
	}
	return in, true
}

// Decimal returns a JSON number as a plain decimal string with at least two
// fraction digits and no rounding: 350.5 → "350.50", 350 → "350.00",
// 0.3 → "0.30", 1.005 → "1.005", 3.505e2 → "350.50", -0 → "0.00". The
// digits are moved as text; no float arithmetic is involved. ok is false for
// anything that is not a JSON number.
func Decimal(n json.Number) (string, bool) {
	s, ok := exact(n)
	if !ok {
		return "", false
	}
	i := strings.IndexByte(s, '.')
	if i < 0 {
		return s + ".00", true
	}
	for len(s)-i-1 < 2 {
		s += "0"
	}
	return s, true
}

// exact returns a JSON number in plain decimal notation without an exponent,
// redundant zeros or a negative zero: "2", "0.5", "-1.25".
func exact(n json.Number) (string, bool) {
	s := string(n)
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e := s[i+1:]
		eneg := false
		if e != "" && (e[0] == '+' || e[0] == '-') {
			eneg, e = e[0] == '-', e[1:]
		}
		if e == "" || len(e) > 3 || !digits(e) {
			return "", false
		}
		for _, c := range e {
			exp = exp*10 + int(c-'0')
		}
		if eneg {
			exp = -exp
		}
	}
	intPart, frac := mant, ""
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		intPart, frac = mant[:i], mant[i+1:]
		if frac == "" || !digits(frac) {
			return "", false
		}
	}
	if intPart == "" || !digits(intPart) || (len(intPart) > 1 && intPart[0] == '0') {
		return "", false
	}
	// All digits, with the point after pos of them.
	all, pos := intPart+frac, len(intPart)+exp
	if pos < 0 {
		all, pos = strings.Repeat("0", -pos)+all, 0
	}
	if pos > len(all) {
		all += strings.Repeat("0", pos-len(all))
	}
	ip := strings.TrimLeft(all[:pos], "0")
	if ip == "" {
		ip = "0"
	}
	fp := strings.TrimRight(all[pos:], "0")
	out := ip
	if fp != "" {
		out += "." + fp
	}
	if neg && out != "0" {
		out = "-" + out
	}
	return out, true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// E164 normalises a phone as Syrve stores it to E.164: spaces, dashes, dots
// and parentheses are dropped; "+" and 8 to 15 digits is kept; 10 to 15 bare
// digits get a "+", except 11 digits starting with 8 (a Russian trunk prefix,
// ambiguous) and numbers starting with 0 (national format), which are refused.
func E164(phone string) (string, bool) {
	var b strings.Builder
	plus := false
	for i, r := range strings.TrimSpace(phone) {
		switch {
		case r == '+' && i == 0:
			plus = true
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return "", false
		}
	}
	d := b.String()
	switch {
	case d == "" || d[0] == '0':
		return "", false
	case plus && len(d) >= 8 && len(d) <= 15:
		return "+" + d, true
	case !plus && len(d) >= 10 && len(d) <= 15 && !(len(d) == 11 && d[0] == '8'):
		return "+" + d, true
	}
	return "", false
}
