package syrve

import (
	"encoding/json"
	"time"
)

// Order kinds.
const (
	// KindTable is a table (dine-in) order: /api/1/order/*, TableOrderUpdate.
	KindTable = "table"
	// KindDelivery is a delivery order: /api/1/deliveries/*, DeliveryOrderUpdate.
	KindDelivery = "delivery"
)

// StatusClosed is the order status, for table and delivery orders alike, of a
// paid and closed check: the only one that makes a sale.
const StatusClosed = "Closed"

// TimeLayout is Syrve's date-time format ("yyyy-MM-dd HH:mm:ss.fff").
const TimeLayout = "2006-01-02 15:04:05.000"

// Order is a table or delivery order as Syrve reports it (the order info
// wrapper and its "order" merged). Money and quantities are the JSON numbers
// exactly as sent.
type Order struct {
	// ID is Syrve's order id (a UUID).
	ID string
	// PosID is the POS order id, when known.
	PosID string
	// OrganizationID is the organization the order belongs to.
	OrganizationID string
	// Kind is KindTable or KindDelivery.
	Kind string
	// CreationStatus is Success, InProgress or Error.
	CreationStatus string
	// Timestamp is Syrve's revision of the order's latest change.
	Timestamp int64
	// Status is New, Bill, Closed or Deleted for table orders; Unconfirmed …
	// Delivered, Closed or Cancelled for deliveries. "" when the order
	// details were not given (creationStatus other than Success).
	Status string
	// Number is the order number on the till.
	Number int64
	// Sum is the order amount after discounts and surcharges.
	Sum json.Number
	// Phone is the guest's (table) or delivery phone as entered.
	Phone string
	// Customer is the guest, when one is attached.
	Customer *OrderCustomer
	// WhenCreated and WhenClosed are local terminal times in TimeLayout; ""
	// when absent.
	WhenCreated string
	WhenClosed  string
	// Items are the order's lines, deleted ones excluded.
	Items []Item
	// Zone is the time zone of WhenCreated and WhenClosed (set by the Client
	// from Client.Zone; nil means UTC).
	Zone *time.Location
}

// OrderCustomer is the guest of an order.
type OrderCustomer struct {
	// Type is "regular" or "one-time".
	Type    string
	ID      string
	Name    string
	Surname string
}

// Item is one line of an order.
type Item struct {
	// Type is Product, Compound or Service.
	Type string
	// ProductID and ProductName name the product (for a Compound item, its
	// primary component; for a Service, the service).
	ProductID   string
	ProductName string
	// Amount is the quantity.
	Amount json.Number
	// Price is the unit price; "" for a Service line, which only has a cost.
	Price json.Number
	// ResultSum is the line total after discounts, when given.
	ResultSum json.Number
}

// Closed reports whether the order is a closed check.
func (o *Order) Closed() bool { return o != nil && o.Status == StatusClosed }

// ClosedAt returns WhenClosed read in the order's zone.
func (o *Order) ClosedAt() (time.Time, bool) {
	return parseTime(o.WhenClosed, o.Zone)
}

// parseTime reads a Syrve date-time ("yyyy-MM-dd HH:mm:ss" with an optional
// fraction) in loc (nil means UTC).
func parseTime(s string, loc *time.Location) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if loc == nil {
		loc = time.UTC
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", s, loc)
	if err != nil {
		// Some clients see an ISO "T"; accept it too.
		if t, err = time.ParseInLocation("2006-01-02T15:04:05.999999999", s, loc); err != nil {
			return time.Time{}, false
		}
	}
	return t, true
}

// Wire types: iikoTransport.PublicApi.Contracts.TableOrders.Response.TableOrderInfo
// and Deliveries.Response.Order.OrderInfo share this shape.
type (
	wireOrderInfo struct {
		ID             string     `json:"id"`
		PosID          *string    `json:"posId"`
		OrganizationID string     `json:"organizationId"`
		Timestamp      int64      `json:"timestamp"`
		CreationStatus string     `json:"creationStatus"`
		Order          *wireOrder `json:"order"`
	}
	wireOrder struct {
		Customer    *wireCustomer `json:"customer"`
		Phone       *string       `json:"phone"`
		Status      string        `json:"status"`
		Sum         json.Number   `json:"sum"`
		Number      int64         `json:"number"`
		WhenCreated *string       `json:"whenCreated"`
		WhenClosed  *string       `json:"whenClosed"`
		Items       []wireItem    `json:"items"`
	}
	wireCustomer struct {
		Type    string  `json:"type"`
		ID      string  `json:"id"`
		Name    *string `json:"name"`
		Surname *string `json:"surname"`
	}
	wireProduct struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	wireComponent struct {
		Product wireProduct `json:"product"`
		Price   json.Number `json:"price"`
	}
	wireItem struct {
		Type             string          `json:"type"`
		Deleted          json.RawMessage `json:"deleted"`
		Amount           json.Number     `json:"amount"`
		Product          *wireProduct    `json:"product"`
		Service          *wireProduct    `json:"service"`
		PrimaryComponent *wireComponent  `json:"primaryComponent"`
		Price            json.Number     `json:"price"`
		ResultSum        json.Number     `json:"resultSum"`
	}
)

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// order converts a wire order info; kind is KindTable or KindDelivery.
func (w *wireOrderInfo) order(kind string, zone *time.Location) *Order {
	o := &Order{ID: w.ID, PosID: str(w.PosID), OrganizationID: w.OrganizationID, Kind: kind,
		CreationStatus: w.CreationStatus, Timestamp: w.Timestamp, Zone: zone}
	d := w.Order
	if d == nil {
		return o
	}
	o.Status, o.Number, o.Sum, o.Phone = d.Status, d.Number, d.Sum, str(d.Phone)
	o.WhenCreated, o.WhenClosed = str(d.WhenCreated), str(d.WhenClosed)
	if c := d.Customer; c != nil {
		o.Customer = &OrderCustomer{Type: c.Type, ID: c.ID, Name: str(c.Name), Surname: str(c.Surname)}
	}
	for _, wi := range d.Items {
		if len(wi.Deleted) > 0 && string(wi.Deleted) != "null" {
			continue
		}
		it := Item{Type: wi.Type, Amount: wi.Amount, ResultSum: wi.ResultSum}
		switch {
		case wi.Product != nil:
			it.ProductID, it.ProductName, it.Price = wi.Product.ID, wi.Product.Name, wi.Price
		case wi.PrimaryComponent != nil:
			p := wi.PrimaryComponent
			it.ProductID, it.ProductName, it.Price = p.Product.ID, p.Product.Name, p.Price
		case wi.Service != nil:
			it.ProductID, it.ProductName = wi.Service.ID, wi.Service.Name
		}
		o.Items = append(o.Items, it)
	}
	return o
}
