package viberfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/7loc/hub/hub"
)

// SignatureHeader is the header in which Viber signs a callback.
const SignatureHeader = "X-Viber-Content-Signature"

// Sign returns the signature Viber puts in X-Viber-Content-Signature: the
// hex HMAC-SHA256 of the body keyed with the bot's auth token.
func Sign(authToken string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(authToken))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// SignedRequest builds Viber's callback call for body, signed with authToken.
func SignedRequest(authToken string, body []byte) hub.InboundRequest {
	return hub.InboundRequest{
		Method: http.MethodPost,
		Header: http.Header{"Content-Type": {"application/json"}, SignatureHeader: {Sign(authToken, body)}},
		Body:   body,
	}
}

// User is a Viber user as callbacks describe one.
type User struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Avatar     string `json:"avatar,omitempty"`
	Country    string `json:"country,omitempty"`
	Language   string `json:"language,omitempty"`
	APIVersion int    `json:"api_version,omitempty"`
}

func newUser(id, name string) User {
	return User{ID: id, Name: name, Country: "UA", Language: "uk", APIVersion: 10}
}

func event(name string, at time.Time, fields map[string]any) []byte {
	m := map[string]any{"event": name, "timestamp": at.UnixMilli(), "chat_hostname": "SN-CALLBACK-01_",
		"message_token": FirstMessageToken - 1000 + at.UnixMilli()%1000}
	for k, v := range fields {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return b
}

// WebhookEvent is the callback Viber sends to check a new webhook.
func WebhookEvent(at time.Time) []byte { return event("webhook", at, nil) }

// ConversationStarted is the callback sent when a user opens the bot's
// chat, e.g. through a viber://pa?…&context=<context> link.
func ConversationStarted(userID, name, context string, at time.Time) []byte {
	f := map[string]any{"type": "open", "user": newUser(userID, name), "subscribed": false}
	if context != "" {
		f["context"] = context
	}
	return event("conversation_started", at, f)
}

// Subscribed is the callback sent when a user subscribes to the bot.
func Subscribed(userID, name string, at time.Time) []byte {
	return event("subscribed", at, map[string]any{"user": newUser(userID, name)})
}

// Unsubscribed is the callback sent when a user unsubscribes.
func Unsubscribed(userID string, at time.Time) []byte {
	return event("unsubscribed", at, map[string]any{"user_id": userID})
}

// Message is the callback carrying a user's text message to the bot.
func Message(userID, name, text string, at time.Time) []byte {
	return event("message", at, map[string]any{
		"sender":  newUser(userID, name),
		"message": map[string]any{"type": "text", "text": text},
	})
}

// Delivery is a delivered, seen or failed callback about the message
// messageToken (desc explains a failure).
func Delivery(eventName string, messageToken int64, userID, desc string, at time.Time) []byte {
	f := map[string]any{"message_token": messageToken, "user_id": userID}
	if desc != "" {
		f["desc"] = desc
	}
	return event(eventName, at, f)
}
