package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/7loc/hub/hub"
)

func (s *server) createHook(c *gin.Context) {
	var in hub.HookInput
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	h, created, err := s.svc.CreateHook(c.Request.Context(), biz(c), in)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	s.respond(c, status, h, err)
}

func (s *server) listHooks(c *gin.Context) {
	listing(s, c, func(ctx context.Context, pg hub.Page) ([]*hub.Hook, *string, error) {
		return s.svc.Hooks(ctx, biz(c), pg)
	})
}

func (s *server) getHook(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixHook, "hook"); ok {
		h, err := s.svc.Hook(c.Request.Context(), biz(c), id)
		s.respond(c, http.StatusOK, h, err)
	}
}

// deleteHook answers 204 also when the hook is already gone (or never was).
func (s *server) deleteHook(c *gin.Context) {
	id := c.Param("id")
	if hub.ValidID(hub.PrefixHook, id) {
		if err := s.svc.DeleteHook(c.Request.Context(), biz(c), id); err != nil {
			s.fail(c, err)
			return
		}
	}
	c.Status(http.StatusNoContent)
}

func (s *server) deleteHooksByTarget(c *gin.Context) {
	if err := s.svc.DeleteHooksByTarget(c.Request.Context(), biz(c), c.Query("target_url")); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *server) hookDeliveries(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixHook, "hook"); ok {
		listing(s, c, func(ctx context.Context, pg hub.Page) ([]*hub.DeliveryAttempt, *string, error) {
			return s.svc.HookDeliveries(ctx, biz(c), id, pg)
		})
	}
}

func (s *server) rotateHookSecret(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixHook, "hook"); ok {
		withBody(s, c, http.StatusOK, func(ctx context.Context, _ struct{}) (*hub.Hook, error) {
			return s.svc.RotateHookSecret(ctx, biz(c), id)
		})
	}
}

func (s *server) enableHook(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixHook, "hook"); ok {
		withBody(s, c, http.StatusOK, func(ctx context.Context, _ struct{}) (*hub.Hook, error) {
			return s.svc.EnableHook(ctx, biz(c), id)
		})
	}
}

// redeliverInput is the body of a redelivery; it may be left out.
type redeliverInput struct {
	HookID *string `json:"hook_id"`
}

func (s *server) redeliver(c *gin.Context) {
	id, ok := s.idParam(c, "id", hub.PrefixEvent, "event")
	if !ok {
		return
	}
	var in redeliverInput
	if err := decodeJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	if err := s.svc.Redeliver(c.Request.Context(), biz(c), id, in.HookID); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusAccepted)
}

func (s *server) eventSamples(c *gin.Context) {
	t := c.Query("type")
	if t != "" && !hub.ValidEventType(t) {
		s.fail(c, hub.Problems{"type": "must be one of the event names"}.Err())
		return
	}
	samples := hub.SampleEvents(biz(c), hub.EventType(t))
	out := make([]json.RawMessage, len(samples))
	for i := range samples {
		out[i] = samples[i].Payload
	}
	respondList(c, out, nil)
}
