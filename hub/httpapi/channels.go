package httpapi

import (
	"context"
	"crypto/subtle"
	"html"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/7loc/hub/hub"
)

// PassBuilder writes a card's signed wallet pass (.pkpass).
type PassBuilder interface {
	BuildPass(ctx context.Context, pass *hub.PassContent, webServiceURL string) ([]byte, error)
}

func (s *server) listChannels(c *gin.Context) {
	views, err := s.svc.ChannelConfigs(c.Request.Context(), biz(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	respondList(c, views, nil)
}

func (s *server) getChannel(c *gin.Context) {
	v, err := s.svc.ChannelConfig(c.Request.Context(), biz(c), c.Param("provider"))
	s.respond(c, http.StatusOK, v, err)
}

func (s *server) putChannel(c *gin.Context) {
	withBody(s, c, http.StatusOK, func(ctx context.Context, in map[string]any) (*hub.ChannelConfigView, error) {
		return s.svc.PutChannelConfig(ctx, biz(c), c.Param("provider"), in)
	})
}

// registerChannelWebhook registers the channel's inbound_url with the
// provider (Telegram, Viber).
func (s *server) registerChannelWebhook(c *gin.Context) {
	withBody(s, c, http.StatusOK, func(ctx context.Context, _ struct{}) (*hub.WebhookRegistration, error) {
		return s.svc.RegisterChannelWebhook(ctx, biz(c), c.Param("provider"))
	})
}

// testChannel queues a test message through the provider to a customer; it
// answers 202 with the delivery, whose status shows the outcome.
func (s *server) testChannel(c *gin.Context) {
	withBody(s, c, http.StatusAccepted, func(ctx context.Context, in hub.ChannelTestInput) (*hub.Delivery, error) {
		return s.svc.TestChannel(ctx, &principal(c).Business, c.Param("provider"), in)
	})
}

func (s *server) createLink(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixCustomer, "customer"); ok {
		withBody(s, c, http.StatusCreated, func(ctx context.Context, _ struct{}) (*hub.Link, error) {
			return s.svc.CreateLink(ctx, biz(c), id, c.Param("channel"))
		})
	}
}

func (s *server) listDeliveries(c *gin.Context) {
	listing(s, c, func(ctx context.Context, pg hub.Page) ([]*hub.Delivery, *string, error) {
		return s.svc.Deliveries(ctx, hub.DeliveryFilter{BusinessID: biz(c), CustomerID: c.Query("customer_id"),
			Source: c.Query("source"), Page: pg})
	})
}

func (s *server) getDelivery(c *gin.Context) {
	if id, ok := s.idParam(c, "id", hub.PrefixDelivery, "delivery"); ok {
		d, err := s.svc.DeliveryByID(c.Request.Context(), biz(c), id)
		s.respond(c, http.StatusOK, d, err)
	}
}

// inbound takes a provider's call (webhook) for a business. Errors keep the
// envelope; a bad signature is 401 and changes nothing.
func (s *server) inbound(c *gin.Context) {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		s.fail(c, hub.Errorf(hub.EPayloadTooLarge, "the request body is too large"))
		return
	}
	businessID := c.Param("business")
	if !hub.ValidID(hub.PrefixBusiness, businessID) {
		s.fail(c, hub.NotFound("channel"))
		return
	}
	reply, err := s.svc.HandleInbound(c.Request.Context(), businessID, c.Param("provider"), hub.InboundRequest{
		Method: c.Request.Method, Header: c.Request.Header, Query: c.Request.URL.Query(), Body: body})
	if err != nil {
		s.fail(c, err)
		return
	}
	ct := reply.ContentType
	if ct == "" {
		ct = "text/plain; charset=utf-8"
	}
	c.Data(http.StatusOK, ct, reply.Body)
}

// --- email one-click unsubscribe (RFC 8058) ---

func unsubscribePage(title, body, form string) []byte {
	return []byte(`<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
		`<title>` + title + `</title><body style="font-family:system-ui;margin:3rem;max-width:32rem">` +
		`<h1>` + title + `</h1><p>` + body + `</p>` + form + `</body></html>`)
}

// unsubscribeForm shows a confirmation button: a GET never unsubscribes,
// because mail scanners open links.
func (s *server) unsubscribeForm(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Referrer-Policy", "no-referrer")
	token := html.EscapeString(c.Param("token"))
	c.Data(http.StatusOK, "text/html; charset=utf-8", unsubscribePage("Unsubscribe",
		"Stop receiving emails from this shop?",
		`<form method="post" action="/u/`+token+`"><button type="submit" name="List-Unsubscribe" value="One-Click">Unsubscribe</button></form>`))
}

// unsubscribe opts the customer out: the mail client's one-click POST or
// the form's button.
func (s *server) unsubscribe(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	if err := s.svc.Unsubscribe(c.Request.Context(), c.Param("token")); err != nil {
		if hub.ErrorCode(err) == hub.ENotFound {
			c.Data(http.StatusNotFound, "text/html; charset=utf-8", unsubscribePage("Link not valid",
				"This unsubscribe link is not valid.", ""))
			return
		}
		s.fail(c, err)
		return
	}
	c.Data(http.StatusOK, "text/html; charset=utf-8", unsubscribePage("You are unsubscribed",
		"You will not receive emails from this shop any more.", ""))
}

// --- the wallet-pass web service (Apple Wallet) ---

func passRequest(c *gin.Context) hub.PassRequest {
	token := ""
	if scheme, t, ok := strings.Cut(c.GetHeader("Authorization"), " "); ok && scheme == "ApplePass" {
		token = strings.TrimSpace(t)
	}
	return hub.PassRequest{DeviceID: c.Param("device"), PassTypeID: c.Param("passtype"), Serial: c.Param("serial"),
		AuthToken: token}
}

// passFail answers the web service's way: the status of the error (from
// the one table, statusOf), no body; Apple's protocol says 400, not 422, for
// a request it cannot use.
func (s *server) passFail(c *gin.Context, err error) {
	code := hub.ErrorCode(err)
	status, ok := statusOf[code]
	if code == hub.EValidation {
		status = http.StatusBadRequest
	}
	if !ok || status == http.StatusInternalServerError {
		status = http.StatusInternalServerError
		s.log.ErrorContext(c.Request.Context(), "pass web service failed", "path", c.FullPath(), "err", err)
	}
	c.Status(status)
}

func (s *server) registerPass(c *gin.Context) {
	var in struct {
		PushToken string `json:"pushToken"`
	}
	body, err := io.ReadAll(c.Request.Body)
	if err == nil {
		err = decodeLoose(body, &in)
	}
	if err != nil {
		s.passFail(c, hub.Errorf(hub.EValidation, "the body must be {\"pushToken\": …}"))
		return
	}
	created, err := s.svc.RegisterPass(c.Request.Context(), passRequest(c), in.PushToken)
	if err != nil {
		s.passFail(c, err)
		return
	}
	if created {
		c.Status(http.StatusCreated)
		return
	}
	c.Status(http.StatusOK)
}

func (s *server) unregisterPass(c *gin.Context) {
	if err := s.svc.UnregisterPass(c.Request.Context(), passRequest(c)); err != nil {
		s.passFail(c, err)
		return
	}
	c.Status(http.StatusOK)
}

func (s *server) updatedPasses(c *gin.Context) {
	serials, last, err := s.svc.UpdatedPasses(c.Request.Context(), c.Param("device"), c.Param("passtype"),
		c.Query("passesUpdatedSince"))
	if err != nil {
		s.passFail(c, err)
		return
	}
	if len(serials) == 0 {
		c.Status(http.StatusNoContent)
		return
	}
	c.JSON(http.StatusOK, gin.H{"serialNumbers": serials, "lastUpdated": last})
}

func (s *server) latestPass(c *gin.Context) {
	pass, err := s.svc.Pass(c.Request.Context(), passRequest(c))
	if err != nil {
		s.passFail(c, err)
		return
	}
	modified := pass.UpdatedAt.UTC().Truncate(1e9)
	if ims, err := http.ParseTime(c.GetHeader("If-Modified-Since")); err == nil && !modified.After(ims) {
		c.Status(http.StatusNotModified)
		return
	}
	if s.passes == nil {
		s.passFail(c, hub.NotFound("pass"))
		return
	}
	data, err := s.passes.BuildPass(c.Request.Context(), pass, s.publicURL+"/passkit")
	if err != nil {
		s.passFail(c, err)
		return
	}
	c.Header("Last-Modified", modified.Format(http.TimeFormat))
	c.Data(http.StatusOK, "application/vnd.apple.pkpass", data)
}

// passLog takes the devices' error logs into ours.
func (s *server) passLog(c *gin.Context) {
	var in struct {
		Logs []string `json:"logs"`
	}
	body, _ := io.ReadAll(c.Request.Body)
	if err := decodeLoose(body, &in); err == nil {
		for i, l := range in.Logs {
			if i == 20 {
				break
			}
			if len(l) > 500 {
				l = l[:500]
			}
			s.log.WarnContext(c.Request.Context(), "wallet pass log", "message", l)
		}
	}
	c.Status(http.StatusOK)
}

// googleSaved takes Google Wallet's save callback, authenticated by the
// callback token in the URL the hub registered with Google.
func (s *server) googleSaved(c *gin.Context) {
	// Google posts {"signedMessage": "<JSON>", "signature": …}; the fields
	// are inside the signed message.
	var envelope struct {
		SignedMessage string `json:"signedMessage"`
	}
	var in struct {
		ObjectID  string `json:"objectId"`
		EventType string `json:"eventType"`
	}
	body, _ := io.ReadAll(c.Request.Body)
	err := decodeLoose(body, &envelope)
	if err == nil {
		err = decodeLoose([]byte(envelope.SignedMessage), &in)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	businessID := c.Param("business")
	want := s.svc.GoogleCallbackToken(businessID)
	if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(c.Query("token"))) != 1 {
		s.fail(c, hub.Errorf(hub.EUnauthorized, "the callback token is not valid"))
		return
	}
	if in.EventType != "save" {
		c.Status(http.StatusOK)
		return
	}
	_, cardID, _ := strings.Cut(in.ObjectID, ".")
	if err := s.svc.GoogleWalletSaved(c.Request.Context(), businessID, cardID); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusOK)
}

// cardPageLink follows a card page's "connect a messenger" button: a fresh
// one-time link token, then a redirect to the messenger.
func (s *server) cardPageLink(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Referrer-Policy", "no-referrer")
	u, err := s.svc.CardPageLink(c.Request.Context(), c.Param("id"), c.Query("t"), c.Param("channel"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusFound, u)
}
