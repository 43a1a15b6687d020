package walletpush

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
)

// Google callback event types.
const (
	// GoogleEventSave: the user saved the pass to Google Wallet.
	GoogleEventSave = "save"
	// GoogleEventDelete: the user removed it.
	GoogleEventDelete = "del"
)

// maxCallbackBody bounds a callback body.
const maxCallbackBody = 64 << 10

// GoogleCallback is one save/delete callback of Google Wallet.
//
// Google signs callbacks with its ECv2SigningOnly protocol (an intermediate
// key signed by Google's root keys, which must be fetched from Google);
// DecodeGoogleCallback does NOT verify that signature, it only parses and
// checks the shape. Treat a callback as a hint: e.g. confirm a "save" by
// sending to the object (a 404 means it was never saved).
type GoogleCallback struct {
	ClassID  string
	ObjectID string
	// EventType is GoogleEventSave or GoogleEventDelete.
	EventType string
	// ExpiresAt is when the callback message expires (expTimeMillis).
	ExpiresAt time.Time
	// Nonce identifies the callback, for deduplication.
	Nonce string
	// ProtocolVersion of the envelope ("ECv2SigningOnly"; "" if unsigned).
	ProtocolVersion string
}

// CardID returns the card id of the object ("<issuer>.<card>" → "<card>").
func (c GoogleCallback) CardID() string {
	_, card, _ := strings.Cut(c.ObjectID, ".")
	return card
}

// Expired reports whether the callback expired at now.
func (c GoogleCallback) Expired(now time.Time) bool {
	return !c.ExpiresAt.IsZero() && now.After(c.ExpiresAt)
}

// millis is a JSON number or a string of digits.
type millis int64

func (m *millis) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return err
	}
	*m = millis(n)
	return nil
}

type callbackMessage struct {
	ClassID       string `json:"classId"`
	ObjectID      string `json:"objectId"`
	ExpTimeMillis millis `json:"expTimeMillis"`
	EventType     string `json:"eventType"`
	Nonce         string `json:"nonce"`
}

type callbackEnvelope struct {
	Signature       string  `json:"signature"`
	ProtocolVersion string  `json:"protocolVersion"`
	SignedMessage   *string `json:"signedMessage"`
}

// DecodeGoogleCallback parses a Google Wallet callback body: the signed
// envelope {"signature", "intermediateSigningKey", "protocolVersion",
// "signedMessage": "<JSON>"} or the bare message {"classId", "objectId",
// "expTimeMillis", "eventType", "nonce"}. It checks the shape (ids, event
// type "save" or "del", nonce) and returns a hub validation error otherwise.
// The signature is not verified (see GoogleCallback).
func DecodeGoogleCallback(body []byte) (GoogleCallback, error) {
	if len(body) > maxCallbackBody {
		return GoogleCallback{}, hub.Errorf(hub.EValidation, "walletpush: callback body too large")
	}
	var env callbackEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return GoogleCallback{}, hub.Errorf(hub.EValidation, "walletpush: callback is not JSON")
	}
	msgJSON := body
	if env.SignedMessage != nil {
		msgJSON = []byte(*env.SignedMessage)
	}
	var msg callbackMessage
	if err := json.Unmarshal(msgJSON, &msg); err != nil {
		return GoogleCallback{}, hub.Errorf(hub.EValidation, "walletpush: callback message is not valid")
	}
	p := hub.Problems{}
	if !validObjectID(msg.ClassID) || !strings.Contains(msg.ClassID, ".") {
		p.Add("classId", "must be <issuer>.<class>")
	}
	issuer, card, ok := strings.Cut(msg.ObjectID, ".")
	if !ok || !allDigits(issuer) || card == "" || !validObjectID(msg.ObjectID) {
		p.Add("objectId", "must be <issuer>.<card>")
	}
	if ci, _, _ := strings.Cut(msg.ClassID, "."); ok && ci != issuer {
		p.Add("classId", "is of another issuer than objectId")
	}
	if msg.EventType != GoogleEventSave && msg.EventType != GoogleEventDelete {
		p.Add("eventType", `must be "save" or "del"`)
	}
	if msg.Nonce == "" || len(msg.Nonce) > 256 {
		p.Add("nonce", "is required")
	}
	if msg.ExpTimeMillis < 0 {
		p.Add("expTimeMillis", "must not be negative")
	}
	if err := p.Err(); err != nil {
		return GoogleCallback{}, err
	}
	c := GoogleCallback{
		ClassID: msg.ClassID, ObjectID: msg.ObjectID, EventType: msg.EventType,
		Nonce: msg.Nonce, ProtocolVersion: env.ProtocolVersion,
	}
	if msg.ExpTimeMillis > 0 {
		c.ExpiresAt = time.UnixMilli(int64(msg.ExpTimeMillis)).UTC()
	}
	return c, nil
}
