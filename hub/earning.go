package hub

import (
	"fmt"
	"regexp"
)

// Earning rule kinds.
const (
	// EarnPerVisit: one stamp per sale (per check).
	EarnPerVisit = "visit"
	// EarnPerAmount: one stamp per AmountPerStamp of the sale's total.
	EarnPerAmount = "amount"
	// EarnPerItem: stamps for qualifying items, QuantityPerStamp units each.
	EarnPerItem = "item"
)

// MaxSaleStamps bounds the stamps one sale adds, whatever the rules say (the
// same bound as POST /v1/cards/{id}/stamps).
const MaxSaleStamps = 100

// maxEarningItems bounds a template's qualifying-item rules.
const maxEarningItems = 100

// Earning is how a card template turns a sale into stamps. A template without
// one earns one stamp per sale.
type Earning struct {
	Per string `json:"per"`
	// AmountPerStamp is the money that earns one stamp (per "amount").
	AmountPerStamp *string `json:"amount_per_stamp"`
	// MinTotal is the smallest total that earns anything ("0.00" by default).
	MinTotal string `json:"min_total"`
	// MaxStampsPerSale caps the stamps of one sale (MaxSaleStamps when null).
	MaxStampsPerSale *int `json:"max_stamps_per_sale"`
	// Items are the qualifying items (per "item").
	Items []EarningItem `json:"items"`
}

// EarningItem is one qualifying item rule: lines whose SKU (or, when SKU is
// null, category) matches earn one stamp per QuantityPerStamp units, summed
// over the check. A line counts for the first rule it matches.
type EarningItem struct {
	SKU              *string  `json:"sku"`
	Category         *string  `json:"category"`
	QuantityPerStamp Quantity `json:"quantity_per_stamp"`
}

// defaultEarning is the rule of a template without one.
var defaultEarning = Earning{Per: EarnPerVisit, MinTotal: "0.00", Items: []EarningItem{}}

var skuPattern = regexp.MustCompile(`^[^\x00-\x1f]{1,100}$`)

// checkEarning validates an earning rule and returns it in canonical form
// (money with two decimals, empty items as []).
func checkEarning(p Problems, field string, in *Earning) *Earning {
	if in == nil {
		return nil
	}
	out := &Earning{Per: in.Per, MaxStampsPerSale: in.MaxStampsPerSale, Items: []EarningItem{}}
	switch in.Per {
	case EarnPerVisit, EarnPerAmount, EarnPerItem:
	default:
		p.Add(field+".per", `must be "visit", "amount" or "item"`)
	}
	out.MinTotal = "0.00"
	if in.MinTotal != "" {
		_, out.MinTotal = checkMoney(p, field+".min_total", in.MinTotal)
	}
	if m := in.MaxStampsPerSale; m != nil && (*m < 1 || *m > MaxSaleStamps) {
		p.Add(field+".max_stamps_per_sale", fmt.Sprintf("must be between 1 and %d", MaxSaleStamps))
	}
	switch {
	case in.Per == EarnPerAmount && in.AmountPerStamp == nil:
		p.Add(field+".amount_per_stamp", `is required when per is "amount"`)
	case in.Per == EarnPerAmount:
		v, s := checkMoney(p, field+".amount_per_stamp", *in.AmountPerStamp)
		if s != "" && v == 0 {
			p.Add(field+".amount_per_stamp", "must be greater than zero")
		}
		out.AmountPerStamp = &s
	case in.AmountPerStamp != nil:
		p.Add(field+".amount_per_stamp", `is only for per "amount"`)
	}
	switch {
	case in.Per == EarnPerItem && len(in.Items) == 0:
		p.Add(field+".items", `must name at least one item when per is "item"`)
	case in.Per != EarnPerItem && len(in.Items) > 0:
		p.Add(field+".items", `is only for per "item"`)
	case len(in.Items) > maxEarningItems:
		p.Add(field+".items", fmt.Sprintf("must have at most %d rules", maxEarningItems))
	}
	for i, it := range in.Items {
		f := fmt.Sprintf("%s.items[%d]", field, i)
		if (it.SKU == nil) == (it.Category == nil) {
			p.Add(f, "must name exactly one of sku and category")
		}
		for name, v := range map[string]*string{"sku": it.SKU, "category": it.Category} {
			if v != nil && !skuPattern.MatchString(*v) {
				p.Add(f+"."+name, "must be 1 to 100 characters without control characters")
			}
		}
		q := it.QuantityPerStamp
		if q == "" {
			q = "1"
		}
		qv, ok := parseDecimal(string(q))
		if !ok || qv == 0 {
			p.Add(f+".quantity_per_stamp", "must be a positive number with at most 4 decimals")
		}
		out.Items = append(out.Items, EarningItem{SKU: it.SKU, Category: it.Category, QuantityPerStamp: Quantity(formatDecimal(qv, 0))})
	}
	return out
}

// saleFigures is a validated sale's numbers, in ten-thousandths.
type saleFigures struct {
	total int64
	items []saleLine
}

type saleLine struct {
	sku, category string
	quantity      int64
}

// StampsFor returns the stamps a sale earns under the rule (nil: one per sale).
func (e *Earning) stampsFor(sale saleFigures) int {
	if e == nil {
		e = &defaultEarning
	}
	if minTotal, _ := parseDecimal(e.MinTotal); sale.total < minTotal {
		return 0
	}
	var n int64
	switch e.Per {
	case EarnPerVisit:
		n = 1
	case EarnPerAmount:
		per, _ := parseDecimal(*e.AmountPerStamp)
		if per > 0 {
			n = sale.total / per
		}
	case EarnPerItem:
		qty := make([]int64, len(e.Items))
		for _, line := range sale.items {
			for i, it := range e.Items {
				if (it.SKU != nil && *it.SKU == line.sku) || (it.Category != nil && line.category != "" && *it.Category == line.category) {
					qty[i] += line.quantity
					break
				}
			}
		}
		for i, it := range e.Items {
			if per, _ := parseDecimal(string(it.QuantityPerStamp)); per > 0 {
				n += qty[i] / per
			}
		}
	}
	limit := int64(MaxSaleStamps)
	if e.MaxStampsPerSale != nil && int64(*e.MaxStampsPerSale) < limit {
		limit = int64(*e.MaxStampsPerSale)
	}
	return int(min(n, limit))
}
