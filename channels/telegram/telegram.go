package telegram

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/7loc/hub/hub"
)

// DefaultBaseURL is the Bot API's address.
const DefaultBaseURL = "https://api.telegram.org"

// Defaults of Options.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultPollTimeout = 25 * time.Second
	DefaultPollBackoff = 3 * time.Second
)

// Options are the operator's settings of the Telegram channel.
type Options struct {
	// BaseURL is the Bot API's address without the /bot<token> part;
	// "" means DefaultBaseURL.
	BaseURL string
	// Client performs the HTTP calls; nil means a client without a timeout
	// (each call is bounded by Timeout instead, so long polls work).
	Client *http.Client
	// Logger receives Poll's warnings; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock used when an update carries no date; nil means time.Now.
	Now func() time.Time
	// Timeout bounds one API call (sendMessage, setWebhook, …); getUpdates
	// gets PollTimeout on top. 0 means DefaultTimeout.
	Timeout time.Duration
	// PollTimeout is getUpdates' long-poll timeout, sent in whole seconds
	// (rounded up). 0 means DefaultPollTimeout; negative means short polling.
	PollTimeout time.Duration
	// PollBackoff is Poll's pause after a failed getUpdates or handler.
	// 0 means DefaultPollBackoff.
	PollBackoff time.Duration
}

// Sender sends messages with one business's bot. It is safe for concurrent use.
type Sender struct {
	token    string
	botID    string
	username string
	secret   string
	rate     float64
	chatRate float64
	// endpoint is the tgbotapi endpoint format: base + "/bot%s/%s".
	endpoint string
	client   *http.Client
	log      *slog.Logger
	now      func() time.Time
	timeout  time.Duration
	pollWait time.Duration
	backoff  time.Duration
}

// New validates a Telegram configuration and returns its sender. It makes no
// network call (unlike tgbotapi.NewBotAPI, which calls getMe).
func New(cfg *hub.ChannelConfig, opt Options) (*Sender, error) {
	if cfg == nil {
		return nil, hub.Errorf(hub.EValidation, "telegram: no configuration")
	}
	token := cfg.Get("bot_token")
	botID, rest, ok := strings.Cut(token, ":")
	if token == "" {
		return nil, hub.Errorf(hub.EValidation, "telegram: bot_token is required")
	}
	if !ok || rest == "" || !isDigits(botID) || strings.ContainsAny(token, "/?#% \t\r\n") {
		return nil, hub.Errorf(hub.EValidation, "telegram: bot_token is not a bot token (<bot id>:<secret>)")
	}
	username := strings.TrimPrefix(cfg.Get("bot_username"), "@")
	if username == "" {
		return nil, hub.Errorf(hub.EValidation, "telegram: bot_username is required")
	}
	secret := cfg.Get("webhook_secret")
	if secret != "" && !validSecretToken(secret) {
		return nil, hub.Errorf(hub.EValidation, "telegram: webhook_secret must be 1-256 characters A-Z, a-z, 0-9, _ or -")
	}
	base := strings.TrimRight(opt.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	if u, err := url.Parse(base); err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("telegram: invalid base URL %q", opt.BaseURL)
	}
	s := &Sender{
		token:    token,
		botID:    botID,
		username: username,
		secret:   secret,
		rate:     cfg.Float("rate_per_second", 30),
		chatRate: cfg.Float("chat_rate_per_second", 1),
		endpoint: strings.ReplaceAll(base, "%", "%%") + "/bot%s/%s",
		client:   opt.Client,
		log:      opt.Logger,
		now:      opt.Now,
		timeout:  opt.Timeout,
		pollWait: opt.PollTimeout,
		backoff:  opt.PollBackoff,
	}
	if s.client == nil {
		s.client = &http.Client{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.pollWait == 0 {
		s.pollWait = DefaultPollTimeout
	}
	if s.backoff <= 0 {
		s.backoff = DefaultPollBackoff
	}
	return s, nil
}

// BotID returns the bot's numeric id (the part of the token before ':').
func (s *Sender) BotID() string { return s.botID }

// Send sends m.Text to the chat m.To with parse_mode HTML (the text is
// escaped, so it shows as written). Errors are *hub.SendError.
func (s *Sender) Send(ctx context.Context, m hub.Message) (hub.Receipt, error) {
	msg, err := newMessage(m.To, EscapeHTML(m.Text))
	if err != nil {
		return hub.Receipt{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	bot, c := s.bot(ctx)
	sent, err := bot.Send(msg)
	if err != nil {
		return hub.Receipt{}, classify(err, c)
	}
	return hub.Receipt{ProviderMessageID: strconv.Itoa(sent.MessageID)}, nil
}

// newMessage builds the sendMessage call for a chat id or @channelusername.
func newMessage(to, html string) (tgbotapi.MessageConfig, error) {
	var msg tgbotapi.MessageConfig
	if id, err := strconv.ParseInt(to, 10, 64); err == nil && id != 0 {
		msg = tgbotapi.NewMessage(id, html)
	} else if len(to) > 1 && to[0] == '@' {
		msg = tgbotapi.NewMessageToChannel(to, html)
	} else {
		return msg, &hub.SendError{Kind: hub.SendPermanent, Reason: "bad_address", Unreachable: true,
			Err: fmt.Errorf("telegram: %q is not a chat id", to)}
	}
	msg.ParseMode = tgbotapi.ModeHTML
	return msg, nil
}

// Limits returns the bot's overall limit and the per-chat limit for m.To.
func (s *Sender) Limits(m hub.Message) []hub.RateLimit {
	return []hub.RateLimit{
		{Key: "telegram:" + s.botID, PerSecond: s.rate, Burst: 1},
		{Key: "telegram:" + s.botID + ":" + m.To, PerSecond: s.chatRate, Burst: 1},
	}
}

// LinkURL returns the deep link that opens the bot and sends /start <token>.
func (s *Sender) LinkURL(token string) string {
	return "https://t.me/" + s.username + "?start=" + url.QueryEscape(token)
}

// SetWebhook registers url as the bot's webhook; Telegram then sends
// webhook_secret in X-Telegram-Bot-Api-Secret-Token with every update.
func (s *Sender) SetWebhook(ctx context.Context, url string) error {
	params := tgbotapi.Params{"url": url}
	params.AddNonEmpty("secret_token", s.secret)
	if err := params.AddInterface("allowed_updates", allowedUpdates); err != nil {
		return err
	}
	return s.request(ctx, "setWebhook", params)
}

// DeleteWebhook removes the bot's webhook (getUpdates refuses to work while
// one is set); pending updates are kept.
func (s *Sender) DeleteWebhook(ctx context.Context) error {
	return s.request(ctx, "deleteWebhook", nil)
}

// request makes a call whose result is only true/false.
func (s *Sender) request(ctx context.Context, method string, params tgbotapi.Params) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	bot, c := s.bot(ctx)
	if _, err := bot.MakeRequest(method, params); err != nil {
		return classify(err, c)
	}
	return nil
}

// allowedUpdates are the update types the hub decodes.
var allowedUpdates = []string{"message", "my_chat_member"}

// bot returns a BotAPI for one call: its HTTP client carries ctx (tgbotapi
// builds requests without one) and observes the call for classify.
func (s *Sender) bot(ctx context.Context) (*tgbotapi.BotAPI, *call) {
	c := &call{ctx: ctx, client: s.client, token: s.token}
	bot := &tgbotapi.BotAPI{Token: s.token, Client: c, Buffer: 100}
	bot.SetAPIEndpoint(s.endpoint)
	return bot, c
}

// EscapeHTML escapes plain text for parse_mode HTML: Telegram requires <, >
// and & outside tags and entities to be written as &lt;, &gt; and &amp;.
func EscapeHTML(text string) string { return htmlEscaper.Replace(text) }

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validSecretToken reports whether s is allowed as setWebhook's secret_token.
func validSecretToken(s string) bool {
	if len(s) < 1 || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
