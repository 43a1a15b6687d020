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
