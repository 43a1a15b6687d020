package hub

import (
	"encoding/json"
	"time"
)

// Sale sources that the hub knows by name. Any other source matching
// [a-z0-9_-]{1,32} is accepted from POST /v1/sales too (a till's own name).
const (
	SourcePoster  = "poster"
	SourceSyrve   = "syrve"
	SourceGeneric = "generic"
)

// Sale statuses.
const (
	// SaleApplied: the sale's customer was found and its stamps were added.
	SaleApplied = "applied"
	// SaleUnmatched: no card was found for the customer; the sale is kept and
	// applied when the same order is posted again with a customer that is
	// found, within SaleMatchWindow of its first posting.
	SaleUnmatched = "unmatched"
)

// SaleMatchWindow is how long an unmatched sale waits to be identified.
const SaleMatchWindow = 24 * time.Hour

// SaleInput is one closed check, from a till or the API: the one intake every
// till path ends in. Money is a decimal string ("12.50"), never a float.
type SaleInput struct {
	// Source names the till or integration: poster, syrve, generic, or a
	// till's own name ([a-z0-9_-]{1,32}). (Source, OrderID) is unique per
	// business: the same order again returns the first result.
	Source     string       `json:"source"`
	OrderID    string       `json:"order_id"`
	LocationID *string      `json:"location_id"`
	Customer   SaleCustomer `json:"customer"`
	Total      string       `json:"total"`
	Currency   string       `json:"currency"`
	Items      []SaleItem   `json:"items"`
	ClosedAt   *string      `json:"closed_at"`
}

// SaleCustomer identifies the customer of a sale by exactly one of card,
// wallet pass, phone or email (the first one given in that order wins).
type SaleCustomer struct {
	CardID       *string `json:"card_id"`
	WalletPassID *string `json:"wallet_pass_id"`
	Phone        *string `json:"phone"`
	Email        *string `json:"email"`
}

// SaleItem is one line of a check.
type SaleItem struct {
	SKU      string  `json:"sku"`
	Name     *string `json:"name"`
	Category *string `json:"category"`
	// Quantity is the number of units, a JSON number or decimal string (2, "0.5").
	Quantity json.Number `json:"quantity"`
	// Price is the line's unit price as a decimal string.
	Price string `json:"price"`
}
