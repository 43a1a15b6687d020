package poster

import (
	"fmt"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
)

// SaleFromTransaction maps a closed check to the hub's sale intake:
//
//   - Source "poster", OrderID the transaction id.
//   - Total is payed_sum (cash + card: what the customer paid in money;
//     points, certificates and third-party payments such as a loyalty
//     app's discount are left out, so rewards do not earn stamps).
//   - Items: one per product line, SKU product_id (a modification is not
//     part of the SKU, so earning rules name the product), Quantity num,
//     Price product_price (the unit price) as a decimal string.
//   - ClosedAt is date_close (milliseconds) in RFC 3339 UTC.
//   - Customer.Phone is the client's phone in E.164 when client is given and
//     has a usable phone; otherwise the customer is empty and the hub keeps
//     the sale as unmatched.
//   - LocationID is left nil: Poster spots are not hub locations.
//
// A transaction whose status is not 2 (closed) gives ErrNotClosed.
func SaleFromTransaction(tx *Transaction, client *PosterClient, currency string) (hub.SaleInput, error) {
	if tx == nil {
		return hub.SaleInput{}, fmt.Errorf("%w: no transaction", ErrNotClosed)
	}
	if !tx.Closed() {
		return hub.SaleInput{}, fmt.Errorf("%w (transaction %s has status %q)", ErrNotClosed, tx.TransactionID, tx.Status)
	}
	if tx.TransactionID == "" {
		return hub.SaleInput{}, hub.Errorf(hub.EValidation, "poster: transaction has no id")
	}
	in := hub.SaleInput{
		Source:   hub.SourcePoster,
		OrderID:  string(tx.TransactionID),
		Total:    tx.PayedSum.Decimal(),
		Currency: strings.ToUpper(strings.TrimSpace(currency)),
		Items:    []hub.SaleItem{},
	}
	if t, ok := tx.ClosedAt(); ok {
		s := t.UTC().Format(time.RFC3339)
		in.ClosedAt = &s
	}
	for _, p := range tx.Products {
		if p.ProductID == "" {
			continue
		}
		qty := string(p.Num)
		if qty == "" {
			qty = "0"
		}
		in.Items = append(in.Items, hub.SaleItem{
			SKU:      string(p.ProductID),
			Quantity: hub.Quantity(qty),
			Price:    p.ProductPrice.Decimal(),
		})
	}
	if phone, ok := clientPhone(client); ok {
		in.Customer.Phone = &phone
	}
	return in, nil
}

// clientPhone returns a client's phone in E.164: phone_number (digits) with
// a "+" when it makes a valid number, else phone as typed.
func clientPhone(c *PosterClient) (string, bool) {
	if c == nil {
		return "", false
	}
	if d := onlyDigits(c.PhoneNumber); d != "" {
		if p, ok := hub.NormalizePhone("+" + d); ok {
			return p, true
		}
	}
	if s := strings.TrimSpace(c.Phone); s != "" {
		if !strings.HasPrefix(s, "+") {
			s = "+" + s
		}
		if p, ok := hub.NormalizePhone(s); ok {
			return p, true
		}
	}
	return "", false
}
