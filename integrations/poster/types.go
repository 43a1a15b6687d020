package poster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kopecks is a money amount in the currency's minor unit (kopecks, cents),
// as Poster sends sums: a JSON string or number of whole minor units
// ("2750" is 27.50). It never goes through a float.
type Kopecks int64

// UnmarshalJSON reads "2750", 2750, "-150", "2750.00" (a zero fraction only),
// "" and null (both 0).
func (k *Kopecks) UnmarshalJSON(b []byte) error {
	s, err := scalarText(b)
	if err != nil {
		return err
	}
	n, err := ParseKopecks(s)
	if err != nil {
		return err
	}
	*k = n
	return nil
}

// ParseKopecks parses a whole number of minor units ("2750", "-150",
// "2750.00"); "" is 0. A non-zero fraction of a kopeck is refused.
func ParseKopecks(s string) (Kopecks, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		if strings.Trim(s[i+1:], "0") != "" {
			return 0, fmt.Errorf("%w: %q has a fraction of a minor unit", ErrBadAmount, s)
		}
		s = s[:i]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || (s != "" && (s[0] == '+')) {
		return 0, fmt.Errorf("%w: %q is not a whole number of minor units", ErrBadAmount, s)
	}
	return Kopecks(n), nil
}

// Decimal returns the amount in major units with two decimals: 12345 →
// "123.45", 1 → "0.01", -5 → "-0.05".
func (k Kopecks) Decimal() string {
	neg := k < 0
	u := uint64(k)
	if neg {
		u = -u // two's complement: also right for math.MinInt64
	}
	s := strconv.FormatUint(u, 10)
	for len(s) < 3 {
		s = "0" + s
	}
	s = s[:len(s)-2] + "." + s[len(s)-2:]
	if neg {
		s = "-" + s
	}
	return s
}

// Quantity is a product count as Poster sends it ("1", "0.5", 2): a decimal
// kept as text.
type Quantity string

// UnmarshalJSON reads a JSON string or number holding a decimal.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	s, err := scalarText(b)
	if err != nil {
		return err
	}
	s = strings.TrimSpace(s)
	if s == "" {
		*q = "0"
		return nil
	}
	if !isDecimal(s) {
		return fmt.Errorf("%w: quantity %q", ErrBadAmount, s)
	}
	*q = Quantity(s)
	return nil
}

// isDecimal reports whether s is an optionally negative decimal without
// exponent ("1", "0.5", "-2.250").
func isDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || (hasDot && frac == "") {
		return false
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return false
			}
		}
	}
	return true
}

// ID is an identifier Poster sends as a JSON string or number ("330660",
// 330660); it is kept as decimal text.
type ID string

// UnmarshalJSON reads a JSON string or number; null is "".
func (id *ID) UnmarshalJSON(b []byte) error {
	s, err := scalarText(b)
	if err != nil {
		return err
	}
	*id = ID(strings.TrimSpace(s))
	return nil
}

// Int returns the id as an integer (0 when empty or not a number).
func (id ID) Int() int64 {
	n, _ := strconv.ParseInt(string(id), 10, 64)
	return n
}

// scalarText returns the text of a JSON string, number or null ("" for null).
func scalarText(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return "", nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", err
		}
		return s, nil
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return "", err
		}
		return n.String(), nil
	default:
		return "", fmt.Errorf("poster: want a string or number, got %.20s", b)
	}
}

// Transaction statuses (dash.getTransaction, en/web/dash/getTransaction.md).
const (
	StatusOpen    = 1
	StatusClosed  = 2
	StatusRemoved = 3
)

// Transaction is a check (order) as dash.getTransaction returns it, with the
// fields the hub uses. Sums are in minor units.
type Transaction struct {
	TransactionID ID `json:"transaction_id"`
	// DateStart and DateClose are Unix timestamps in milliseconds as text
	// ("1518873046314"); DateClose is "0" while the check is open.
	DateStart string `json:"date_start"`
	DateClose string `json:"date_close"`
	// DateCloseDate is the closing time as "Y-m-d H:i:s" in the account's
	// time zone (not used: the millisecond timestamp is unambiguous).
	DateCloseDate string `json:"date_close_date"`
	// Status: 1 open, 2 closed, 3 removed.
	Status ID `json:"status"`
	// PayType: 0 closed without payment, 1 cash, 2 card, 3 mixed.
	PayType         ID      `json:"pay_type"`
	Sum             Kopecks `json:"sum"`
	PayedSum        Kopecks `json:"payed_sum"`
	PayedCash       Kopecks `json:"payed_cash"`
	PayedCard       Kopecks `json:"payed_card"`
	PayedBonus      Kopecks `json:"payed_bonus"`
	PayedCert       Kopecks `json:"payed_cert"`
	PayedThirdParty Kopecks `json:"payed_third_party"`
	TipSum          Kopecks `json:"tip_sum"`
	// Discount is the order's discount percentage.
	Discount Quantity  `json:"discount"`
	SpotID   ID        `json:"spot_id"`
	TableID  ID        `json:"table_id"`
	UserID   ID        `json:"user_id"`
	ClientID ID        `json:"client_id"`
	Products []Product `json:"products"`
}

// Closed reports whether the check is closed (status 2).
func (t *Transaction) Closed() bool { return t.Status.Int() == StatusClosed }

// HasClient reports whether a customer is attached (client_id not 0).
func (t *Transaction) HasClient() bool { return t.ClientID.Int() > 0 }

// ClosedAt returns the closing time from date_close (milliseconds; a value
// of 10 digits or fewer is read as seconds); ok is false for an open check.
func (t *Transaction) ClosedAt() (time.Time, bool) {
	return parseTimestamp(t.DateClose)
}

// parseTimestamp reads a Unix timestamp in milliseconds (or seconds when it
// has 10 digits or fewer), or a "Y-m-d H:i:s" UTC time.
func parseTimestamp(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		switch {
		case n <= 0:
			return time.Time{}, false
		case len(s) <= 10:
			return time.Unix(n, 0).UTC(), true
		default:
			return time.UnixMilli(n).UTC(), true
		}
	}
	if t, err := time.Parse(time.DateTime, s); err == nil && !t.IsZero() {
		return t.UTC(), true
	}
	return time.Time{}, false
}

// Product is one line of a transaction (include_products=true).
type Product struct {
	ProductID      ID       `json:"product_id"`
	ModificationID ID       `json:"modification_id"`
	Num            Quantity `json:"num"`
	// ProductPrice is the unit price in minor units.
	ProductPrice Kopecks `json:"product_price"`
	// PayedSum is what was paid for the line in minor units.
	PayedSum Kopecks `json:"payed_sum"`
}

// PosterClient is a Poster customer (clients.getClient, clients.getClients).
type PosterClient struct {
	ClientID   ID     `json:"client_id"`
	Firstname  string `json:"firstname"`
	Lastname   string `json:"lastname"`
	Patronymic string `json:"patronymic"`
	// Phone is as typed at the till ("+7 963 031-38-44"); PhoneNumber is its
	// digits ("79630313844").
	Phone       string `json:"phone"`
	PhoneNumber string `json:"phone_number"`
	Email       string `json:"email"`
	// Birthday is "Y-m-d"; "0000-00-00" when unknown.
	Birthday      string  `json:"birthday"`
	CardNumber    string  `json:"card_number"`
	GroupID       ID      `json:"client_groups_id"`
	GroupName     string  `json:"client_groups_name"`
	Bonus         Kopecks `json:"bonus"`
	TotalPayedSum Kopecks `json:"total_payed_sum"`
	// Delete is "1" for a removed customer.
	Delete ID `json:"delete"`
}

// Group is a customer group (clients.getGroups).
type Group struct {
	ID   ID     `json:"client_groups_id"`
	Name string `json:"client_groups_name"`
	// Discount is the group's percentage.
	Discount Quantity `json:"client_groups_discount"`
	// LoyaltyType: 1 points, 2 discount.
	LoyaltyType ID `json:"loyalty_type"`
	// Delete is "1" for a removed group.
	Delete ID `json:"delete"`
}

// NewClient is a customer to create (clients.createClient).
type NewClient struct {
	// Name is client_name, the full name (required by Poster).
	Name string
	// Phone is unique per account at Poster; E.164 is sent as given.
	Phone string
	// GroupID is client_groups_id_client (required by Poster).
	GroupID int64
	Email   string
	// Birthday is "Y-m-d" or "".
	Birthday   string
	CardNumber string
	Comment    string
}
