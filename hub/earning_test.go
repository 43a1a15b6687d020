package hub

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseAndFormatDecimal(t *testing.T) {
	tests := []struct {
		in     string
		want   int64
		ok     bool
		format string
	}{
		{"0", 0, true, "0.00"},
		{"0.0001", 1, true, "0.0001"},
		{"12.5", 125000, true, "12.50"},
		{"12.50", 125000, true, "12.50"},
		{"1000000000000", 1_000_000_000_000 * 10_000, true, "1000000000000.00"},
		{"1000000000000.0001", 0, false, ""},
		{"10000000000000", 0, false, ""},
		{"1.23456", 0, false, ""},
		{"-1", 0, false, ""},
		{"+1", 0, false, ""},
		{"1e3", 0, false, ""},
		{"1.", 0, false, ""},
		{".5", 0, false, ""},
		{" 1", 0, false, ""},
		{"", 0, false, ""},
		{"١٢", 0, false, ""},
	}
	for _, tt := range tests {
		got, ok := parseDecimal(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseDecimal(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
		if ok && formatDecimal(got, 2) != tt.format {
			t.Errorf("formatDecimal(%d, 2) = %q, want %q", got, formatDecimal(got, 2), tt.format)
		}
	}
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0", "12.50", "0.0001", "999999999999.9999", "1e9", "-0", "1.", "00012.3400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := parseDecimal(s)
		if !ok {
			return
		}
		if v < 0 || v > maxDecimalUnits*decimalScale {
			t.Fatalf("parseDecimal(%q) = %d, out of range", s, v)
		}
		back, ok := parseDecimal(formatDecimal(v, 0))
		if !ok || back != v {
			t.Fatalf("round trip of %q: %d -> %q -> %d, %v", s, v, formatDecimal(v, 0), back, ok)
		}
	})
}

func TestStampsFor(t *testing.T) {
	str := func(s string) *string { return &s }
	num := func(n int) *int { return &n }
	sale := func(total string, lines ...saleLine) saleFigures {
		v, ok := parseDecimal(total)
		if !ok {
			t.Fatalf("bad total %q", total)
		}
		return saleFigures{total: v, items: lines}
	}
	line := func(sku, cat, qty string) saleLine {
		q, _ := parseDecimal(qty)
		return saleLine{sku: sku, category: cat, quantity: q}
	}
	perAmount := &Earning{Per: EarnPerAmount, AmountPerStamp: str("5.00"), MinTotal: "3.00", MaxStampsPerSale: num(4)}
	perItem := &Earning{Per: EarnPerItem, MinTotal: "0.00", Items: []EarningItem{
		{SKU: str("LATTE"), QuantityPerStamp: "1"},
		{Category: str("pastry"), QuantityPerStamp: "2"},
	}}
	tests := []struct {
		name string
		rule *Earning
		sale saleFigures
		want int
	}{
		{"no rule: one per sale", nil, sale("0.00"), 1},
		{"visit", &Earning{Per: EarnPerVisit, MinTotal: "0.00"}, sale("1.00"), 1},
		{"visit under the minimum", &Earning{Per: EarnPerVisit, MinTotal: "2.00"}, sale("1.99"), 0},
		{"visit at the minimum", &Earning{Per: EarnPerVisit, MinTotal: "2.00"}, sale("2.00"), 1},
		{"amount under the minimum", perAmount, sale("2.99"), 0},
		{"amount at the minimum, under one step", perAmount, sale("3.00"), 0},
		{"amount one step less a cent", perAmount, sale("9.99"), 1},
		{"amount exactly two steps", perAmount, sale("10.00"), 2},
		{"amount capped by max per sale", perAmount, sale("1000.00"), 4},
		{"amount capped by the hard limit", &Earning{Per: EarnPerAmount, AmountPerStamp: str("0.01"), MinTotal: "0.00"}, sale("1000000.00"), MaxSaleStamps},
		{"items by sku, quantities summed over lines", perItem, sale("9.00", line("LATTE", "", "2"), line("LATTE", "coffee", "1")), 3},
		{"items by category, two per stamp", perItem, sale("9.00", line("CROISSANT", "pastry", "3")), 1},
		{"items: half units add up", perItem, sale("9.00", line("MUFFIN", "pastry", "1.5"), line("BUN", "pastry", "0.5")), 1},
		{"items: no qualifying line", perItem, sale("9.00", line("TEA", "drinks", "5")), 0},
		{"items: a line counts for its first rule only", &Earning{Per: EarnPerItem, MinTotal: "0.00", Items: []EarningItem{
			{SKU: str("LATTE"), QuantityPerStamp: "1"}, {Category: str("coffee"), QuantityPerStamp: "1"}}},
			sale("9.00", line("LATTE", "coffee", "2")), 2},
		{"items under the minimum total", &Earning{Per: EarnPerItem, MinTotal: "10.00", Items: perItem.Items}, sale("9.00", line("LATTE", "", "2")), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rule.stampsFor(tt.sale); got != tt.want {
				t.Errorf("stamps = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestCheckEarning(t *testing.T) {
	str := func(s string) *string { return &s }
	num := func(n int) *int { return &n }
	tests := []struct {
		name   string
		in     Earning
		want   *Earning
		fields []string
	}{
		{"visit, defaults filled", Earning{Per: "visit"}, &Earning{Per: "visit", MinTotal: "0.00", Items: []EarningItem{}}, nil},
		{"amount canonicalised", Earning{Per: "amount", AmountPerStamp: str("5"), MinTotal: "1.5", MaxStampsPerSale: num(10)},
			&Earning{Per: "amount", AmountPerStamp: str("5.00"), MinTotal: "1.50", MaxStampsPerSale: num(10), Items: []EarningItem{}}, nil},
		{"item quantity defaults to 1", Earning{Per: "item", Items: []EarningItem{{SKU: str("LATTE")}}},
			&Earning{Per: "item", MinTotal: "0.00", Items: []EarningItem{{SKU: str("LATTE"), QuantityPerStamp: "1"}}}, nil},
		{"unknown kind", Earning{Per: "points"}, nil, []string{"earning.per"}},
		{"amount without a step", Earning{Per: "amount"}, nil, []string{"earning.amount_per_stamp"}},
		{"amount of zero", Earning{Per: "amount", AmountPerStamp: str("0.00")}, nil, []string{"earning.amount_per_stamp"}},
		{"a float-looking step", Earning{Per: "amount", AmountPerStamp: str("1e2")}, nil, []string{"earning.amount_per_stamp"}},
		{"negative minimum", Earning{Per: "visit", MinTotal: "-1"}, nil, []string{"earning.min_total"}},
		{"max out of range", Earning{Per: "visit", MaxStampsPerSale: num(0)}, nil, []string{"earning.max_stamps_per_sale"}},
		{"max above the hard limit", Earning{Per: "visit", MaxStampsPerSale: num(101)}, nil, []string{"earning.max_stamps_per_sale"}},
		{"items without per item", Earning{Per: "visit", Items: []EarningItem{{SKU: str("A")}}}, nil, []string{"earning.items"}},
		{"per item without items", Earning{Per: "item"}, nil, []string{"earning.items"}},
		{"item with both sku and category", Earning{Per: "item", Items: []EarningItem{{SKU: str("A"), Category: str("b")}}}, nil, []string{"earning.items[0]"}},
		{"item with neither", Earning{Per: "item", Items: []EarningItem{{}}}, nil, []string{"earning.items[0]"}},
		{"item with zero per stamp", Earning{Per: "item", Items: []EarningItem{{SKU: str("A"), QuantityPerStamp: "0"}}}, nil, []string{"earning.items[0].quantity_per_stamp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Problems{}
			got := checkEarning(p, "earning", &tt.in)
			var fields []string
			for f := range p {
				fields = append(fields, f)
			}
			if diff := cmp.Diff(tt.fields, fields); diff != "" {
				t.Fatalf("problems (-want +got):\n%s\n%v", diff, p)
			}
			if tt.want != nil {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("rule (-want +got):\n%s", diff)
				}
			}
		})
	}
}
