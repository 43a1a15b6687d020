package whatsapp

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
)

// SignatureHeader carries Meta's signature of a webhook POST.
const SignatureHeader = "X-Hub-Signature-256"

// Wire types of Meta's webhook notifications.
type (
	webhook struct {
		Object string         `json:"object"`
		Entry  []webhookEntry `json:"entry"`
	}
	webhookEntry struct {
		ID      string          `json:"id"`
		Changes []webhookChange `json:"changes"`
	}
	webhookChange struct {
		Field string       `json:"field"`
		Value webhookValue `json:"value"`
	}
	webhookValue struct {
		MessagingProduct string `json:"messaging_product"`
		Metadata         struct {
			DisplayPhoneNumber string `json:"display_phone_number"`
			PhoneNumberID      string `json:"phone_number_id"`
		} `json:"metadata"`
		Contacts []struct {
			Profile struct {
				Name string `json:"name"`
			} `json:"profile"`
			WaID string `json:"wa_id"`
		} `json:"contacts"`
		Messages []struct {
			From      string `json:"from"`
			ID        string `json:"id"`
			Timestamp string `json:"timestamp"`
			Type      string `json:"type"`
		} `json:"messages"`
		Statuses []struct {
			ID          string `json:"id"`
			Status      string `json:"status"`
			Timestamp   string `json:"timestamp"`
			RecipientID string `json:"recipient_id"`
			Errors      []struct {
				Code  int    `json:"code"`
				Title string `json:"title"`
			} `json:"errors"`
		} `json:"statuses"`
	}
)

// providerStatus maps Meta's statuses to the hub's; others are ignored.
var providerStatus = map[string]string{
	"sent":      hub.ProviderSent,
	"delivered": hub.ProviderDelivered,
	"read":      hub.ProviderRead,
	"failed":    hub.ProviderFailed,
}

// Decode checks and decodes one of Meta's calls to the webhook: the GET
// verification handshake (the reply echoes hub.challenge) or a signed POST
// notification. A wrong verify token or a bad or missing signature gives an
// unauthorized *hub.Error and decodes nothing; an unreadable body gives a
// validation_failed one.
func (s *Sender) Decode(req hub.InboundRequest) ([]hub.Inbound, hub.InboundReply, error) {
	switch req.Method {
	case http.MethodGet:
		return s.verify(req)
	case http.MethodPost:
	default:
		return nil, hub.InboundReply{}, hub.Errorf(hub.EValidation, "whatsapp: method %s not allowed", req.Method)
	}
	if !s.signed(http.Header(req.Header).Get(SignatureHeader), req.Body) {
		return nil, hub.InboundReply{}, hub.Errorf(hub.EUnauthorized, "whatsapp: bad or missing %s", SignatureHeader)
	}
	var w webhook
	if err := json.Unmarshal(req.Body, &w); err != nil {
		e := hub.Errorf(hub.EValidation, "whatsapp: unreadable webhook body")
		e.Err = err
		return nil, hub.InboundReply{}, e
	}
	if w.Object != "whatsapp_business_account" {
		return nil, hub.InboundReply{}, hub.Errorf(hub.EValidation, "whatsapp: webhook object %q", w.Object)
	}
	var out []hub.Inbound
	for _, e := range w.Entry {
		for _, c := range e.Changes {
			if c.Field != "messages" || c.Value.Metadata.PhoneNumberID != s.pnid {
				continue
			}
			evs, err := s.decodeValue(&c.Value)
			if err != nil {
				return nil, hub.InboundReply{}, err
			}
			out = append(out, evs...)
		}
	}
	return out, hub.InboundReply{}, nil
}

// verify answers the subscription handshake.
func (s *Sender) verify(req hub.InboundRequest) ([]hub.Inbound, hub.InboundReply, error) {
	token := req.Query.Get("hub.verify_token")
	if subtle.ConstantTimeCompare([]byte(token), []byte(s.verifyToken)) != 1 {
		return nil, hub.InboundReply{}, hub.Errorf(hub.EUnauthorized, "whatsapp: wrong verify token")
	}
	if req.Query.Get("hub.mode") != "subscribe" {
		return nil, hub.InboundReply{}, hub.Errorf(hub.EValidation, "whatsapp: hub.mode must be subscribe")
	}
	return nil, hub.InboundReply{
		ContentType: "text/plain; charset=utf-8",
		Body:        []byte(req.Query.Get("hub.challenge")),
	}, nil
}

// signed reports whether header is "sha256=" + hex HMAC-SHA256(body, app_secret).
func (s *Sender) signed(header string, body []byte) bool {
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, s.appSecret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// decodeValue turns one change's messages and statuses into events.
func (s *Sender) decodeValue(v *webhookValue) ([]hub.Inbound, error) {
	var out []hub.Inbound
	names := map[string]string{}
	for _, c := range v.Contacts {
		names[c.WaID] = c.Profile.Name
	}
	for _, m := range v.Messages {
		if m.Type == "system" {
			continue
		}
		if _, ok := waID("+" + m.From); !ok {
			return nil, hub.Errorf(hub.EValidation, "whatsapp: message from %q is not a phone number", m.From)
		}
		at, err := s.unixTime(m.Timestamp)
		if err != nil {
			return nil, err
		}
		out = append(out, hub.Inbound{Type: hub.InboundMessage, Channel: hub.ChannelWhatsApp,
			Address: "+" + m.From, Name: names[m.From], ProviderMessageID: m.ID, At: at})
	}
	for _, st := range v.Statuses {
		status, ok := providerStatus[st.Status]
		if !ok {
			continue
		}
		if st.ID == "" {
			return nil, hub.Errorf(hub.EValidation, "whatsapp: status without a message id")
		}
		at, err := s.unixTime(st.Timestamp)
		if err != nil {
			return nil, err
		}
		ev := hub.Inbound{Type: hub.InboundStatus, Channel: hub.ChannelWhatsApp, ProviderMessageID: st.ID,
			Status: status, At: at}
		if st.RecipientID != "" {
			ev.Address = "+" + st.RecipientID
		}
		if status == hub.ProviderFailed {
			var reasons []string
			for _, e := range st.Errors {
				reasons = append(reasons, strings.TrimSpace(fmt.Sprintf("%d %s", e.Code, e.Title)))
			}
			ev.Reason = strings.Join(reasons, "; ")
		}
		out = append(out, ev)
	}
	return out, nil
}

// unixTime parses Meta's timestamps (unix seconds as a string); empty means now.
func (s *Sender) unixTime(v string) (time.Time, error) {
	if v == "" {
		return s.now().UTC(), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > 1<<40 {
		return time.Time{}, hub.Errorf(hub.EValidation, "whatsapp: bad timestamp %q", v)
	}
	return time.Unix(n, 0).UTC(), nil
}
