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

// withBody decodes the JSON body into In, calls fn and writes its result
// with the status: the shape of every write endpoint.
func withBody[In, Out any](s *server, c *gin.Context, status int, fn func(ctx context.Context, in In) (Out, error)) {
	var in In
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	hub.ReplyWith(ctx, jsonReply(status))
	out, err := fn(ctx, in)
	s.respond(c, status, out, err)
}

// jsonReply makes the response respond sends for a result (c.JSON: the
// encoding/json bytes), for use cases that store an idempotent request's
// response in the transaction of their effect.
func jsonReply(status int) hub.ReplyFunc {
	return func(v any) (hub.IdempotentReply, error) {
		b, err := json.Marshal(v)
		return hub.IdempotentReply{Status: status, ContentType: "application/json; charset=utf-8", Body: b}, err
	}
}

// listing reads the page parameters, calls fn and writes the list envelope.
func listing[T any](s *server, c *gin.Context, fn func(ctx context.Context, pg hub.Page) ([]T, *string, error)) {
	pg, err := pageParams(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := fn(c.Request.Context(), pg)
	if err != nil {
		s.fail(c, err)
		return
	}
	respondList(c, items, next)
}

// respond writes v with the status, or the error.
func (s *server) respond(c *gin.Context, status int, v any, err error) {
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(status, v)
}

func biz(c *gin.Context) string { return principal(c).Business.ID }

// --- operator API ---

func (s *server) createBusiness(c *gin.Context) {
	withBody(s, c, http.StatusCreated, s.svc.CreateBusiness)
}

// forBusiness runs h with the business id of an operator path, or answers 404.
func (s *server) forBusiness(c *gin.Context, h func(b string)) {
	if b, ok := s.idParam(c, "b", hub.PrefixBusiness, "business"); ok {
		h(b)
	}
}

func (s *server) createLocation(c *gin.Context) {
	s.forBusiness(c, func(b string) {
		withBody(s, c, http.StatusCreated, func(ctx context.Context, in hub.LocationInput) (*hub.Location, error) {
			return s.svc.CreateLocation(ctx, b, in)
		})
	})
}

func (s *server) createStaff(c *gin.Context) {
	s.forBusiness(c, func(b string) {
		withBody(s, c, http.StatusCreated, func(ctx context.Context, in hub.StaffInput) (*hub.Staff, error) {
			return s.svc.CreateStaff(ctx, b, in)
		})
	})
}

func (s *server) listAPIKeys(c *gin.Context) {
	s.forBusiness(c, func(b string) {
		keys, err := s.svc.APIKeys(c.Request.Context(), b)
		if err != nil {
			s.fail(c, err)
			return
		}
		respondList(c, keys, nil)
	})
}

func (s *server) createAPIKey(c *gin.Context) {
	s.forBusiness(c, func(b string) {
		withBody(s, c, http.StatusCreated, func(ctx context.Context, in hub.APIKeyInput) (*hub.APIKey, error) {
			return s.svc.CreateAPIKey(ctx, b, in)
		})
	})
}

func (s *server) regenerateAPIKey(c *gin.Context) {
	s.forBusiness(c, func(b string) {
		if id, ok := s.idParam(c, "id", hub.PrefixAPIKey, "api key"); ok {
			withBody(s, c, http.StatusOK, func(ctx context.Context, _ struct{}) (*hub.APIKey, error) {
				return s.svc.RegenerateAPIKey(ctx, b, id)
			})
		}
	})
}

func (s *server) revokeAPIKey(c *gin.Context) {
	s.forBusiness(c, func(b string) {
		id, ok := s.idParam(c, "id", hub.PrefixAPIKey, "api key")
		if !ok {
			return
		}
		if err := s.svc.RevokeAPIKey(c.Request.Context(), b, id); err != nil {
			s.fail(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	})
}

func (s *server) createCardTemplate(c *gin.Context) {
	s.forBusiness(c, func(b string) {
		withBody(s, c, http.StatusCreated, func(ctx context.Context, in hub.CardTemplateInput) (*hub.CardTemplate, error) {
			return s.svc.CreateCardTemplate(ctx, b, in)
		})
	})
}

func (s *server) createVoucherTemplate(c *gin.Context) {
	s.forBusiness(c, func(b string) {
		withBody(s, c, http.StatusCreated, func(ctx context.Context, in hub.VoucherTemplateInput) (*hub.VoucherTemplate, error) {
			return s.svc.CreateVoucherTemplate(ctx, b, in)
		})
	})
}

// --- v1 API ---

func (s *server) me(c *gin.Context) {
	c.JSON(http.StatusOK, s.svc.Me(principal(c)))
}

func (s *server) listCardTemplates(c *gin.Context) {
	listing(s, c, func(ctx context.Context, pg hub.Page) ([]*hub.CardTemplate, *string, error) {
		return s.svc.CardTemplates(ctx, biz(c), pg)
	})
}

func (s *server) getCardTemplate(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixCardTemplate, "card template"); ok {
		t, err := s.svc.CardTemplate(c.Request.Context(), biz(c), id)
		s.respond(c, http.StatusOK, t, err)
	}
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
	listing(s, c, func(ctx context.Context, pg hub.Page) ([]*hub.Card, *string, error) {
		return s.svc.Cards(ctx, hub.CardFilter{
			BusinessID: biz(c), Email: c.Query("email"), Phone: c.Query("phone"),
			CustomerID: c.Query("customer_id"), TemplateID: c.Query("template_id"), Page: pg,
		})
	})
}

func (s *server) getCard(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixCard, "card"); ok {
		card, err := s.svc.Card(c.Request.Context(), biz(c), id)
		s.respond(c, http.StatusOK, card, err)
	}
}

func (s *server) cardHistory(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixCard, "card"); ok {
		listing(s, c, func(ctx context.Context, pg hub.Page) ([]json.RawMessage, *string, error) {
			evs, next, err := s.svc.History(ctx, biz(c), id, pg)
			return payloads(evs), next, err
		})
	}
}

func payloads(evs []*hub.EventRecord) []json.RawMessage {
	out := make([]json.RawMessage, len(evs))
	for i, e := range evs {
		out[i] = e.Payload
	}
	return out
}

func (s *server) addStamps(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixCard, "card"); ok {
		withBody(s, c, http.StatusOK, func(ctx context.Context, in hub.AddStampsInput) (*hub.StampResult, error) {
			return s.svc.AddStamps(ctx, principal(c), id, in)
		})
	}
}

func (s *server) stampByCustomer(c *gin.Context) {
	withBody(s, c, http.StatusOK, func(ctx context.Context, in hub.StampByCustomerInput) (*hub.StampResult, error) {
		return s.svc.StampByCustomer(ctx, principal(c), in)
	})
}

func (s *server) playLottery(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixCard, "card"); ok {
		withBody(s, c, http.StatusOK, func(ctx context.Context, in hub.LotteryPlayInput) (*hub.LotteryResult, error) {
			return s.svc.PlayLottery(ctx, principal(c), id, in)
		})
	}
}

func (s *server) issueVoucher(c *gin.Context) {
	withBody(s, c, http.StatusCreated, func(ctx context.Context, in hub.IssueVoucherInput) (*hub.Voucher, error) {
		return s.svc.IssueVoucher(ctx, principal(c), in)
	})
}

func (s *server) listVouchers(c *gin.Context) {
	listing(s, c, func(ctx context.Context, pg hub.Page) ([]*hub.Voucher, *string, error) {
		return s.svc.Vouchers(ctx, hub.VoucherFilter{
			BusinessID: biz(c), RedeemCode: c.Query("redeem_code"),
			CustomerID: c.Query("customer_id"), Status: c.Query("status"), Page: pg,
		})
	})
}

func (s *server) getVoucher(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixVoucher, "voucher"); ok {
		v, err := s.svc.Voucher(c.Request.Context(), biz(c), id)
		s.respond(c, http.StatusOK, v, err)
	}
}

// redeemByIDInput is the body of a redeem by id: no code.
type redeemByIDInput struct {
	LocationID  *string `json:"location_id"`
	RedeemedVia *string `json:"redeemed_via"`
}

func (s *server) redeemVoucher(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixVoucher, "voucher"); ok {
		withBody(s, c, http.StatusOK, func(ctx context.Context, in redeemByIDInput) (*hub.Voucher, error) {
			return s.svc.RedeemVoucher(ctx, principal(c), id, hub.RedeemInput{LocationID: in.LocationID, RedeemedVia: in.RedeemedVia})
		})
	}
}

func (s *server) redeemByCode(c *gin.Context) {
	withBody(s, c, http.StatusOK, func(ctx context.Context, in hub.RedeemInput) (*hub.Voucher, error) {
		return s.svc.RedeemVoucher(ctx, principal(c), "", in)
	})
}

func (s *server) listCustomers(c *gin.Context) {
	listing(s, c, func(ctx context.Context, pg hub.Page) ([]*hub.Customer, *string, error) {
		return s.svc.Customers(ctx, hub.CustomerFilter{BusinessID: biz(c), Email: c.Query("email"), Phone: c.Query("phone"), Page: pg})
	})
}

func (s *server) getCustomer(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixCustomer, "customer"); ok {
		cust, err := s.svc.CustomerWithContacts(c.Request.Context(), biz(c), id)
		s.respond(c, http.StatusOK, cust, err)
	}
}

func (s *server) patchCustomer(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixCustomer, "customer"); ok {
		withBody(s, c, http.StatusOK, func(ctx context.Context, in hub.CustomerPatch) (*hub.Customer, error) {
			return s.svc.UpdateCustomer(ctx, biz(c), id, in)
		})
	}
}

func (s *server) listEvents(c *gin.Context) {
	listing(s, c, func(ctx context.Context, pg hub.Page) ([]json.RawMessage, *string, error) {
		evs, next, err := s.svc.Events(ctx, hub.EventFilter{
			BusinessID: biz(c), Type: hub.EventType(c.Query("type")),
			CustomerID: c.Query("customer_id"), CardID: c.Query("card_id"), SinceID: c.Query("since_id"), Page: pg,
			Feed: true,
		})
		return payloads(evs), next, err
	})
}

func (s *server) getEvent(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixEvent, "event"); ok {
		e, err := s.svc.Event(c.Request.Context(), biz(c), id)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.Data(http.StatusOK, "application/json; charset=utf-8", e.Payload)
	}
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
