package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/7loc/hub/hub"
)

func (s *server) getSettings(c *gin.Context) {
	st, err := s.svc.Settings(c.Request.Context(), biz(c))
	s.respond(c, http.StatusOK, st, err)
}

func (s *server) patchSettings(c *gin.Context) {
	withBody(s, c, http.StatusOK, func(ctx context.Context, in json.RawMessage) (*hub.Settings, error) {
		return s.svc.UpdateSettings(ctx, biz(c), in)
	})
}

func (s *server) createMessageTemplate(c *gin.Context) {
	withBody(s, c, http.StatusCreated, func(ctx context.Context, in hub.MessageTemplateInput) (*hub.MessageTemplate, error) {
		return s.svc.CreateMessageTemplate(ctx, biz(c), in)
	})
}

func (s *server) listMessageTemplates(c *gin.Context) {
	listing(s, c, func(ctx context.Context, pg hub.Page) ([]*hub.MessageTemplate, *string, error) {
		return s.svc.MessageTemplates(ctx, biz(c), pg)
	})
}

func (s *server) getMessageTemplate(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixMessageTemplate, "message template"); ok {
		t, err := s.svc.MessageTemplateByID(c.Request.Context(), biz(c), id)
		s.respond(c, http.StatusOK, t, err)
	}
}

func (s *server) patchMessageTemplate(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixMessageTemplate, "message template"); ok {
		withBody(s, c, http.StatusOK, func(ctx context.Context, in hub.MessageTemplateInput) (*hub.MessageTemplate, error) {
			return s.svc.UpdateMessageTemplate(ctx, biz(c), id, in)
		})
	}
}

// deleteMessageTemplate answers 204 also when the template is already gone.
func (s *server) deleteMessageTemplate(c *gin.Context) {
	if id := c.Param("id"); hub.ValidID(hub.PrefixMessageTemplate, id) {
		if err := s.svc.DeleteMessageTemplate(c.Request.Context(), biz(c), id); err != nil {
			s.fail(c, err)
			return
		}
	}
	c.Status(http.StatusNoContent)
}

func (s *server) previewMessageTemplate(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixMessageTemplate, "message template"); ok {
		withBody(s, c, http.StatusOK, func(ctx context.Context, in hub.PreviewInput) (*hub.Rendered, error) {
			return s.svc.PreviewMessageTemplate(ctx, biz(c), id, in)
		})
	}
}

func (s *server) sendMessage(c *gin.Context) {
	withBody(s, c, http.StatusAccepted, func(ctx context.Context, in hub.MessageInput) (*hub.Delivery, error) {
		return s.svc.SendMessage(ctx, biz(c), in)
	})
}

func (s *server) previewAudience(c *gin.Context) {
	withBody(s, c, http.StatusOK, func(ctx context.Context, in hub.AudiencePreviewInput) (*hub.AudiencePreview, error) {
		return s.svc.PreviewAudience(ctx, biz(c), in)
	})
}

func (s *server) createCampaign(c *gin.Context) {
	withBody(s, c, http.StatusCreated, func(ctx context.Context, in hub.CampaignInput) (*hub.Campaign, error) {
		return s.svc.CreateCampaign(ctx, biz(c), in)
	})
}

func (s *server) listCampaigns(c *gin.Context) {
	listing(s, c, func(ctx context.Context, pg hub.Page) ([]*hub.Campaign, *string, error) {
		return s.svc.Campaigns(ctx, biz(c), pg)
	})
}

func (s *server) getCampaign(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixCampaign, "campaign"); ok {
		cmp, err := s.svc.CampaignByID(c.Request.Context(), biz(c), id)
		s.respond(c, http.StatusOK, cmp, err)
	}
}

func (s *server) patchCampaign(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixCampaign, "campaign"); ok {
		withBody(s, c, http.StatusOK, func(ctx context.Context, in hub.CampaignInput) (*hub.Campaign, error) {
			return s.svc.UpdateCampaign(ctx, biz(c), id, in)
		})
	}
}

// campaignAction runs send, pause, resume or cancel; send answers 202.
func campaignAction(status int, act func(svc *hub.Service, ctx context.Context, b, id string) (*hub.Campaign, error)) func(*server, *gin.Context) {
	return func(s *server, c *gin.Context) {
		if id, ok := s.idParam(c, "id", hub.PrefixCampaign, "campaign"); ok {
			withBody(s, c, status, func(ctx context.Context, _ struct{}) (*hub.Campaign, error) {
				return act(s.svc, ctx, biz(c), id)
			})
		}
	}
}

func (s *server) campaignRecipients(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixCampaign, "campaign"); ok {
		listing(s, c, func(ctx context.Context, pg hub.Page) ([]*hub.Recipient, *string, error) {
			return s.svc.CampaignRecipients(ctx, biz(c), id, c.Query("status"), pg)
		})
	}
}

func (s *server) createAutomation(c *gin.Context) {
	withBody(s, c, http.StatusCreated, func(ctx context.Context, in hub.AutomationInput) (*hub.Automation, error) {
		return s.svc.CreateAutomation(ctx, biz(c), in)
	})
}

func (s *server) listAutomations(c *gin.Context) {
	listing(s, c, func(ctx context.Context, pg hub.Page) ([]*hub.Automation, *string, error) {
		return s.svc.Automations(ctx, biz(c), pg)
	})
}

func (s *server) getAutomation(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixAutomation, "automation"); ok {
		a, err := s.svc.AutomationByID(c.Request.Context(), biz(c), id)
		s.respond(c, http.StatusOK, a, err)
	}
}

func (s *server) patchAutomation(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixAutomation, "automation"); ok {
		withBody(s, c, http.StatusOK, func(ctx context.Context, in hub.AutomationInput) (*hub.Automation, error) {
			return s.svc.UpdateAutomation(ctx, biz(c), id, in)
		})
	}
}

// deleteAutomation answers 204 also when the automation is already gone.
func (s *server) deleteAutomation(c *gin.Context) {
	if id := c.Param("id"); hub.ValidID(hub.PrefixAutomation, id) {
		if err := s.svc.DeleteAutomation(c.Request.Context(), biz(c), id); err != nil {
			s.fail(c, err)
			return
		}
	}
	c.Status(http.StatusNoContent)
}

// runSweep runs one sweep now (operator).
func (s *server) runSweep(c *gin.Context) {
	withBody(s, c, http.StatusOK, func(ctx context.Context, in hub.SweepRunInput) (*hub.SweepResult, error) {
		return s.svc.RunSweep(ctx, c.Param("kind"), in)
	})
}
