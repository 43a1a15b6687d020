package httpapi

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/7loc/hub/hub"
)

// earningPresence tells whether a card-template patch names earning at all
// (absent is 422; null restores one stamp per sale).
type earningPresence struct {
	Earning rawJSON `json:"earning"`
}

// rawJSON keeps a field's JSON, null included, so presence can be told
// from absence.
type rawJSON []byte

// UnmarshalJSON implements json.Unmarshaler.
func (r *rawJSON) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}

func (s *server) patchCardTemplate(c *gin.Context) {
	id, ok := s.idParam(c, "id", hub.PrefixCardTemplate, "card template")
	if !ok {
		return
	}
	var seen earningPresence
	if err := decodeJSON(c, &seen); err != nil {
		s.fail(c, err)
		return
	}
	if seen.Earning == nil {
		s.fail(c, hub.Problems{"earning": "is required (null restores one stamp per sale)"}.Err())
		return
	}
	withBody(s, c, http.StatusOK, func(ctx context.Context, in hub.CardTemplatePatch) (*hub.CardTemplate, error) {
		return s.svc.PatchCardTemplate(ctx, biz(c), id, in)
	})
}

func (s *server) recordSale(c *gin.Context) {
	var in hub.SaleInput
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	sale, created, err := s.svc.RecordSale(c.Request.Context(), principal(c), in)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	s.respond(c, status, sale, err)
}

func (s *server) listSales(c *gin.Context) {
	listing(s, c, func(ctx context.Context, pg hub.Page) ([]*hub.Sale, *string, error) {
		return s.svc.Sales(ctx, biz(c), c.Query("status"), pg)
	})
}

func (s *server) refundSale(c *gin.Context) {
	withBody(s, c, http.StatusOK, func(ctx context.Context, _ struct{}) (*hub.RefundResult, error) {
		return s.svc.RefundSale(ctx, principal(c), c.Param("source"), c.Param("order"))
	})
}

func (s *server) listPos(c *gin.Context) {
	views, err := s.svc.PosConnections(c.Request.Context(), biz(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"data": views})
}

func (s *server) getPos(c *gin.Context) {
	v, err := s.svc.PosConnectionView(c.Request.Context(), biz(c), c.Param("provider"))
	s.respond(c, http.StatusOK, v, err)
}

func (s *server) putPos(c *gin.Context) {
	withBody(s, c, http.StatusOK, func(ctx context.Context, in map[string]string) (*hub.PosView, error) {
		return s.svc.ConnectPos(ctx, biz(c), c.Param("provider"), in)
	})
}

// deletePos answers 204 also when the till was not connected.
func (s *server) deletePos(c *gin.Context) {
	if err := s.svc.DisconnectPos(c.Request.Context(), biz(c), c.Param("provider")); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *server) reconcilePos(c *gin.Context) {
	withBody(s, c, http.StatusOK, func(ctx context.Context, _ struct{}) (gin.H, error) {
		n, err := s.svc.ReconcileTill(ctx, biz(c), c.Param("provider"))
		return gin.H{"applied": n}, err
	})
}

// posterStateCookie carries the OAuth state across Poster's pages, in case
// Poster's redirect does not echo it.
const posterStateCookie = "hub_poster_state"

func (s *server) posterRedirectURI() string { return s.publicURL + "/pos/poster/callback" }

// posterConnect sends the business owner to Poster's authorization page.
func (s *server) posterConnect(c *gin.Context) {
	state := c.Query("state")
	to, err := s.svc.PosterAuthorizeURL(state, s.posterRedirectURI())
	if err != nil {
		s.fail(c, err)
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: posterStateCookie, Value: state, Path: "/pos/poster", MaxAge: 3600,
		HttpOnly: true, Secure: c.Request.TLS != nil || c.GetHeader("X-Forwarded-Proto") == "https", SameSite: http.SameSiteLaxMode})
	c.Redirect(http.StatusFound, to)
}

// posterCallback finishes connecting Poster and shows the owner the result.
func (s *server) posterCallback(c *gin.Context) {
	state := c.Query("state")
	if state == "" {
		if ck, err := c.Request.Cookie(posterStateCookie); err == nil {
			state = ck.Value
		}
	}
	_, err := s.svc.CompletePosterConnect(c.Request.Context(), state, c.Query("code"), c.Query("account"), s.posterRedirectURI())
	if err != nil {
		s.fail(c, err)
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: posterStateCookie, Path: "/pos/poster", MaxAge: -1})
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "text/html; charset=utf-8", unsubscribePage("Poster is connected",
		"Closed checks with a known customer now add stamps by themselves. You can close this page.", ""))
}

// tillWebhook takes a till's webhook: Poster and Syrve through their
// adapters, the generic till as a signed sale.
func (s *server) tillWebhook(c *gin.Context) {
	body, err := readBody(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	provider, businessID := c.Param("provider"), c.Param("business")
	if provider == "" {
		provider = hub.SourcePoster
	}
	if businessID != "" && !hub.ValidID(hub.PrefixBusiness, businessID) {
		s.fail(c, hub.NotFound("till connection"))
		return
	}
	call := hub.InboundCall{Header: c.GetHeader, Body: body}
	ctx := c.Request.Context()
	if provider != hub.SourceGeneric {
		if _, err := s.svc.TillWebhook(ctx, provider, businessID, call); err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "accept"})
		return
	}
	if err := s.svc.GenericTillSale(ctx, businessID, call); err != nil {
		s.fail(c, err)
		return
	}
	var in hub.SaleInput
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	if in.Source == "" {
		in.Source = hub.SourceGeneric
	}
	sale, created, err := s.svc.RecordSaleFor(ctx, businessID, in)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	s.respond(c, status, sale, err)
}
