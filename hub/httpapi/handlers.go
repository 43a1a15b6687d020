package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/7loc/hub/hub"
)

// list is the envelope of every list response.
type list[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

func respondList[T any](c *gin.Context, items []T, next *string) {
	if items == nil {
		items = []T{}
	}
	c.JSON(http.StatusOK, list[T]{Data: items, NextCursor: next})
}

// idParam returns the path parameter when it is an id of the kind; anything
// else cannot name an object, so it is not_found.
func (s *server) idParam(c *gin.Context, name, prefix, kind string) (string, bool) {
	id := c.Param(name)
	if !hub.ValidID(prefix, id) {
		s.fail(c, hub.NotFound(kind))
		return "", false
	}
	return id, true
}

// pageParams reads ?limit= and ?cursor=.
func pageParams(c *gin.Context) (hub.Page, error) {
	var p hub.Page
	if v, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > hub.MaxPageLimit {
			return p, hub.Problems{"limit": "must be a number between 1 and 100"}.Err()
		}
		p.Limit = n
	}
	p.Cursor = c.Query("cursor")
	return p, nil
}

func (s *server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

func (s *server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{}
	status, code := "ok", http.StatusOK
	for name, check := range s.checks {
		if err := check(ctx); err != nil {
			checks[name] = "unreachable"
			status, code = "unavailable", http.StatusServiceUnavailable
			s.log.WarnContext(ctx, "readiness check failed", "check", name, "err", err)
			continue
		}
		checks[name] = "ok"
	}
	if code != http.StatusOK {
		c.Header("Retry-After", "5")
	}
	c.JSON(code, gin.H{"status": status, "checks": checks})
}

func (s *server) metricsHandler(c *gin.Context) {
	promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}).ServeHTTP(c.Writer, c.Request)
}

func (s *server) openapi(c *gin.Context) {
	doc, err := OpenAPIJSON()
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Data(http.StatusOK, "application/json", doc)
}

// --- operator API ---

func (s *server) createBusiness(c *gin.Context) {
	var in hub.BusinessInput
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	b, err := s.svc.CreateBusiness(c.Request.Context(), in)
	s.respond(c, http.StatusCreated, b, err)
}

func (s *server) createLocation(c *gin.Context) {
	b, ok := s.idParam(c, "b", hub.PrefixBusiness, "business")
	if !ok {
		return
	}
	var in hub.LocationInput
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	l, err := s.svc.CreateLocation(c.Request.Context(), b, in)
	s.respond(c, http.StatusCreated, l, err)
}

func (s *server) createStaff(c *gin.Context) {
	b, ok := s.idParam(c, "b", hub.PrefixBusiness, "business")
	if !ok {
		return
	}
	var in hub.StaffInput
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	st, err := s.svc.CreateStaff(c.Request.Context(), b, in)
	s.respond(c, http.StatusCreated, st, err)
}

func (s *server) listAPIKeys(c *gin.Context) {
	b, ok := s.idParam(c, "b", hub.PrefixBusiness, "business")
	if !ok {
		return
	}
	keys, err := s.svc.APIKeys(c.Request.Context(), b)
	if err != nil {
		s.fail(c, err)
		return
	}
	respondList(c, keys, nil)
}

func (s *server) createAPIKey(c *gin.Context) {
	b, ok := s.idParam(c, "b", hub.PrefixBusiness, "business")
	if !ok {
		return
	}
	var in hub.APIKeyInput
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	k, err := s.svc.CreateAPIKey(c.Request.Context(), b, in)
	s.respond(c, http.StatusCreated, k, err)
}

func (s *server) regenerateAPIKey(c *gin.Context) {
	b, ok := s.idParam(c, "b", hub.PrefixBusiness, "business")
	if !ok {
		return
	}
	id, ok := s.idParam(c, "id", hub.PrefixAPIKey, "api key")
	if !ok {
		return
	}
	if err := decodeJSON(c, &struct{}{}); err != nil {
		s.fail(c, err)
		return
	}
	k, err := s.svc.RegenerateAPIKey(c.Request.Context(), b, id)
	s.respond(c, http.StatusOK, k, err)
}

func (s *server) revokeAPIKey(c *gin.Context) {
	b, ok := s.idParam(c, "b", hub.PrefixBusiness, "business")
	if !ok {
		return
	}
	id, ok := s.idParam(c, "id", hub.PrefixAPIKey, "api key")
	if !ok {
		return
	}
	if err := s.svc.RevokeAPIKey(c.Request.Context(), b, id); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *server) createCardTemplate(c *gin.Context) {
	b, ok := s.idParam(c, "b", hub.PrefixBusiness, "business")
	if !ok {
		return
	}
	var in hub.CardTemplateInput
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	t, err := s.svc.CreateCardTemplate(c.Request.Context(), b, in)
	s.respond(c, http.StatusCreated, t, err)
}

func (s *server) createVoucherTemplate(c *gin.Context) {
	b, ok := s.idParam(c, "b", hub.PrefixBusiness, "business")
	if !ok {
		return
	}
	var in hub.VoucherTemplateInput
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	t, err := s.svc.CreateVoucherTemplate(c.Request.Context(), b, in)
	s.respond(c, http.StatusCreated, t, err)
}

// respond writes v with the status, or the error.
func (s *server) respond(c *gin.Context, status int, v any, err error) {
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(status, v)
}

// --- v1 API ---

func (s *server) me(c *gin.Context) {
	c.JSON(http.StatusOK, s.svc.Me(principal(c)))
}

func (s *server) listCardTemplates(c *gin.Context) {
	pg, err := pageParams(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	ts, next, err := s.svc.CardTemplates(c.Request.Context(), principal(c).Business.ID, pg)
	if err != nil {
		s.fail(c, err)
		return
	}
	respondList(c, ts, next)
}

func (s *server) getCardTemplate(c *gin.Context) {
	id, ok := s.idParam(c, "id", hub.PrefixCardTemplate, "card template")
	if !ok {
		return
	}
	t, err := s.svc.CardTemplate(c.Request.Context(), principal(c).Business.ID, id)
	s.respond(c, http.StatusOK, t, err)
}

func (s *server) issueCard(c *gin.Context) {
	var in hub.IssueCardInput
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	card, created, err := s.svc.IssueCard(c.Request.Context(), principal(c), in)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	s.respond(c, status, card, err)
}

func (s *server) listCards(c *gin.Context) {
	pg, err := pageParams(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	f := hub.CardFilter{
		BusinessID: principal(c).Business.ID, Email: c.Query("email"), Phone: c.Query("phone"),
		CustomerID: c.Query("customer_id"), TemplateID: c.Query("template_id"), Page: pg,
	}
	cards, next, err := s.svc.Cards(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	respondList(c, cards, next)
}

func (s *server) getCard(c *gin.Context) {
	id, ok := s.idParam(c, "id", hub.PrefixCard, "card")
	if !ok {
		return
	}
	card, err := s.svc.Card(c.Request.Context(), principal(c).Business.ID, id)
	s.respond(c, http.StatusOK, card, err)
}

func (s *server) cardHistory(c *gin.Context) {
	id, ok := s.idParam(c, "id", hub.PrefixCard, "card")
	if !ok {
		return
	}
	pg, err := pageParams(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	evs, next, err := s.svc.History(c.Request.Context(), principal(c).Business.ID, id, pg)
	if err != nil {
		s.fail(c, err)
		return
	}
	respondList(c, payloads(evs), next)
}

func payloads(evs []*hub.EventRecord) []json.RawMessage {
	out := make([]json.RawMessage, len(evs))
	for i, e := range evs {
		out[i] = e.Payload
	}
	return out
}

func (s *server) addStamps(c *gin.Context) {
	id, ok := s.idParam(c, "id", hub.PrefixCard, "card")
	if !ok {
		return
	}
	var in hub.AddStampsInput
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	res, err := s.svc.AddStamps(c.Request.Context(), principal(c), id, in)
	s.respond(c, http.StatusOK, res, err)
}

func (s *server) stampByCustomer(c *gin.Context) {
	var in hub.StampByCustomerInput
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	res, err := s.svc.StampByCustomer(c.Request.Context(), principal(c), in)
	s.respond(c, http.StatusOK, res, err)
}

func (s *server) playLottery(c *gin.Context) {
	id, ok := s.idParam(c, "id", hub.PrefixCard, "card")
	if !ok {
		return
	}
	var in hub.LotteryPlayInput
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	res, err := s.svc.PlayLottery(c.Request.Context(), principal(c), id, in)
	s.respond(c, http.StatusOK, res, err)
}

func (s *server) issueVoucher(c *gin.Context) {
	var in hub.IssueVoucherInput
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	v, err := s.svc.IssueVoucher(c.Request.Context(), principal(c), in)
	s.respond(c, http.StatusCreated, v, err)
}

func (s *server) listVouchers(c *gin.Context) {
	pg, err := pageParams(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	f := hub.VoucherFilter{
		BusinessID: principal(c).Business.ID, RedeemCode: c.Query("redeem_code"),
		CustomerID: c.Query("customer_id"), Status: c.Query("status"), Page: pg,
	}
	vs, next, err := s.svc.Vouchers(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	respondList(c, vs, next)
}

func (s *server) getVoucher(c *gin.Context) {
	id, ok := s.idParam(c, "id", hub.PrefixVoucher, "voucher")
	if !ok {
		return
	}
	v, err := s.svc.Voucher(c.Request.Context(), principal(c).Business.ID, id)
	s.respond(c, http.StatusOK, v, err)
}

// redeemByIDInput is the body of a redeem by id: no code.
type redeemByIDInput struct {
	LocationID  *string `json:"location_id"`
	RedeemedVia *string `json:"redeemed_via"`
}

func (s *server) redeemVoucher(c *gin.Context) {
	id, ok := s.idParam(c, "id", hub.PrefixVoucher, "voucher")
	if !ok {
		return
	}
	var in redeemByIDInput
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	v, err := s.svc.RedeemVoucher(c.Request.Context(), principal(c), id, hub.RedeemInput{LocationID: in.LocationID, RedeemedVia: in.RedeemedVia})
	s.respond(c, http.StatusOK, v, err)
}

func (s *server) redeemByCode(c *gin.Context) {
	var in hub.RedeemInput
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	v, err := s.svc.RedeemVoucher(c.Request.Context(), principal(c), "", in)
	s.respond(c, http.StatusOK, v, err)
}

func (s *server) listCustomers(c *gin.Context) {
	pg, err := pageParams(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	f := hub.CustomerFilter{BusinessID: principal(c).Business.ID, Email: c.Query("email"), Phone: c.Query("phone"), Page: pg}
	cs, next, err := s.svc.Customers(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	respondList(c, cs, next)
}

func (s *server) getCustomer(c *gin.Context) {
	id, ok := s.idParam(c, "id", hub.PrefixCustomer, "customer")
	if !ok {
		return
	}
	cust, err := s.svc.Customer(c.Request.Context(), principal(c).Business.ID, id)
	s.respond(c, http.StatusOK, cust, err)
}

func (s *server) patchCustomer(c *gin.Context) {
	id, ok := s.idParam(c, "id", hub.PrefixCustomer, "customer")
	if !ok {
		return
	}
	var in hub.CustomerPatch
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	cust, err := s.svc.UpdateCustomer(c.Request.Context(), principal(c).Business.ID, id, in)
	s.respond(c, http.StatusOK, cust, err)
}

func (s *server) listEvents(c *gin.Context) {
	pg, err := pageParams(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	f := hub.EventFilter{
		BusinessID: principal(c).Business.ID, Type: hub.EventType(c.Query("type")),
		CustomerID: c.Query("customer_id"), CardID: c.Query("card_id"), SinceID: c.Query("since_id"), Page: pg,
	}
	evs, next, err := s.svc.Events(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	respondList(c, payloads(evs), next)
}

func (s *server) getEvent(c *gin.Context) {
	id, ok := s.idParam(c, "id", hub.PrefixEvent, "event")
	if !ok {
		return
	}
	e, err := s.svc.Event(c.Request.Context(), principal(c).Business.ID, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", e.Payload)
}

// --- the public card page ---

var cardNotFoundPage = []byte(`<!doctype html><html lang="en"><meta charset="utf-8"><title>Card not found</title>` +
	`<body style="font-family:system-ui;margin:3rem"><h1>Card not found</h1><p>This link is not valid. Ask the shop for a new one.</p></body></html>`)

func (s *server) cardPage(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Referrer-Policy", "no-referrer")
	c.Header("X-Robots-Tag", "noindex")
	page, err := s.svc.OpenCardPage(c.Request.Context(), c.Param("id"), c.Query("t"))
	if hub.ErrorCode(err) == hub.ENotFound && s.pages != nil {
		c.Data(http.StatusNotFound, "text/html; charset=utf-8", cardNotFoundPage)
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	if s.pages == nil {
		c.JSON(http.StatusOK, gin.H{"card": page.Card, "vouchers": page.Vouchers})
		return
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Content-Security-Policy", "default-src 'none'; img-src data:; style-src 'unsafe-inline'")
	c.Status(http.StatusOK)
	if err := s.pages.Render(c.Writer, page); err != nil {
		s.log.ErrorContext(c.Request.Context(), "rendering the card page failed", "card_id", page.Card.ID, "err", err)
	}
}
