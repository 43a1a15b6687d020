package syrve_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/integrations/syrve"
)

func TestCheckAuth(t *testing.T) {
	tests := []struct {
		name, header, token string
		want                bool
	}{
		{"raw", "s3cret", "s3cret", true},
		{"bearer", "Bearer s3cret", "s3cret", true},
		{"bearer lower case", "bearer s3cret", "s3cret", true},
		{"bearer extra spaces", "  Bearer   s3cret ", "s3cret", true},
		{"wrong", "s3cre7", "s3cret", false},
		{"wrong bearer", "Bearer s3cre7", "s3cret", false},
		{"prefix", "s3cretX", "s3cret", false},
		{"missing", "", "s3cret", false},
		{"bearer only", "Bearer ", "s3cret", false},
		{"empty token", "", "", false},
		{"empty token any header", "Bearer ", "", false},
		{"empty token raw header", "x", "", false},
		{"token is the word Bearer", "Bearer", "Bearer", true},
		{"basic", "Basic s3cret", "s3cret", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := syrve.CheckAuth(tt.header, tt.token); got != tt.want {
				t.Errorf("CheckAuth(%q, %q) = %v, want %v", tt.header, tt.token, got, tt.want)
			}
		})
	}
}

const tableClosed = `{"eventType":"TableOrderUpdate","eventTime":"2026-03-01 12:00:01.123",
 "organizationId":"org1","correlationId":"c1",
 "eventInfo":{"id":"o1","posId":null,"organizationId":"org1","timestamp":1772366401123,
  "creationStatus":"Success","errorInfo":null,
  "order":{"tableIds":["t1"],"customer":{"type":"regular","id":"g1","name":"Anna","surname":null},
   "phone":"+4915112345678","status":"Closed","whenCreated":"2026-03-01 11:00:00.000","sum":350.5,"number":42,
   "whenClosed":"2026-03-01 12:00:00.000",
   "items":[{"type":"Product","status":"Added","deleted":null,"amount":2,"product":{"id":"p1","name":"Latte"},
     "price":175.25,"cost":350.5,"pricePredefined":false,"resultSum":350.5},
    {"type":"Product","status":"Added","deleted":{"deletionMethod":{"id":"x"}},"amount":1,
     "product":{"id":"p2","name":"Gone"},"price":3,"cost":3,"pricePredefined":false,"resultSum":3},
    {"type":"Compound","status":"Added","amount":0.5,"primaryComponent":{"product":{"id":"p3","name":"Pizza half"},
     "price":9.9,"cost":4.95,"pricePredefined":false},"resultSum":4.95},
    {"type":"Service","status":"Added","amount":1,"service":{"id":"s1","name":"Service charge"},"cost":5}],
   "payments":[],"discounts":[]}}}`

const deliveryBill = `{"eventType":"DeliveryOrderUpdate","eventTime":"2026-03-01 12:05:00.000",
 "organizationId":"org1","correlationId":"c2",
 "eventInfo":{"id":"d1","organizationId":"org1","timestamp":2,"creationStatus":"Success",
  "order":{"phone":"+4915100000000","status":"OnWay","sum":10,"number":7,"items":[]}}}`

const thin = `{"eventType":"TableOrderUpdate","eventTime":"2026-03-01 12:06:00.000",
 "organizationId":"org1","correlationId":"c3",
 "eventInfo":{"id":"o9","organizationId":"org1","timestamp":3,"creationStatus":"InProgress","order":null}}`

const stopList = `{"eventType":"StopListUpdate","eventTime":"2026-03-01 12:07:00.000","organizationId":"org1",
 "correlationId":"c4","eventInfo":{"terminalGroupsStopListsUpdates":[]}}`

func TestParseWebhook(t *testing.T) {
	o1 := &syrve.Order{ID: "o1", OrganizationID: "org1", Kind: syrve.KindTable, CreationStatus: "Success",
		Timestamp: 1772366401123, Status: "Closed", Number: 42, Sum: "350.5", Phone: "+4915112345678",
		Customer:    &syrve.OrderCustomer{Type: "regular", ID: "g1", Name: "Anna"},
		WhenCreated: "2026-03-01 11:00:00.000", WhenClosed: "2026-03-01 12:00:00.000",
		Items: []syrve.Item{
			{Type: "Product", ProductID: "p1", ProductName: "Latte", Amount: "2", Price: "175.25", ResultSum: "350.5"},
			{Type: "Compound", ProductID: "p3", ProductName: "Pizza half", Amount: "0.5", Price: "9.9", ResultSum: "4.95"},
			{Type: "Service", ProductID: "s1", ProductName: "Service charge", Amount: "1"},
		}}
	ev1 := syrve.Event{Type: "TableOrderUpdate", Time: time.Date(2026, 3, 1, 12, 0, 1, 123e6, time.UTC),
		OrganizationID: "org1", CorrelationID: "c1", OrderID: "o1", Order: o1}
	ev2 := syrve.Event{Type: "DeliveryOrderUpdate", Time: time.Date(2026, 3, 1, 12, 5, 0, 0, time.UTC),
		OrganizationID: "org1", CorrelationID: "c2", OrderID: "d1",
		Order: &syrve.Order{ID: "d1", OrganizationID: "org1", Kind: syrve.KindDelivery, CreationStatus: "Success",
			Timestamp: 2, Status: "OnWay", Number: 7, Sum: "10", Phone: "+4915100000000"}}
	ev3 := syrve.Event{Type: "TableOrderUpdate", Time: time.Date(2026, 3, 1, 12, 6, 0, 0, time.UTC),
		OrganizationID: "org1", CorrelationID: "c3", OrderID: "o9",
		Order: &syrve.Order{ID: "o9", OrganizationID: "org1", Kind: syrve.KindTable, CreationStatus: "InProgress",
			Timestamp: 3}}
	tests := []struct {
		name    string
		body    string
		want    []syrve.Event
		wantErr bool
	}{
		{"one closed table order", "[" + tableClosed + "]", []syrve.Event{ev1}, false},
		{"several, unknown types ignored", "[" + stopList + "," + tableClosed + "," + deliveryBill + "," + thin + "]",
			[]syrve.Event{ev1, ev2, ev3}, false},
		{"only unknown types", "[" + stopList + `,{"eventType":"KitchenOrderUpdate","eventInfo":{}}]`, nil, false},
		{"empty array", " [ ] ", nil, false},
		{"object, not array", tableClosed, nil, true},
		{"malformed", "[" + tableClosed, nil, true},
		{"empty", "", nil, true},
		{"null", "null", nil, true},
		{"string eventInfo", `[{"eventType":"TableOrderUpdate","eventInfo":"x"}]`, nil, true},
		{"order update without id", `[{"eventType":"TableOrderUpdate","eventInfo":{"order":null}}]`, nil, true},
		{"sum not a number", `[{"eventType":"TableOrderUpdate","eventInfo":{"id":"x","order":{"sum":"abc"}}}]`,
			nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := syrve.ParseWebhook([]byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("events (-want +got):\n%s", d)
			}
		})
	}
}

func TestClosedOrder(t *testing.T) {
	events, err := syrve.ParseWebhook([]byte("[" + tableClosed + "," + deliveryBill + "," + thin + "]"))
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		ID    string
		Order bool
		OK    bool
	}
	want := []result{{"o1", true, true}, {"", false, false}, {"o9", false, true}}
	var got []result
	for _, ev := range events {
		id, o, ok := syrve.ClosedOrder(ev)
		got = append(got, result{id, o != nil, ok})
	}
	got = append(got, func() result {
		id, o, ok := syrve.ClosedOrder(syrve.Event{Type: "StopListUpdate", OrderID: "x"})
		return result{id, o != nil, ok}
	}())
	want = append(want, result{})
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ClosedOrder (-want +got):\n%s", d)
	}
}

func FuzzParseWebhook(f *testing.F) {
	for _, s := range []string{
		"[" + tableClosed + "]",
		"[" + stopList + "," + tableClosed + "," + deliveryBill + "," + thin + "]",
		"[]", "", "null", "{}", "[1]", `[{"eventType":"TableOrderUpdate","eventInfo":{"id":"x","order":{"sum":1e400}}}]`,
		`[{"eventType":"DeliveryOrderUpdate","eventTime":"bad","eventInfo":{"id":"x","order":{"status":"Closed",` +
			`"sum":-0.0e-2,"whenClosed":"2026-13-45 99:00:00","items":[{"amount":1E+3}]}}}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := syrve.ParseWebhook(body)
		if err != nil {
			if events != nil {
				t.Fatal("events with an error")
			}
			return
		}
		for _, ev := range events {
			if ev.OrderID == "" || ev.Order == nil || ev.Order.ID != ev.OrderID {
				t.Fatalf("event without its order id: %+v", ev)
			}
			if ev.Type != syrve.EventTableOrderUpdate && ev.Type != syrve.EventDeliveryOrderUpdate {
				t.Fatalf("unexpected event type %q", ev.Type)
			}
			id, o, ok := syrve.ClosedOrder(ev)
			if ok && id != ev.OrderID {
				t.Fatalf("ClosedOrder id %q, event %q", id, ev.OrderID)
			}
			if o == nil {
				continue
			}
			in, ok := syrve.SaleFromOrder("", o, "EUR")
			if !ok {
				continue
			}
			if in.OrderID != ev.OrderID || in.Source != "syrve" {
				t.Fatalf("sale %+v", in)
			}
			if _, ok := syrve.Decimal(o.Sum); !ok || in.Total == "" {
				t.Fatalf("total %q from %q", in.Total, o.Sum)
			}
		}
	})
}
