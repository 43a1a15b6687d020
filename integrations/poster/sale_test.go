package poster_test

import (
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/integrations/poster"
)

func TestKopecksDecimal(t *testing.T) {
	tests := []struct {
		in   poster.Kopecks
		want string
	}{
		{0, "0.00"},
		{1, "0.01"},
		{10, "0.10"},
		{99, "0.99"},
		{100, "1.00"},
		{12345, "123.45"},
		{-1, "-0.01"},
		{-12345, "-123.45"},
		{1_000_000_000_00, "1000000000.00"},
		{math.MaxInt64, "92233720368547758.07"},
		{math.MinInt64, "-92233720368547758.08"},
	}
	for _, tt := range tests {
		if got := tt.in.Decimal(); got != tt.want {
			t.Errorf("Kopecks(%d).Decimal() = %q, want %q", int64(tt.in), got, tt.want)
		}
	}
}

func TestKopecksJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    poster.Kopecks
		wantErr bool
	}{
		{`"2750"`, 2750, false},
		{`2750`, 2750, false},
		{`"0"`, 0, false},
		{`""`, 0, false},
		{`null`, 0, false},
		{`"1"`, 1, false},
		{`"-150"`, -150, false},
		{`"2750.00"`, 2750, false},
		{`"9007199254740993"`, 9007199254740993, false}, // beyond float64's exact integers
		{`"2750.5"`, 0, true},
		{`"12.34e2"`, 0, true},
		{`"abc"`, 0, true},
		{`"+5"`, 0, true},
		{`true`, 0, true},
		{`"99999999999999999999"`, 0, true},
	}
	for _, tt := range tests {
		var k poster.Kopecks
		err := json.Unmarshal([]byte(tt.in), &k)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && k != tt.want {
			t.Errorf("%s: %d, want %d", tt.in, k, tt.want)
		}
		if err != nil && tt.in != `true` && !errors.Is(err, poster.ErrBadAmount) {
			t.Errorf("%s: error %v is not ErrBadAmount", tt.in, err)
		}
	}
}

// docTransaction is the example answer of en/web/dash/getTransaction.md
// (history left out).
const docTransaction = `{
 "transaction_id":"330660","date_start":"1518873040083","date_start_new":"1518873041556",
 "date_close":"1518873046314","status":"2","guests_count":"2","discount":"0","bonus":"0","pay_type":"3",
 "payed_bonus":"0","payed_card":"0","payed_cash":"2750","payed_sum":"2750","payed_cert":"0",
 "payed_third_party":"0","round_sum":"0","tip_sum":"0","tips_card":"0","tips_cash":"0","sum":"2750",
 "spot_id":"1","table_id":"94","name":"Анна","user_id":"1","client_id":"0","card_number":"0",
 "transaction_comment":null,"reason":"","print_fiscal":"0","total_profit":"-8786","total_profit_netto":"-6789",
 "table_name":"5","client_firstname":null,"client_lastname":null,"date_close_date":"2018-02-17 16:10:46",
 "products":[
  {"product_id":"162","modification_id":"0","num":"1","product_price":"1050","payed_sum":"1050","product_cost":"4536"},
  {"product_id":"161","modification_id":"0","num":"1","product_price":"1700","payed_sum":"1700","product_cost":"7000"}
 ]}`

func decodeTx(t *testing.T, s string) *poster.Transaction {
	t.Helper()
	var tx poster.Transaction
	if err := json.Unmarshal([]byte(s), &tx); err != nil {
		t.Fatal(err)
	}
	return &tx
}

func ptr(s string) *string { return &s }

func TestSaleFromTransaction(t *testing.T) {
	doc := decodeTx(t, docTransaction)
	withClient := decodeTx(t, docTransaction)
	withClient.ClientID = "38"
	withClient.PayedSum, withClient.PayedCard, withClient.PayedBonus = 1, 1, 2749
	withClient.Products = []poster.Product{{ProductID: "24", ModificationID: "3", Num: "0.5", ProductPrice: 12345}}
	client := &poster.PosterClient{ClientID: "38", Phone: "+380 50 11-11-111", PhoneNumber: "380501111111"}
	tests := []struct {
		name   string
		tx     *poster.Transaction
		client *poster.PosterClient
		want   hub.SaleInput
	}{
		{
			name: "doc example without a client",
			tx:   doc,
			want: hub.SaleInput{
				Source: "poster", OrderID: "330660", Total: "27.50", Currency: "UAH",
				ClosedAt: ptr("2018-02-17T13:10:46Z"),
				Items: []hub.SaleItem{
					{SKU: "162", Quantity: "1", Price: "10.50"},
					{SKU: "161", Quantity: "1", Price: "17.00"},
				},
			},
		},
		{
			name: "client with phone, 1 kopeck paid, weighed item", tx: withClient, client: client,
			want: hub.SaleInput{
				Source: "poster", OrderID: "330660", Total: "0.01", Currency: "UAH",
				ClosedAt: ptr("2018-02-17T13:10:46Z"),
				Customer: hub.SaleCustomer{Phone: ptr("+380501111111")},
				Items:    []hub.SaleItem{{SKU: "24", Quantity: "0.5", Price: "123.45"}},
			},
		},
		{
			name: "client without a usable phone", tx: withClient,
			client: &poster.PosterClient{ClientID: "38", Phone: "", PhoneNumber: ""},
			want: hub.SaleInput{
				Source: "poster", OrderID: "330660", Total: "0.01", Currency: "UAH",
				ClosedAt: ptr("2018-02-17T13:10:46Z"),
				Items:    []hub.SaleItem{{SKU: "24", Quantity: "0.5", Price: "123.45"}},
			},
		},
		{
			name: "phone typed without digits field", tx: withClient,
			client: &poster.PosterClient{ClientID: "38", Phone: "+7 963 031-38-44"},
			want: hub.SaleInput{
				Source: "poster", OrderID: "330660", Total: "0.01", Currency: "UAH",
				ClosedAt: ptr("2018-02-17T13:10:46Z"),
				Customer: hub.SaleCustomer{Phone: ptr("+79630313844")},
				Items:    []hub.SaleItem{{SKU: "24", Quantity: "0.5", Price: "123.45"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := poster.SaleFromTransaction(tt.tx, tt.client, "uah")
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("sale (-want +got):\n%s", d)
			}
		})
	}
}

func TestSaleFromTransactionLargeAndZero(t *testing.T) {
	tx := decodeTx(t, `{"transaction_id":"1","status":"2","date_close":"1700000000000","payed_sum":"123456789012345","products":[]}`)
	got, err := poster.SaleFromTransaction(tx, nil, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	if got.Total != "1234567890123.45" || got.ClosedAt == nil || *got.ClosedAt != "2023-11-14T22:13:20Z" {
		t.Errorf("got total %q closed %v", got.Total, *got.ClosedAt)
	}
	if got.Items == nil || len(got.Items) != 0 {
		t.Errorf("items %#v, want empty", got.Items)
	}
	tx = decodeTx(t, `{"transaction_id":"2","status":"2","date_close":"1700000000000","payed_sum":"0","pay_type":"0"}`)
	if got, err := poster.SaleFromTransaction(tx, nil, "EUR"); err != nil || got.Total != "0.00" {
		t.Errorf("free check: %q, %v", got.Total, err)
	}
}

func TestSaleFromTransactionNotClosed(t *testing.T) {
	for _, status := range []string{"1", "3", "0", ""} {
		tx := decodeTx(t, `{"transaction_id":"5","status":"`+status+`","date_close":"0"}`)
		_, err := poster.SaleFromTransaction(tx, nil, "UAH")
		if !errors.Is(err, poster.ErrNotClosed) {
			t.Errorf("status %q: error %v, want ErrNotClosed", status, err)
		}
	}
	if _, err := poster.SaleFromTransaction(nil, nil, "UAH"); !errors.Is(err, poster.ErrNotClosed) {
		t.Errorf("nil transaction: %v", err)
	}
}
