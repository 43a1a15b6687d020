package telegramfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf16"

	"github.com/7loc/hub/hub"
)

// SecretHeader is the header in which Telegram sends a webhook's secret token.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

var (
	messageIDs atomic.Int64
	webhookIDs atomic.Int64
)

// TextUpdate builds an Update with a text message from a private chat whose
// id is chatID (as Telegram sends it, with a bot_command entity when the text
// starts with a command). Queue it with QueueUpdate or post it with
// WebhookRequest.
func TextUpdate(chatID int64, firstName, lastName, text string, at time.Time) map[string]any {
	u := userJSON(chatID, firstName, lastName)
	msg := map[string]any{
		"message_id": messageIDs.Add(1),
		"from":       u,
		"chat":       chatJSON(chatID, firstName, lastName),
		"date":       at.Unix(),
		"text":       text,
	}
	if strings.HasPrefix(text, "/") {
		cmd, _, _ := strings.Cut(text, " ")
		msg["entities"] = []map[string]any{{"offset": 0, "length": len(utf16.Encode([]rune(cmd))), "type": "bot_command"}}
	}
	return map[string]any{"message": msg}
}

// MyChatMemberUpdate builds an Update telling the bot that its status in the
// private chat chatID changed, e.g. from "member" to "kicked" (the user
// blocked the bot) or back (unblocked).
func MyChatMemberUpdate(chatID int64, firstName, oldStatus, newStatus string, at time.Time) map[string]any {
	me := map[string]any{"id": 1, "is_bot": true, "first_name": "bot", "username": "bot"}
	newMember := map[string]any{"user": me, "status": newStatus}
	if newStatus == "kicked" {
		newMember["until_date"] = 0
	}
	return map[string]any{"my_chat_member": map[string]any{
		"chat":            chatJSON(chatID, firstName, ""),
		"from":            userJSON(chatID, firstName, ""),
		"date":            at.Unix(),
		"old_chat_member": map[string]any{"user": me, "status": oldStatus},
		"new_chat_member": newMember,
	}}
}

// WebhookRequest builds the call Telegram makes to a webhook for the Update
// u (given an update_id), with secret in X-Telegram-Bot-Api-Secret-Token
// (no header when secret is "").
func WebhookRequest(secret string, u any) hub.InboundRequest {
	h := http.Header{"Content-Type": {"application/json"}}
	if secret != "" {
		h.Set(SecretHeader, secret)
	}
	return hub.InboundRequest{Method: http.MethodPost, Header: h, Body: withUpdateID(u, webhookIDs.Add(1))}
}

func userJSON(id int64, first, last string) map[string]any {
	u := map[string]any{"id": id, "is_bot": false, "first_name": first, "language_code": "en"}
	if last != "" {
		u["last_name"] = last
	}
	return u
}

func chatJSON(id int64, first, last string) map[string]any {
	c := map[string]any{"id": id, "type": "private", "first_name": first}
	if last != "" {
		c["last_name"] = last
	}
	return c
}

// withUpdateID marshals u (a JSON object) with its update_id set.
func withUpdateID(u any, id int64) json.RawMessage {
	raw, err := json.Marshal(u)
	if err != nil {
		panic("telegramfake: update does not marshal: " + err.Error())
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		panic("telegramfake: an update must be a JSON object")
	}
	m["update_id"] = json.RawMessage(strconv.FormatInt(id, 10))
	out, _ := json.Marshal(m)
	return out
}

func updateID(raw json.RawMessage) int64 {
	var u struct {
		UpdateID int64 `json:"update_id"`
	}
	_ = json.Unmarshal(raw, &u)
	return u.UpdateID
}

// htmlTags are the tags parse_mode HTML supports.
var htmlTags = map[string]bool{
	"b": true, "strong": true, "i": true, "em": true, "u": true, "ins": true, "s": true, "strike": true,
	"del": true, "span": true, "tg-spoiler": true, "a": true, "code": true, "pre": true,
	"blockquote": true, "tg-emoji": true,
}

// checkHTML validates text as Telegram's HTML and returns its plain text.
// Like the real API it refuses a '<' that does not open a supported tag and
// an '&' that does not start &lt; &gt; &amp; &quot; or a numeric entity.
func checkHTML(text string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(text); {
		switch c := text[i]; c {
		case '<':
			end := strings.IndexByte(text[i:], '>')
			if end < 0 {
				return "", fmt.Errorf("can't find end of the tag at byte offset %d", i)
			}
			tag := strings.TrimPrefix(text[i+1:i+end], "/")
			name, _, _ := strings.Cut(tag, " ")
			if !htmlTags[strings.ToLower(name)] {
				return "", fmt.Errorf("unsupported start tag %q at byte offset %d", name, i)
			}
			i += end + 1
		case '&':
			end := strings.IndexByte(text[i:], ';')
			if end < 0 || end > 10 {
				return "", fmt.Errorf("can't find end of the entity starting at byte offset %d", i)
			}
			ent := text[i+1 : i+end]
			switch {
			case ent == "lt":
				b.WriteByte('<')
			case ent == "gt":
				b.WriteByte('>')
			case ent == "amp":
				b.WriteByte('&')
			case ent == "quot":
				b.WriteByte('"')
			case strings.HasPrefix(ent, "#x") || strings.HasPrefix(ent, "#X"):
				n, err := strconv.ParseUint(ent[2:], 16, 32)
				if err != nil {
					return "", fmt.Errorf("unsupported HTML entity at byte offset %d", i)
				}
				b.WriteRune(rune(n))
			case strings.HasPrefix(ent, "#"):
				n, err := strconv.ParseUint(ent[1:], 10, 32)
				if err != nil {
					return "", fmt.Errorf("unsupported HTML entity at byte offset %d", i)
				}
				b.WriteRune(rune(n))
			default:
				return "", fmt.Errorf("unsupported HTML entity at byte offset %d", i)
			}
			i += end + 1
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}
