package viber

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/7loc/hub/hub"
)

// SignatureHeader carries the hex HMAC-SHA256 of a callback's body, keyed
// with the bot's auth token.
const SignatureHeader = "X-Viber-Content-Signature"

// callback is a Viber callback; only the fields the hub uses.
type callback struct {
	Event        string      `json:"event"`
	Timestamp    int64       `json:"timestamp"`
	MessageToken json.Number `json:"message_token"`
	UserID       string      `json:"user_id"`
	Desc         string      `json:"desc"`
	Context      string      `json:"context"`
	User         *user       `json:"user"`
	Sender       *user       `json:"sender"`
}

type user struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Decode verifies a callback's signature and decodes its event:
// conversation_started with a context links the user, subscribed and
// unsubscribed change consent, message is InboundMessage and
// delivered/seen/failed report a message's status. A missing or wrong
// signature is an unauthorized error; a body that is not a callback is a
// validation error.
func (s *Sender) Decode(req hub.InboundRequest) ([]hub.Inbound, hub.InboundReply, error) {
	got, err := hex.DecodeString(http.Header(req.Header).Get(SignatureHeader))
	mac := hmac.New(sha256.New, []byte(s.token))
	mac.Write(req.Body)
	if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		return nil, hub.InboundReply{}, hub.Errorf(hub.EUnauthorized, "viber: missing or wrong %s", SignatureHeader)
	}
	var c callback
	if err := json.Unmarshal(req.Body, &c); err != nil || c.Event == "" {
		e := hub.Errorf(hub.EValidation, "viber: the body is not a callback")
		e.Err = err
		return nil, hub.InboundReply{}, e
	}
	return s.inbound(c), hub.InboundReply{}, nil
}

// inbound converts a callback; events the hub does not use yield nothing.
func (s *Sender) inbound(c callback) []hub.Inbound {
	in := hub.Inbound{Channel: hub.ChannelViber, At: s.at(c.Timestamp)}
	switch c.Event {
	case "conversation_started":
		if c.User == nil || c.Context == "" {
			return nil
		}
		in.Type, in.Address, in.Token, in.Name = hub.InboundLink, c.User.ID, c.Context, c.User.Name
	case "subscribed":
		if c.User == nil {
			return nil
		}
		in.Type, in.Address, in.Name = hub.InboundSubscribed, c.User.ID, c.User.Name
	case "unsubscribed":
		in.Type, in.Address = hub.InboundStop, c.UserID
	case "message":
		if c.Sender == nil {
			return nil
		}
		in.Type, in.Address, in.Name = hub.InboundMessage, c.Sender.ID, c.Sender.Name
	case "delivered", "seen", "failed":
		if c.MessageToken == "" {
			return nil
		}
		in.Type, in.Address, in.ProviderMessageID, in.Reason = hub.InboundStatus, c.UserID, c.MessageToken.String(), c.Desc
		in.Status = map[string]string{"delivered": hub.ProviderDelivered, "seen": hub.ProviderRead, "failed": hub.ProviderFailed}[c.Event]
	default: // webhook, client_status, action, …
		return nil
	}
	if in.Address == "" && in.Type != hub.InboundStatus {
		return nil
	}
	return []hub.Inbound{in}
}

func (s *Sender) at(ms int64) time.Time {
	if ms <= 0 {
		return s.now().UTC()
	}
	return time.UnixMilli(ms).UTC()
}
