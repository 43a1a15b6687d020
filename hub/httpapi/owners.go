package httpapi

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/7loc/hub/hub"
)

// inviteOwner answers POST /admin/v1/businesses/:b/owners with a one-time
// invitation link to the console.
func (s *server) inviteOwner(c *gin.Context) {
	s.forBusiness(c, func(b string) {
		withBody(s, c, http.StatusCreated, func(ctx context.Context, in hub.OwnerInput) (*hub.Invitation, error) {
			return s.svc.InviteOwner(ctx, b, in)
		})
	})
}
