package syrve_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/integrations/syrve"
)

func TestDecimal(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"350.5", "350.50", true},
		{"350", "350.00", true},
		{"0", "0.00", true},
		{"0.3", "0.30", true},
		{"0.1", "0.10", true},
		{"0.30000000000000004", "0.30000000000000004", true}, // what float addition gives: kept, not rounded
		{"1.005", "1.005", true},
		{"12.50", "12.50", true},
		{"12.500", "12.50", true},
		{"-4.2", "-4.20", true},
		{"-0", "0.00", true},
		{"-0.00", "0.00", true},
		{"3.505e2", "350.50", true},
		{"3505E-1", "350.50", true},
		{"1e+3", "1000.00", true},
		{"5e-3", "0.005", true},
		{"123456789012345678901234567890.01", "123456789012345678901234567890.01", true},
		{"9007199254740993", "9007199254740993.00", true}, // above 2^53: a float64 would change it
		{"", "", false},
		{"abc", "", false},
		{"1.", "", false},
		{".5", "", false},
		{"01", "", false},
		{"+1", "", false},
		{"1e", "", false},
		{"1e1000", "", false},
		{"1,5", "", false},
		{"--1", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := syrve.Decimal(json.Number(tt.in))
			if got != tt.want || ok != tt.ok {
				t.Errorf("Decimal(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestDecimalFromJSON checks that sums decoded from a real body stay exact.
func TestDecimalFromJSON(t *testing.T) {
	var v struct {
		Sums []json.Number `json:"sums"`
	}
	if err := json.Unmarshal([]byte(`{"sums":[0.1, 0.2, 0.3, 350.5, 1e2, 19.99]}`), &v); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range v.Sums {
		s, ok := syrve.Decimal(n)
		if !ok {
			t.Fatalf("Decimal(%q) failed", n)
		}
		got = append(got, s)
	}
	want := []string{"0.10", "0.20", "0.30", "350.50", "100.00", "19.99"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestE164(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"+4915112345678", "+4915112345678", true},
		{"+7 (916) 123-45-67", "+79161234567", true},
		{"79161234567", "+79161234567", true},
		{"4915112345678", "+4915112345678", true},
		{"89161234567", "", false}, // Russian trunk prefix: ambiguous
		{"015112345678", "", false},
		{"+0123456789", "", false},
		{"12345", "", false},
		{"+1234567", "", false},
		{"+1234567890123456", "", false},
		{"", "", false},
		{"+49 151 1234 5678 ext 1", "", false},
		{"49+15112345678", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := syrve.E164(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("E164(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestSaleFromOrder(t *testing.T) {
	msk := time.FixedZone("MSK", 3*3600)
	closed := func() *syrve.Order {
		return &syrve.Order{ID: "o1", OrganizationID: "org1", Kind: syrve.KindTable, Status: "Closed", Sum: "350.5",
			Phone: "+7 916 123-45-67", WhenClosed: "2026-03-01 15:00:00.000", Zone: msk,
			Items: []syrve.Item{
				{Type: "Product", ProductID: "p1", ProductName: "Latte", Amount: "2", Price: "175.25"},
				{Type: "Compound", ProductID: "p3", ProductName: "Pizza half", Amount: "0.5", Price: "0.1"},
				{Type: "Service", ProductID: "s1", ProductName: "", Amount: "1"},
				{Type: "Product", ProductID: "", Amount: "1", Price: "3"}, // no product: dropped
			}}
	}
	str := func(s string) *string { return &s }
	full := hub.SaleInput{Source: "syrve", OrderID: "o1", Total: "350.50", Currency: "RUB",
		Customer: hub.SaleCustomer{Phone: str("+79161234567")},
		ClosedAt: str("2026-03-01T12:00:00Z"),
		Items: []hub.SaleItem{
			{SKU: "p1", Name: str("Latte"), Quantity: "2", Price: "175.25"},
			{SKU: "p3", Name: str("Pizza half"), Quantity: "0.5", Price: "0.10"},
			{SKU: "s1", Quantity: "1", Price: "0.00"},
		}}
	tests := []struct {
		name   string
		orgID  string
		change func(*syrve.Order) *syrve.Order
		want   hub.SaleInput
		ok     bool
	}{
		{"closed", "org1", func(o *syrve.Order) *syrve.Order { return o }, full, true},
		{"no org check", "", func(o *syrve.Order) *syrve.Order { return o }, full, true},
		{"UTC when no zone", "org1", func(o *syrve.Order) *syrve.Order {
			o.Zone = nil
			return o
		}, func() hub.SaleInput { s := full; s.ClosedAt = str("2026-03-01T15:00:00Z"); return s }(), true},
		{"no whenClosed, bad phone", "org1", func(o *syrve.Order) *syrve.Order {
			o.WhenClosed, o.Phone = "", "89161234567"
			return o
		}, func() hub.SaleInput { s := full; s.ClosedAt, s.Customer = nil, hub.SaleCustomer{}; return s }(), true},
		{"bill", "org1", func(o *syrve.Order) *syrve.Order { o.Status = "Bill"; return o }, hub.SaleInput{}, false},
		{"deleted", "org1", func(o *syrve.Order) *syrve.Order { o.Status = "Deleted"; return o }, hub.SaleInput{}, false},
		{"delivered, not closed", "org1", func(o *syrve.Order) *syrve.Order {
			o.Kind, o.Status = syrve.KindDelivery, "Delivered"
			return o
		}, hub.SaleInput{}, false},
		{"other organization", "org2", func(o *syrve.Order) *syrve.Order { return o }, hub.SaleInput{}, false},
		{"thin", "org1", func(o *syrve.Order) *syrve.Order { o.Status = ""; return o }, hub.SaleInput{}, false},
		{"nil", "org1", func(*syrve.Order) *syrve.Order { return nil }, hub.SaleInput{}, false},
		{"sum missing", "org1", func(o *syrve.Order) *syrve.Order { o.Sum = ""; return o }, hub.SaleInput{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := syrve.SaleFromOrder(tt.orgID, tt.change(closed()), "RUB")
			if ok != tt.ok {
				t.Errorf("ok = %v, want %v", ok, tt.ok)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("sale (-want +got):\n%s", d)
			}
		})
	}
}
