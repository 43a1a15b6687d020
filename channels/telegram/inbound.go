package telegram

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
)

// SecretHeader carries setWebhook's secret_token in every webhook call.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// Decode checks a webhook call's secret token and decodes its Update:
// "/start <token>" links the chat, "/stop" and blocking the bot opt out,
// unblocking it subscribes again, any other message is InboundMessage.
// A missing or wrong token (or no webhook_secret configured) is an
// unauthorized error; a body that is not an Update is a validation error.
func (s *Sender) Decode(req hub.InboundRequest) ([]hub.Inbound, hub.InboundReply, error) {
	got := http.Header(req.Header).Get(SecretHeader)
	if s.secret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.secret)) != 1 {
		return nil, hub.InboundReply{}, hub.Errorf(hub.EUnauthorized, "telegram: missing or wrong %s", SecretHeader)
	}
	var u update
	if err := json.Unmarshal(req.Body, &u); err != nil {
		e := hub.Errorf(hub.EValidation, "telegram: the body is not an Update")
		e.Err = err
		return nil, hub.InboundReply{}, e
	}
	return s.inbound(u), hub.InboundReply{}, nil
}

// update holds the parts of a Telegram Update the hub uses. It is decoded
// with local types rather than tgbotapi's so that fields added to newer Bot
// API versions cannot break decoding.
type update struct {
	UpdateID     int64              `json:"update_id"`
	Message      *message           `json:"message"`
	MyChatMember *chatMemberUpdated `json:"my_chat_member"`
}

type message struct {
	Date int64  `json:"date"`
	Chat chat   `json:"chat"`
	From *user  `json:"from"`
	Text string `json:"text"`
}

type chat struct {
	ID        int64  `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

type user struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

type chatMemberUpdated struct {
	Chat          chat   `json:"chat"`
	From          user   `json:"from"`
	Date          int64  `json:"date"`
	OldChatMember member `json:"old_chat_member"`
	NewChatMember member `json:"new_chat_member"`
}

type member struct {
	Status string `json:"status"`
}

// inbound converts one update; updates of other kinds yield nothing.
func (s *Sender) inbound(u update) []hub.Inbound {
	switch {
	case u.Message != nil && u.Message.Chat.ID != 0:
		m := u.Message
		in := hub.Inbound{Type: hub.InboundMessage, Channel: hub.ChannelTelegram,
			Address: strconv.FormatInt(m.Chat.ID, 10), At: s.at(m.Date)}
		if m.From != nil {
			in.Name = fullName(m.From.FirstName, m.From.LastName)
		} else {
			in.Name = fullName(m.Chat.FirstName, m.Chat.LastName)
		}
		switch cmd, arg := command(m.Text); {
		case cmd == "/start" && arg != "":
			in.Type, in.Token = hub.InboundLink, arg
		case cmd == "/stop":
			in.Type = hub.InboundStop
		}
		return []hub.Inbound{in}
	case u.MyChatMember != nil && u.MyChatMember.Chat.ID != 0:
		cm := u.MyChatMember
		in := hub.Inbound{Channel: hub.ChannelTelegram, Address: strconv.FormatInt(cm.Chat.ID, 10),
			Name: fullName(cm.From.FirstName, cm.From.LastName), At: s.at(cm.Date)}
		switch {
		case cm.NewChatMember.Status == "kicked":
			in.Type = hub.InboundStop
		case cm.NewChatMember.Status == "member" && cm.OldChatMember.Status == "kicked":
			in.Type = hub.InboundSubscribed
		default:
			return nil
		}
		return []hub.Inbound{in}
	}
	return nil
}

// command splits "/cmd@bot args" into "/cmd" (lower case) and "args".
func command(text string) (cmd, arg string) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "/") {
		return "", ""
	}
	cmd, arg, _ = strings.Cut(text, " ")
	if i := strings.IndexAny(cmd, "\n\t"); i >= 0 {
		cmd, arg = cmd[:i], cmd[i+1:]+" "+arg
	}
	cmd, _, _ = strings.Cut(cmd, "@")
	return strings.ToLower(cmd), strings.TrimSpace(arg)
}

func fullName(first, last string) string {
	return strings.TrimSpace(first + " " + last)
}

func (s *Sender) at(date int64) time.Time {
	if date <= 0 {
		return s.now().UTC()
	}
	return time.Unix(date, 0).UTC()
}
