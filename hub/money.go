package hub

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Decimals are fixed-point numbers with four fractional digits, held in an
// int64 of ten-thousandths: exact for every currency (none has more than
// four minor digits) and for quantities such as 0.5 kg. Money and quantities
// never pass through float64.

// decimalScale is the number of ten-thousandths in one unit.
const decimalScale = 10_000

// maxDecimalUnits bounds a decimal's integer part (a trillion): larger totals
// are typing errors, and the bound keeps sums of a check's lines far from
// int64 overflow.
const maxDecimalUnits = 1_000_000_000_000

// parseDecimal reads a non-negative decimal such as "12", "12.5" or "0.0001"
// into ten-thousandths. It refuses signs, exponents, spaces, more than four
// fractional digits and values above maxDecimalUnits.
func parseDecimal(s string) (int64, bool) {
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 13 || (hasDot && (frac == "" || len(frac) > 4)) {
		return 0, false
	}
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, false
			}
		}
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > maxDecimalUnits {
		return 0, false
	}
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", 4-len(frac)), 10, 64)
	}
	v := w*decimalScale + f
	if v > maxDecimalUnits*decimalScale {
		return 0, false
	}
	return v, true
}

// formatDecimal writes ten-thousandths as a decimal with at least minFrac
// fractional digits and no trailing zeros beyond them: formatDecimal(125000, 2)
// is "12.50", formatDecimal(5, 2) is "0.0005".
func formatDecimal(v int64, minFrac int) string {
	neg := v < 0
	if neg {
		v = -v
	}
	frac := strconv.FormatInt(v%decimalScale+decimalScale, 10)[1:]
	for len(frac) > minFrac && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	s := strconv.FormatInt(v/decimalScale, 10)
	if frac != "" {
		s += "." + frac
	}
	if neg {
		s = "-" + s
	}
	return s
}

// checkMoney validates a required money field and returns it in
// ten-thousandths and in its canonical spelling (two or more decimals).
func checkMoney(p Problems, field, s string) (int64, string) {
	if s == "" {
		p.Add(field, "is required: a decimal string such as \"12.50\"")
		return 0, ""
	}
	v, ok := parseDecimal(s)
	if !ok {
		p.Add(field, "must be a non-negative decimal string with at most 4 decimals, such as \"12.50\"")
		return 0, ""
	}
	return v, formatDecimal(v, 2)
}

// Quantity is a number of units as JSON spells it: a number (2, 0.5) or a
// decimal string ("0.5"). Any other JSON value is kept as written, so that
// validation refuses it naming its field instead of the decoder refusing the
// whole body. It marshals as a JSON number.
type Quantity string

// UnmarshalJSON implements json.Unmarshaler.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*q = Quantity(s)
		return nil
	}
	*q = Quantity(b)
	return nil
}

// MarshalJSON implements json.Marshaler: a valid quantity is a JSON number.
func (q Quantity) MarshalJSON() ([]byte, error) {
	if v, ok := parseDecimal(string(q)); ok {
		return []byte(formatDecimal(v, 0)), nil
	}
	return json.Marshal(string(q))
}
