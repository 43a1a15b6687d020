package console

import (
	"net/http"
	"strings"

	"github.com/7loc/hub/hub"
)

// customersData is the customers page: a search by email or phone and a
// page of results.
type customersData struct {
	Email, Phone string
	Customers    []*hub.Customer
	// Next is the cursor of the next page, "" on the last.
	Next string
}

// customerData is one customer's page.
type customerData struct {
	Customer *hub.CustomerDetail
	Cards    []*hub.Card
	Consent  []consentRow
	Vouchers []*hub.Voucher
	// NextVouchers and NextDeliveries are the cursors of the lists' next pages.
	NextVouchers   string
	Deliveries     []*hub.Delivery
	NextDeliveries string
}

// consentRow is a channel's consent; Consent is nil when the customer never
// gave or withdrew it.
type consentRow struct {
	Channel string
	Consent *hub.Consent
}

func (s *server) customers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := &customersData{Email: strings.TrimSpace(q.Get("email")), Phone: strings.TrimSpace(q.Get("phone"))}
	cs, next, err := s.svc.Customers(r.Context(), hub.CustomerFilter{BusinessID: session(r).BusinessID,
		Email: d.Email, Phone: d.Phone, Page: cursor(r, hub.PrefixCustomer)})
	v := &view{Title: "customers.title", Nav: "customers", Data: d}
	if err != nil {
		if status(err) >= 500 {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, status(err), "customers", withError(v, err))
		return
	}
	d.Customers, d.Next = cs, deref(next)
	s.render(w, r, http.StatusOK, "customers", v)
}

// customer shows a customer of the owner's business: cards, consent,
// contacts, vouchers and the deliveries to them. Another business's
// customer is not found.
func (s *server) customer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !hub.ValidID(hub.PrefixCustomer, id) {
		s.notFound(w, r)
		return
	}
	b := session(r).BusinessID
	c, err := s.svc.CustomerWithContacts(r.Context(), b, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := &customerData{Customer: c}
	for _, ch := range hub.Channels {
		row := consentRow{Channel: ch}
		if cs, ok := c.Consent[ch]; ok {
			row.Consent = &cs
		}
		d.Consent = append(d.Consent, row)
	}
	if d.Cards, _, err = s.svc.Cards(r.Context(), hub.CardFilter{BusinessID: b, CustomerID: id,
		Page: hub.Page{Limit: pageSize}}); err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	vp := hub.Page{Limit: pageSize}
	if c := q.Get("vouchers"); hub.ValidID(hub.PrefixVoucher, c) {
		vp.Cursor = c
	}
	vs, vnext, err := s.svc.Vouchers(r.Context(), hub.VoucherFilter{BusinessID: b, CustomerID: id, Page: vp})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	dp := hub.Page{Limit: pageSize}
	if c := q.Get("deliveries"); hub.ValidID(hub.PrefixDelivery, c) {
		dp.Cursor = c
	}
	ds, dnext, err := s.svc.Deliveries(r.Context(), hub.DeliveryFilter{BusinessID: b, CustomerID: id, Page: dp})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Vouchers, d.NextVouchers, d.Deliveries, d.NextDeliveries = vs, deref(vnext), ds, deref(dnext)
	s.render(w, r, http.StatusOK, "customer", &view{Title: "customer.title", Nav: "customers", Data: d})
}
