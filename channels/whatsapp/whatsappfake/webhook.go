package whatsappfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/7loc/hub/hub"
)

// Inbound is a customer's text message for MessagesWebhook.
type Inbound struct {
	// From is the customer's number (E.164 or digits).
	From string
	// Name is the customer's profile name.
	Name string
	Text string
	// ID is the inbound wamid; "" makes one up.
	ID string
	// At is when the customer wrote; zero means now.
	At time.Time
}

// Status is a message status for StatusesWebhook.
type Status struct {
	// ID is the wamid of the business's message.
	ID string
	// Status is sent, delivered, read or failed.
	Status string
	// RecipientID is the customer's number (E.164 or digits).
	RecipientID string
	At          time.Time
	// ErrorCode and ErrorTitle describe a failure.
	ErrorCode  int
	ErrorTitle string
}

type (
	hookBody struct {
		Object string      `json:"object"`
		Entry  []hookEntry `json:"entry"`
	}
	hookEntry struct {
		ID      string       `json:"id"`
		Changes []hookChange `json:"changes"`
	}
	hookChange struct {
		Value map[string]any `json:"value"`
		Field string         `json:"field"`
	}
)

// MessagesWebhook returns the body of Meta's notification of inbound text
// messages to a phone number id.
func MessagesWebhook(phoneNumberID string, msgs ...Inbound) []byte {
	var contacts, messages []map[string]any
	for i, m := range msgs {
		from := digits(m.From)
		id := m.ID
		if id == "" {
			id = wamid(from, uint64(i+1))
		}
		contacts = append(contacts, map[string]any{"profile": map[string]string{"name": m.Name}, "wa_id": from})
		messages = append(messages, map[string]any{
			"from": from, "id": id, "timestamp": unix(m.At), "type": "text",
			"text": map[string]string{"body": m.Text},
		})
	}
	return hook(phoneNumberID, map[string]any{"contacts": contacts, "messages": messages})
}

// StatusesWebhook returns the body of Meta's notification of message statuses
// for a phone number id.
func StatusesWebhook(phoneNumberID string, sts ...Status) []byte {
	var statuses []map[string]any
	for _, st := range sts {
		rcpt := digits(st.RecipientID)
		v := map[string]any{"id": st.ID, "status": st.Status, "timestamp": unix(st.At), "recipient_id": rcpt}
		if st.Status != "failed" {
			v["conversation"] = map[string]any{"id": "conv-" + rcpt, "origin": map[string]string{"type": "marketing"}}
			v["pricing"] = map[string]any{"billable": true, "pricing_model": "PMP", "category": "marketing"}
		}
		if st.ErrorCode != 0 {
			v["errors"] = []map[string]any{{
				"code": st.ErrorCode, "title": st.ErrorTitle, "message": st.ErrorTitle,
				"error_data": map[string]string{"details": st.ErrorTitle},
			}}
		}
		statuses = append(statuses, v)
	}
	return hook(phoneNumberID, map[string]any{"statuses": statuses})
}

func hook(phoneNumberID string, value map[string]any) []byte {
	value["messaging_product"] = "whatsapp"
	value["metadata"] = map[string]string{"display_phone_number": DisplayPhoneNumber, "phone_number_id": phoneNumberID}
	b, err := json.Marshal(hookBody{Object: "whatsapp_business_account", Entry: []hookEntry{{
		ID: WABAID, Changes: []hookChange{{Value: value, Field: "messages"}},
	}}})
	if err != nil {
		panic(err)
	}
	return b
}

func unix(t time.Time) string {
	if t.IsZero() {
		t = time.Now()
	}
	return strconv.FormatInt(t.Unix(), 10)
}

// Sign returns Meta's X-Hub-Signature-256 value for a body.
func Sign(body []byte, appSecret string) string {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// WebhookRequest returns the POST Meta would make with body, signed with the
// server's app secret.
func (s *Server) WebhookRequest(body []byte) hub.InboundRequest {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Hub-Signature-256", Sign(body, s.cfg.AppSecret))
	return hub.InboundRequest{Method: http.MethodPost, Header: h, Query: url.Values{}, Body: body}
}

// CustomerMessage opens the customer's window at the fake and returns Meta's
// signed notification of the customer's text message.
func (s *Server) CustomerMessage(from, name, text string) hub.InboundRequest {
	s.OpenWindow(from)
	return s.WebhookRequest(MessagesWebhook(s.cfg.PhoneNumberID, Inbound{From: from, Name: name, Text: text, At: s.cfg.Now()}))
}

// StatusRequest returns Meta's signed notification of statuses of this
// server's phone number.
func (s *Server) StatusRequest(sts ...Status) hub.InboundRequest {
	return s.WebhookRequest(StatusesWebhook(s.cfg.PhoneNumberID, sts...))
}

// VerifyRequest returns Meta's subscription handshake GET with a verify token
// and a challenge.
func VerifyRequest(verifyToken, challenge string) hub.InboundRequest {
	return hub.InboundRequest{Method: http.MethodGet, Header: http.Header{}, Query: url.Values{
		"hub.mode": {"subscribe"}, "hub.verify_token": {verifyToken}, "hub.challenge": {challenge},
	}}
}

// PostWebhook posts body to the hub's webhook URL like Meta does (signed with
// the server's app secret) and returns the answer's status and body.
func (s *Server) PostWebhook(ctx context.Context, client *http.Client, webhookURL string, body []byte) (int, []byte, error) {
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header = s.WebhookRequest(body).Header
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("whatsappfake: post webhook: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}
