package hub

import (
	"sort"
	"strconv"
	"time"
)

// Providers a business configures with PUT /v1/channels/{provider}: one per
// channel, plus the messenger gateway.
var Providers = []string{ChannelTelegram, ChannelWhatsApp, ChannelViber, ChannelEmail, ChannelPush, ProviderGateway}

// ChannelConfig is a business's configuration of one provider. Secrets are
// kept sealed at rest and never leave the hub.
type ChannelConfig struct {
	BusinessID string
	// Provider is one of Providers.
	Provider string
	Enabled  bool
	// Settings are the non-secret fields, by name.
	Settings map[string]string
	// Secrets are the secret fields, by name, in the clear (only in memory).
	Secrets   map[string]string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Get returns a field, secret or not, or its default when unset.
func (c *ChannelConfig) Get(name string) string {
	if v, ok := c.Settings[name]; ok && v != "" {
		return v
	}
	if v, ok := c.Secrets[name]; ok && v != "" {
		return v
	}
	for _, f := range ChannelFields[c.Provider] {
		if f.Name == name {
			return f.Default
		}
	}
	return ""
}

// Float returns a numeric field, or def when it is unset or not a number.
func (c *ChannelConfig) Float(name string, def float64) float64 {
	v, err := strconv.ParseFloat(c.Get(name), 64)
	if err != nil || v <= 0 {
		return def
	}
	return v
}

// ChannelField describes one configuration field of a provider.
type ChannelField struct {
	Name     string
	Secret   bool
	Required bool
	Default  string
	// Choices, when set, are the only values allowed.
	Choices []string
	// Number fields must parse as a positive number.
	Number bool
}

// ChannelFields lists each provider's configuration fields. Rates are
// messages per second the hub allows itself, shared by all workers.
var ChannelFields = map[string][]ChannelField{
	ChannelTelegram: {
		{Name: "bot_token", Secret: true, Required: true},
		{Name: "bot_username", Required: true},
		// webhook_secret is checked against X-Telegram-Bot-Api-Secret-Token;
		// the hub generates one when none is given.
		{Name: "webhook_secret", Secret: true},
		{Name: "mode", Default: "webhook", Choices: []string{"webhook", "polling"}},
		{Name: "rate_per_second", Default: "30", Number: true},
		{Name: "chat_rate_per_second", Default: "1", Number: true},
	},
	ChannelWhatsApp: {
		{Name: "phone_number_id", Required: true},
		{Name: "access_token", Secret: true, Required: true},
		{Name: "app_secret", Secret: true, Required: true},
		{Name: "verify_token", Secret: true, Required: true},
		{Name: "template_name", Required: true},
		{Name: "template_language", Default: "en"},
		{Name: "rate_per_second", Default: "80", Number: true},
	},
	ChannelViber: {
		{Name: "auth_token", Secret: true, Required: true},
		{Name: "sender_name", Required: true},
		{Name: "sender_avatar"},
		// uri is the bot's chat URI, used in viber://pa?chatURI=… link URLs.
		{Name: "uri", Required: true},
		{Name: "rate_per_second", Default: "20", Number: true},
	},
	ChannelEmail: {
		{Name: "host", Required: true},
		{Name: "port", Default: "587", Number: true},
		{Name: "username"},
		{Name: "password", Secret: true},
		{Name: "from", Required: true},
		{Name: "from_name"},
		{Name: "tls", Default: "starttls", Choices: []string{"starttls", "tls", "none"}},
		{Name: "rate_per_second", Default: "10", Number: true},
	},
	ChannelPush: {
		{Name: "apple_pass_type_id"},
		{Name: "apple_team_id"},
		// apple_certificate is the PEM pass certificate and its private key;
		// it signs .pkpass files and authenticates to APNs.
		{Name: "apple_certificate", Secret: true},
		{Name: "apple_wwdr_certificate"},
		{Name: "google_issuer_id"},
		{Name: "google_class_id"},
		{Name: "google_service_account", Secret: true},
		{Name: "rate_per_second", Default: "50", Number: true},
	},
	ProviderGateway: {
		{Name: "url", Required: true},
		{Name: "secret", Secret: true, Required: true},
		{Name: "channels", Default: "whatsapp,telegram,viber"},
		{Name: "rate_per_second", Default: "50", Number: true},
	},
}

// SecretNames returns the names of a config's secret fields that are set, sorted.
func (c *ChannelConfig) SecretNames() []string {
	names := make([]string, 0, len(c.Secrets))
	for k, v := range c.Secrets {
		if v != "" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return names
}
