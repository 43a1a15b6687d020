package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ChannelConfigView is a channel configuration as the API shows it: every
// non-secret setting, and only the names of the secrets that are set.
type ChannelConfigView struct {
	Provider   string            `json:"provider"`
	Enabled    bool              `json:"enabled"`
	Settings   map[string]string `json:"settings"`
	SecretsSet []string          `json:"secrets_set"`
	// InboundURL is where the provider calls the hub (webhooks), for the
	// providers that call.
	InboundURL *string   `json:"inbound_url"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// MaxChannelFieldLength bounds one configuration value (a service-account
// JSON or a PEM chain fits).
const MaxChannelFieldLength = 16 << 10

// ValidProvider reports whether name is one of Providers.
func ValidProvider(name string) bool { return slices.Contains(Providers, name) }

func (s *Service) requireBox() error {
	if s.box == nil {
		return Errorf(EUnavailable, "channels are not available: the hub has no secret key (HUB_SECRET_KEY)")
	}
	return nil
}

// PutChannelConfig configures a provider for a business. The body is a JSON
// object of the provider's fields (see ChannelFields) plus "enabled"
// (default true). Settings are replaced; a secret left out keeps its stored
// value, and null clears a field.
func (s *Service) PutChannelConfig(ctx context.Context, businessID, provider string, body map[string]any) (*ChannelConfigView, error) {
	if !ValidProvider(provider) {
		return nil, NotFound("channel")
	}
	if err := s.requireBox(); err != nil {
		return nil, err
	}
	p := Problems{}
	enabled := true
	fields := map[string]ChannelField{}
	for _, f := range ChannelFields[provider] {
		fields[f.Name] = f
	}
	settings := map[string]string{}
	secrets := map[string]*string{} // nil: clear
	for name, raw := range body {
		if name == "enabled" {
			b, ok := raw.(bool)
			if !ok {
				p.Add("enabled", "must be a boolean")
			}
			enabled = b
			continue
		}
		f, ok := fields[name]
		if !ok {
			p.Add(name, "is not a field of the "+provider+" channel")
			continue
		}
		if raw == nil {
			if f.Secret {
				secrets[name] = nil
			}
			continue
		}
		v, problem := channelValue(f, raw)
		if problem != "" {
			p.Add(name, problem)
			continue
		}
		if f.Secret {
			secrets[name] = &v
		} else if v != "" {
			settings[name] = v
		}
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	now := s.clock()
	var view *ChannelConfigView
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		cfg := &ChannelConfig{BusinessID: businessID, Provider: provider, Enabled: enabled, Settings: settings,
			Secrets: map[string]string{}, CreatedAt: now, UpdatedAt: now}
		old, err := s.channelConfig(ctx, tx, businessID, provider)
		switch {
		case err == nil:
			cfg.CreatedAt = old.CreatedAt
			cfg.Secrets = old.Secrets
		case ErrorCode(err) != ENotFound:
			return err
		}
		for name, v := range secrets {
			if v == nil {
				delete(cfg.Secrets, name)
			} else {
				cfg.Secrets[name] = *v
			}
		}
		if provider == ChannelTelegram && cfg.Secrets["webhook_secret"] == "" {
			cfg.Secrets["webhook_secret"] = RandomString(base62, 32)
		}
		for _, f := range ChannelFields[provider] {
			if f.Required && cfg.Settings[f.Name] == "" && cfg.Secrets[f.Name] == "" {
				p.Add(f.Name, "is required")
			}
		}
		if err := p.Err(); err != nil {
			return err
		}
		if s.check != nil && enabled {
			if err := s.check(cfg); err != nil {
				var he *Error
				if errors.As(err, &he) && he.Code == EValidation {
					return he
				}
				return Errorf(EValidation, "the %s configuration is not usable: %v", provider, err)
			}
		}
		sealed, err := s.sealSecrets(cfg.Secrets, sealAD(cfg.BusinessID, cfg.Provider))
		if err != nil {
			return err
		}
		if err := tx.PutChannelConfig(ctx, &StoredChannelConfig{BusinessID: businessID, Provider: provider,
			Enabled: enabled, Settings: settings, Sealed: sealed, CreatedAt: cfg.CreatedAt, UpdatedAt: now}); err != nil {
			return err
		}
		view = s.channelView(cfg)
		return nil
	})
	return view, err
}

// channelValue checks one field's JSON value and returns it as a string.
func channelValue(f ChannelField, raw any) (string, string) {
	var v string
	switch x := raw.(type) {
	case string:
		v = strings.TrimSpace(x)
	case float64:
		if !f.Number {
			return "", "must be a string"
		}
		v = strconv.FormatFloat(x, 'f', -1, 64)
	default:
		if f.Number {
			return "", "must be a number"
		}
		return "", "must be a string"
	}
	if len(v) > MaxChannelFieldLength {
		return "", "is too long"
	}
	if f.Number && v != "" {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || n <= 0 {
			return "", "must be a positive number"
		}
		if n > MaxChannelRate {
			return "", fmt.Sprintf("must be at most %d", MaxChannelRate)
		}
		v = strconv.FormatFloat(n, 'f', -1, 64) // "1e3" and "1000.0" are 1000
	}
	if len(f.Choices) > 0 && v != "" && !slices.Contains(f.Choices, v) {
		return "", "must be one of " + strings.Join(f.Choices, ", ")
	}
	return v, ""
}

// MaxChannelRate bounds the numeric settings of a channel (messages per
// second): far above any provider's real limit, and short to store.
const MaxChannelRate = 1_000_000

func sealAD(businessID, provider string) string {
	return "channel/" + businessID + "/" + provider
}

// channelConfig loads and opens a business's provider configuration.
func (s *Service) channelConfig(ctx context.Context, tx Tx, businessID, provider string) (*ChannelConfig, error) {
	if err := s.requireBox(); err != nil {
		return nil, err
	}
	st, err := tx.ChannelConfig(ctx, businessID, provider)
	if err != nil {
		if ErrorCode(err) == ENotFound {
			return nil, NotFound("channel configuration")
		}
		return nil, err
	}
	return s.openConfig(st)
}

func (s *Service) openConfig(st *StoredChannelConfig) (*ChannelConfig, error) {
	secrets, err := s.openSecrets(st.Sealed, sealAD(st.BusinessID, st.Provider), "channel")
	if err != nil {
		return nil, err
	}
	cfg := &ChannelConfig{BusinessID: st.BusinessID, Provider: st.Provider, Enabled: st.Enabled,
		Settings: st.Settings, CreatedAt: st.CreatedAt, UpdatedAt: st.UpdatedAt}
	if cfg.Settings == nil {
		cfg.Settings = map[string]string{}
	}
	cfg.Secrets = secrets
	return cfg, nil
}

func (s *Service) channelView(cfg *ChannelConfig) *ChannelConfigView {
	v := &ChannelConfigView{Provider: cfg.Provider, Enabled: cfg.Enabled, Settings: map[string]string{},
		SecretsSet: cfg.SecretNames(), CreatedAt: cfg.CreatedAt, UpdatedAt: cfg.UpdatedAt}
	for _, f := range ChannelFields[cfg.Provider] {
		if !f.Secret {
			if val := cfg.Get(f.Name); val != "" {
				v.Settings[f.Name] = val
			}
		}
	}
	switch cfg.Provider {
	case ChannelTelegram, ChannelWhatsApp, ChannelViber, ProviderGateway:
		u := s.publicURL + "/hooks/" + cfg.Provider + "/" + cfg.BusinessID
		v.InboundURL = &u
	case ChannelPush:
		u := s.publicURL + "/wallet/google/" + cfg.BusinessID + "?token=" + s.GoogleCallbackToken(cfg.BusinessID)
		v.InboundURL = &u
	}
	return v
}

// WebhookRegistration is what RegisterChannelWebhook registered.
type WebhookRegistration struct {
	Provider     string    `json:"provider"`
	URL          string    `json:"url"`
	RegisteredAt time.Time `json:"registered_at"`
}

// webhookProviders are the providers whose webhook the hub registers through
// their API. WhatsApp's callback URL is set in Meta's app dashboard, the
// gateway's by whoever runs it, and Google Wallet's in its console.
var webhookProviders = []string{ChannelTelegram, ChannelViber}

// RegisterChannelWebhook registers the channel's inbound_url with the
// provider (Telegram's setWebhook with the webhook_secret, Viber's
// set_webhook, which Viber checks at once with a signed call to that URL).
// A provider's refusal is a validation error naming its code; a provider
// that does not answer makes it unavailable. Registering again is harmless.
func (s *Service) RegisterChannelWebhook(ctx context.Context, businessID, provider string) (*WebhookRegistration, error) {
	if !ValidProvider(provider) {
		return nil, NotFound("channel")
	}
	if !slices.Contains(webhookProviders, provider) {
		msg := "the hub registers webhooks with telegram and viber only; give the " + provider + " provider the channel's inbound_url"
		return nil, &Error{Code: EValidation, Message: msg, Fields: map[string]string{"provider": msg}}
	}
	if err := s.requireBox(); err != nil {
		return nil, err
	}
	if s.registerWebhook == nil {
		return nil, Errorf(EUnavailable, "webhook registration is not available in this process")
	}
	var cfg *ChannelConfig
	if err := s.read(ctx, func(tx Tx) error {
		var err error
		cfg, err = s.channelConfig(ctx, tx, businessID, provider)
		return err
	}); err != nil {
		return nil, err
	}
	if provider == ChannelTelegram && cfg.Get("mode") == "polling" {
		return nil, Errorf(EConflict, "the telegram channel is in polling mode, and Telegram stops polling while a webhook is set; set mode to webhook first")
	}
	url := *s.channelView(cfg).InboundURL
	if err := s.registerWebhook(ctx, cfg, url); err != nil {
		return nil, webhookRefused(provider, url, err)
	}
	s.log.InfoContext(ctx, "channel webhook registered", "business_id", businessID, "provider", provider, "url", url)
	return &WebhookRegistration{Provider: provider, URL: url, RegisteredAt: s.clock()}, nil
}

// webhookRefused turns a provider's answer to a webhook registration into
// an error for the caller. Only the provider's code and reason are shown:
// the underlying error of a failed call may hold the request URL, which for
// Telegram carries the bot token.
func webhookRefused(provider, url string, err error) error {
	var se *SendError
	if errors.As(err, &se) && se.Kind == SendPermanent {
		msg := provider + " refused the webhook " + url
		if se.Code != "" || se.Reason != "" {
			msg += " (" + strings.TrimSpace(se.Code+" "+se.Reason) + ")"
		}
		msg += ": check the channel's token, and that HUB_PUBLIC_URL is a public HTTPS address"
		return &Error{Code: EValidation, Message: msg, Fields: map[string]string{"provider": msg}, Err: err}
	}
	return &Error{Code: EUnavailable, Message: provider + " did not take the webhook now; try again", Err: err}
}

// ChannelConfig shows a business's configuration of a provider.
func (s *Service) ChannelConfig(ctx context.Context, businessID, provider string) (*ChannelConfigView, error) {
	if !ValidProvider(provider) {
		return nil, NotFound("channel")
	}
	var view *ChannelConfigView
	err := s.read(ctx, func(tx Tx) error {
		cfg, err := s.channelConfig(ctx, tx, businessID, provider)
		if err != nil {
			return err
		}
		view = s.channelView(cfg)
		return nil
	})
	return view, err
}

// ChannelConfigs lists a business's configured providers.
func (s *Service) ChannelConfigs(ctx context.Context, businessID string) ([]*ChannelConfigView, error) {
	if err := s.requireBox(); err != nil {
		return nil, err
	}
	views := []*ChannelConfigView{}
	err := s.read(ctx, func(tx Tx) error {
		all, err := tx.ChannelConfigs(ctx, businessID)
		if err != nil {
			return err
		}
		for _, st := range all {
			cfg, err := s.openConfig(st)
			if err != nil {
				return err
			}
			views = append(views, s.channelView(cfg))
		}
		return nil
	})
	return views, err
}

// ProviderConfig returns the opened configuration of a provider, for the
// workers that send through it. A missing or disabled one is not_found.
func (s *Service) ProviderConfig(ctx context.Context, businessID, provider string) (*ChannelConfig, error) {
	var cfg *ChannelConfig
	err := s.read(ctx, func(tx Tx) error {
		var err error
		cfg, err = s.channelConfig(ctx, tx, businessID, provider)
		return err
	})
	if err == nil && !cfg.Enabled {
		return nil, NotFound("channel configuration")
	}
	return cfg, err
}

// routeChannel picks the configuration that carries a channel for a
// business: the gateway when it is enabled and lists the channel, else the
// channel's own provider. None is a not_configured problem (nil, nil).
func (s *Service) routeChannel(ctx context.Context, tx Tx, businessID, channel string) (*ChannelConfig, error) {
	if channel == ChannelTelegram || channel == ChannelWhatsApp || channel == ChannelViber {
		gw, err := s.channelConfig(ctx, tx, businessID, ProviderGateway)
		switch {
		case err == nil && gw.Enabled && slices.Contains(splitList(gw.Get("channels")), channel):
			return gw, nil
		case err != nil && ErrorCode(err) != ENotFound:
			return nil, err
		}
	}
	cfg, err := s.channelConfig(ctx, tx, businessID, channel)
	if err != nil {
		if ErrorCode(err) == ENotFound {
			return nil, nil
		}
		return nil, err
	}
	if !cfg.Enabled {
		return nil, nil
	}
	return cfg, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
