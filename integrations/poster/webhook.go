package poster

import (
	"bytes"
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Webhook is one Poster webhook call (en/web/webhooks.md).
type Webhook struct {
	// Account is the account login ("api-demo"); AccountNumber its number
	// (not signed by Poster).
	Account       string
	AccountNumber string
	// Object is the entity ("transaction", "client", "application", …).
	Object string
	// ObjectID is the entity's id as text, whether it came as a number or a
	// string.
	ObjectID string
	// Action is added, changed, removed, transformed, or closed (seen on
	// transactions in the field, not in the docs).
	Action string
	// Time is the sending time, a Unix timestamp in seconds, as sent.
	Time string
	// Verify is the signature as sent.
	Verify string
	// Data is the extra data in the signed string form: the JSON string's
	// value when data came as a string (Poster's usual form), else the raw
	// JSON text. HasData is false when data was absent or null.
	Data    string
	HasData bool
}

// SentAt returns Time as a time; ok is false when it is not a timestamp.
func (w *Webhook) SentAt() (time.Time, bool) { return parseTimestamp(w.Time) }

// webhookBody is the wire form; every field is kept raw so the signature is
// computed over exactly what was sent.
type webhookBody struct {
	Account       json.RawMessage `json:"account"`
	AccountNumber json.RawMessage `json:"account_number"`
	Object        json.RawMessage `json:"object"`
	ObjectID      json.RawMessage `json:"object_id"`
	Action        json.RawMessage `json:"action"`
	Time          json.RawMessage `json:"time"`
	Verify        json.RawMessage `json:"verify"`
	Data          json.RawMessage `json:"data"`
}

// ParseWebhook decodes a webhook body and checks its signature against the
// application secret: verify must equal md5(implode(";", [account, object,
// object_id, action, data (only when present), time, secret])), as Poster's
// reference PHP computes it (see the package doc for how each field becomes
// text). A missing or wrong verify is ErrBadSignature; a body that is not a
// JSON object with account, object, object_id, action and time is
// ErrMalformedWebhook. A replayed body stays valid: deduplication is the
// caller's job.
func ParseWebhook(body []byte, appSecret string) (*Webhook, error) {
	var b webhookBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedWebhook, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", ErrMalformedWebhook)
	}
	w := &Webhook{}
	fields := []struct {
		raw  json.RawMessage
		dst  *string
		name string
	}{
		{b.Account, &w.Account, "account"}, {b.AccountNumber, &w.AccountNumber, "account_number"},
		{b.Object, &w.Object, "object"}, {b.ObjectID, &w.ObjectID, "object_id"},
		{b.Action, &w.Action, "action"}, {b.Time, &w.Time, "time"},
	}
	for _, f := range fields {
		s, err := phpText(f.raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrMalformedWebhook, f.name, err)
		}
		*f.dst = s
	}
	var verify string
	if len(b.Verify) > 0 && json.Unmarshal(b.Verify, &verify) != nil {
		return nil, ErrBadSignature
	}
	w.Verify = verify
	if d := bytes.TrimSpace(b.Data); len(d) > 0 && string(d) != "null" {
		s, err := phpText(d)
		if err != nil {
			return nil, fmt.Errorf("%w: data: %v", ErrMalformedWebhook, err)
		}
		w.Data, w.HasData = s, true
	}
	if appSecret == "" || verify == "" {
		return nil, ErrBadSignature
	}
	want := Signature(w, appSecret)
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(verify)), []byte(want)) != 1 {
		return nil, ErrBadSignature
	}
	for _, f := range fields {
		if f.name != "account_number" && *f.dst == "" {
			return nil, fmt.Errorf("%w: %s is missing", ErrMalformedWebhook, f.name)
		}
	}
	return w, nil
}

// Signature returns the hex md5 Poster puts in verify for w's fields.
func Signature(w *Webhook, appSecret string) string {
	parts := []string{w.Account, w.Object, w.ObjectID, w.Action}
	if w.HasData {
		parts = append(parts, w.Data)
	}
	parts = append(parts, w.Time, appSecret)
	sum := md5.Sum([]byte(strings.Join(parts, ";")))
	return hex.EncodeToString(sum[:])
}

// phpText returns the text PHP's implode gives a json_decode'd value: a
// string's value, a number's literal text, "1"/"" for true/false and "" for
// null or absence. Objects and arrays (which PHP would render "Array") are
// kept as their raw JSON text, our best guess at what the sender signed.
func phpText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", nil
	}
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case 'n':
		return "", nil
	case 't':
		return "1", nil
	case 'f':
		return "", nil
	case '{', '[':
		return string(raw), nil
	default:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", err
		}
		return n.String(), nil
	}
}

// Webhook objects and actions the hub acts on.
const (
	ObjectTransaction    = "transaction"
	ObjectClientPayedSum = "client_payed_sum"
	ObjectApplication    = "application"
	ActionClosed         = "closed"
	ActionChanged        = "changed"
	ActionAdded          = "added"
	ActionRemoved        = "removed"
)

// ClosedCheck returns the id of the transaction to fetch when w may announce
// a closed check: object "transaction" with action "closed", or with action
// "changed" unless its data shows another edit (a transactions_history entry
// whose type_history is not "close"). The fetched transaction's status
// decides (only 2 makes a sale). client_payed_sum is not used: its object_id
// is not documented to be a transaction id.
func (w *Webhook) ClosedCheck() (transactionID string, ok bool) {
	if w.Object != ObjectTransaction || w.ObjectID == "" {
		return "", false
	}
	switch w.Action {
	case ActionClosed:
		return w.ObjectID, true
	case ActionChanged:
		if !w.HasData {
			return w.ObjectID, true
		}
		var d struct {
			History *struct {
				Type string `json:"type_history"`
			} `json:"transactions_history"`
		}
		if json.Unmarshal([]byte(w.Data), &d) != nil || d.History == nil || d.History.Type == "close" {
			return w.ObjectID, true
		}
	}
	return "", false
}

// AccessToken returns data.access_token of an application/added webhook
// (the install), or "".
func (w *Webhook) AccessToken() string {
	if w.Object != ObjectApplication || !w.HasData {
		return ""
	}
	var d struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal([]byte(w.Data), &d)
	return d.AccessToken
}
