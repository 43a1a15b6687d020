package syrve

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Webhook event types the package decodes. Others are ignored by ParseWebhook.
const (
	EventTableOrderUpdate    = "TableOrderUpdate"
	EventDeliveryOrderUpdate = "DeliveryOrderUpdate"
)

// Event is one webhook event.
type Event struct {
	// Type is the eventType, EventTableOrderUpdate or EventDeliveryOrderUpdate.
	Type string
	// Time is eventTime (UTC); zero when absent or unreadable.
	Time           time.Time
	OrganizationID string
	CorrelationID  string
	// OrderID is eventInfo.id.
	OrderID string
	// Order is the order from eventInfo; its Status is "" when the event
	// carried no order details (eventInfo.order null: thin event).
	Order *Order
}

// CheckAuth reports whether an Authorization header carries authToken, the
// token given to RegisterWebhook: either the raw token or "Bearer <token>".
// The comparison is constant-time; an empty token or header never matches.
func CheckAuth(header, authToken string) bool {
	if authToken == "" || header == "" {
		return false
	}
	got := strings.TrimSpace(header)
	if len(got) > 7 && strings.EqualFold(got[:7], "bearer ") {
		got = strings.TrimSpace(got[7:])
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(authToken)) == 1
}

// ParseWebhook decodes a webhook body: a JSON array of
// {eventType, eventTime, organizationId, correlationId, eventInfo}. Table and
// delivery order updates are returned in body order; other event types are
// skipped. A body that is not such an array, or an order update whose
// eventInfo has no order id, is an error.
func ParseWebhook(body []byte) ([]Event, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '[' {
		return nil, errors.New("syrve: webhook body is not a JSON array")
	}
	var raw []struct {
		EventType      string          `json:"eventType"`
		EventTime      string          `json:"eventTime"`
		OrganizationID string          `json:"organizationId"`
		CorrelationID  string          `json:"correlationId"`
		EventInfo      json.RawMessage `json:"eventInfo"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("syrve: webhook body: %w", err)
	}
	var events []Event
	for i, r := range raw {
		var kind string
		switch r.EventType {
		case EventTableOrderUpdate:
			kind = KindTable
		case EventDeliveryOrderUpdate:
			kind = KindDelivery
		default:
			continue
		}
		var info wireOrderInfo
		if err := json.Unmarshal(r.EventInfo, &info); err != nil {
			return nil, fmt.Errorf("syrve: webhook event %d (%s): %w", i, r.EventType, err)
		}
		if info.ID == "" {
			return nil, fmt.Errorf("syrve: webhook event %d (%s) has no order id", i, r.EventType)
		}
		if info.OrganizationID == "" {
			info.OrganizationID = r.OrganizationID
		}
		ev := Event{Type: r.EventType, OrganizationID: r.OrganizationID, CorrelationID: r.CorrelationID,
			OrderID: info.ID, Order: info.order(kind, nil)}
		ev.Time, _ = parseTime(r.EventTime, time.UTC)
		events = append(events, ev)
	}
	return events, nil
}

// ClosedOrder says whether ev may be a closed check to turn into a sale. ok is
// true for an order update whose order is Closed (order is then the order)
// and for a thin update without order details (order is nil: fetch it with
// Client.Order and check Closed). Updates with any other status give ok false.
// The order's Zone is nil (UTC); set it to the terminals' zone before
// SaleFromOrder.
func ClosedOrder(ev Event) (orderID string, order *Order, ok bool) {
	if ev.OrderID == "" || (ev.Type != EventTableOrderUpdate && ev.Type != EventDeliveryOrderUpdate) {
		return "", nil, false
	}
	if ev.Order == nil || ev.Order.Status == "" {
		return ev.OrderID, nil, true
	}
	if !ev.Order.Closed() {
		return "", nil, false
	}
	return ev.OrderID, ev.Order, true
}
