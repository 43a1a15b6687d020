package gateway

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/7loc/hub/hub"
)

// Event is the body of one gateway callback (see the package doc).
type Event struct {
	Type       string `json:"type"`
	Channel    string `json:"channel,omitempty"`
	MessageID  string `json:"message_id,omitempty"`
	DeliveryID string `json:"delivery_id,omitempty"`
	Status     string `json:"status,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Address    string `json:"address,omitempty"`
	Token      string `json:"token,omitempty"`
	Name       string `json:"name,omitempty"`
	// At is RFC 3339; empty means the time of the call.
	At string `json:"at,omitempty"`
}

// statuses are the delivery statuses a status event may carry.
var statuses = []string{hub.ProviderSent, hub.ProviderDelivered, hub.ProviderRead, hub.ProviderFailed}

// Decode verifies and decodes one gateway callback. A missing, wrong or stale
// signature gives an unauthorized *hub.Error and decodes nothing; an
// unreadable or incomplete event a validation_failed one.
func (s *Sender) Decode(req hub.InboundRequest) ([]hub.Inbound, hub.InboundReply, error) {
	if req.Method != http.MethodPost {
		return nil, hub.InboundReply{}, hub.Errorf(hub.EValidation, "gateway: method %s not allowed", req.Method)
	}
	if err := Verify(req.Header, s.key, req.Body, s.now()); err != nil {
		e := hub.Errorf(hub.EUnauthorized, "gateway: bad callback signature")
		e.Err = err
		return nil, hub.InboundReply{}, e
	}
	var ev Event
	if err := json.Unmarshal(req.Body, &ev); err != nil {
		e := hub.Errorf(hub.EValidation, "gateway: unreadable callback body")
		e.Err = err
		return nil, hub.InboundReply{}, e
	}
	in, err := s.inbound(ev)
	if err != nil {
		return nil, hub.InboundReply{}, err
	}
	var out []hub.Inbound
	if in != nil {
		out = []hub.Inbound{*in}
	}
	return out, hub.InboundReply{}, nil
}

// inbound checks an event and converts it; unknown types give nil.
func (s *Sender) inbound(ev Event) (*hub.Inbound, error) {
	in := &hub.Inbound{Channel: ev.Channel, Address: ev.Address, Name: ev.Name}
	if ev.Channel != "" && !slices.Contains(messengers, ev.Channel) {
		return nil, hub.Errorf(hub.EValidation, "gateway: unknown channel %q", ev.Channel)
	}
	at := s.now().UTC()
	if ev.At != "" {
		t, err := time.Parse(time.RFC3339, ev.At)
		if err != nil {
			return nil, hub.Errorf(hub.EValidation, "gateway: at must be RFC 3339")
		}
		at = t.UTC()
	}
	in.At = at
	needAddress := func() error {
		if ev.Channel == "" || ev.Address == "" {
			return hub.Errorf(hub.EValidation, "gateway: a %s event needs channel and address", ev.Type)
		}
		return nil
	}
	switch ev.Type {
	case "status":
		in.Type = hub.InboundStatus
		in.ProviderMessageID, in.DeliveryID = ev.MessageID, ev.DeliveryID
		if in.ProviderMessageID == "" && in.DeliveryID == "" {
			return nil, hub.Errorf(hub.EValidation, "gateway: a status event needs message_id or delivery_id")
		}
		if !slices.Contains(statuses, ev.Status) {
			return nil, hub.Errorf(hub.EValidation, "gateway: unknown status %q", ev.Status)
		}
		in.Status, in.Reason = ev.Status, ev.Reason
	case "link":
		if err := needAddress(); err != nil {
			return nil, err
		}
		if ev.Token == "" {
			return nil, hub.Errorf(hub.EValidation, "gateway: a link event needs a token")
		}
		in.Type, in.Token = hub.InboundLink, ev.Token
	case "stop":
		in.Type = hub.InboundStop
	case "message":
		in.Type = hub.InboundMessage
	default:
		return nil, nil
	}
	if in.Type == hub.InboundStop || in.Type == hub.InboundMessage {
		if err := needAddress(); err != nil {
			return nil, err
		}
	}
	return in, nil
}
