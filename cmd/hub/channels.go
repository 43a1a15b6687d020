package main

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/7loc/hub/channels"
	"github.com/7loc/hub/channels/email"
	"github.com/7loc/hub/channels/gateway"
	"github.com/7loc/hub/channels/telegram"
	"github.com/7loc/hub/channels/viber"
	"github.com/7loc/hub/channels/walletpush"
	"github.com/7loc/hub/channels/whatsapp"
	"github.com/7loc/hub/hub"
)

// providerURLs are the operator's base URLs of the providers (empty: the
// provider's real one); tests and regional endpoints set them.
type providerURLs struct {
	Telegram, WhatsApp, Viber, APNs, GoogleWallet, GoogleToken string
	// apnsRoots, when set, replaces the system roots for APNs (tests).
	apnsRoots *x509.CertPool
}

// inboundSender is a provider that also takes calls from its provider.
type inboundSender interface {
	channels.Sender
	Decode(req hub.InboundRequest) ([]hub.Inbound, hub.InboundReply, error)
}

// providers builds the senders of every provider from a business's
// configuration.
type providers struct {
	urls providerURLs
	// client calls the providers' fixed APIs; gatewayClient calls the
	// gateway a business names, so it refuses private addresses.
	client, gatewayClient *http.Client
	log                   *slog.Logger
}

func (p *providers) factories() map[string]channels.Factory {
	return map[string]channels.Factory{
		hub.ChannelEmail: func(cfg *hub.ChannelConfig) (channels.Sender, error) {
			return email.New(cfg, email.Options{Logger: p.log})
		},
		hub.ChannelWhatsApp: func(cfg *hub.ChannelConfig) (channels.Sender, error) {
			return whatsapp.New(cfg, whatsapp.Options{BaseURL: p.urls.WhatsApp, Client: p.client, Logger: p.log})
		},
		hub.ChannelTelegram: func(cfg *hub.ChannelConfig) (channels.Sender, error) {
			return telegram.New(cfg, telegram.Options{BaseURL: p.urls.Telegram, Client: p.client, Logger: p.log})
		},
		hub.ChannelViber: func(cfg *hub.ChannelConfig) (channels.Sender, error) {
			return viber.New(cfg, viber.Options{BaseURL: p.urls.Viber, Client: p.client, Logger: p.log})
		},
		hub.ChannelPush: func(cfg *hub.ChannelConfig) (channels.Sender, error) {
			return p.walletpush(cfg)
		},
		hub.ProviderGateway: func(cfg *hub.ChannelConfig) (channels.Sender, error) {
			return gateway.New(cfg, gateway.Options{Client: p.gatewayClient, Logger: p.log})
		},
	}
}

// SendOwnerEmail implements hub.OwnerMailer: one email to a business's
// owner (a password reset link) through the business's email channel.
func (p *providers) SendOwnerEmail(ctx context.Context, cfg *hub.ChannelConfig, m hub.Message) error {
	s, err := email.New(cfg, email.Options{Logger: p.log})
	if err != nil {
		return err
	}
	_, err = s.Send(ctx, m)
	return err
}

// build builds the sender of a configuration; known is false for a provider
// without a factory.
func (p *providers) build(cfg *hub.ChannelConfig) (s channels.Sender, known bool, err error) {
	f, ok := p.factories()[cfg.Provider]
	if !ok {
		return nil, false, nil
	}
	s, err = f(cfg)
	return s, true, err
}

// check builds the provider's sender for a configuration, so that a
// configuration no sender accepts (a bad certificate, key or URL) is
// refused when it is stored rather than at the first message.
func (p *providers) check(cfg *hub.ChannelConfig) error {
	s, _, err := p.build(cfg)
	if c, ok := s.(interface{ Close() }); ok && err == nil {
		c.Close()
	}
	return err
}

// linkURL is the provider's deep link for a link token: Telegram's and
// Viber's senders know theirs; the gateway builds its own from the token.
func (p *providers) linkURL(cfg *hub.ChannelConfig, token string) string {
	s, _, err := p.build(cfg)
	if err != nil {
		return ""
	}
	if l, ok := s.(interface{ LinkURL(token string) string }); ok {
		return l.LinkURL(token)
	}
	return ""
}

// registerWebhook registers url as the webhook of a Telegram or Viber
// configuration with the provider.
func (p *providers) registerWebhook(ctx context.Context, cfg *hub.ChannelConfig, url string) error {
	s, known, err := p.build(cfg)
	if !known {
		return errors.New("no sender for provider " + cfg.Provider)
	}
	if err != nil {
		return err
	}
	w, ok := s.(interface {
		SetWebhook(ctx context.Context, url string) error
	})
	if !ok {
		return errors.New(cfg.Provider + " has no webhook to register")
	}
	return w.SetWebhook(ctx, url)
}

// Decode implements hub.InboundDecoder: it builds the provider's sender
// for the configuration and lets it verify and decode the call.
func (p *providers) Decode(cfg *hub.ChannelConfig, req hub.InboundRequest) ([]hub.Inbound, hub.InboundReply, error) {
	s, known, err := p.build(cfg)
	if !known {
		return nil, hub.InboundReply{}, hub.NotFound("channel")
	}
	if err != nil {
		return nil, hub.InboundReply{}, hub.Errorf(hub.EConflict, "the %s channel is misconfigured: %v", cfg.Provider, err)
	}
	in, ok := s.(inboundSender)
	if !ok {
		return nil, hub.InboundReply{}, hub.NotFound("channel")
	}
	return in.Decode(req)
}

// secretKey decodes HUB_SECRET_KEY (32 bytes, standard or URL base64).
func secretKey(v string) ([]byte, error) {
	if v == "" {
		return nil, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(v); err == nil && len(b) == hub.SecretKeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("HUB_SECRET_KEY must be %d bytes in base64 (try: head -c 32 /dev/urandom | base64)", hub.SecretKeySize)
}

// sendTimeout bounds one provider call.
const sendTimeout = 15 * time.Second

// pollTelegram long-polls the Telegram bot of a business whose telegram
// channel is in "polling" mode, for `hub dev`, where Telegram cannot reach a
// webhook. It looks at the configuration every interval and restarts the
// poll when it changes. One process only: Telegram refuses two pollers.
func (a *app) pollTelegram(ctx context.Context, businessID string, every time.Duration) {
	var (
		version time.Time
		stop    context.CancelFunc = func() {}
	)
	defer func() { stop() }()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		cfg, err := a.svc.ProviderConfig(ctx, businessID, hub.ChannelTelegram)
		switch {
		case err != nil || cfg.Get("mode") != "polling":
			stop()
			version = time.Time{}
		case !cfg.UpdatedAt.Equal(version):
			stop()
			version = cfg.UpdatedAt
			s, err := telegram.New(cfg, telegram.Options{BaseURL: a.providers.urls.Telegram, Logger: a.log})
			if err != nil {
				a.log.Warn("telegram polling: bad configuration", "err", err)
				break
			}
			pctx, cancel := context.WithCancel(ctx)
			stop = cancel
			go func() {
				err := s.Poll(pctx, func(ctx context.Context, in []hub.Inbound) error {
					return a.svc.ApplyInbound(ctx, businessID, in)
				})
				if err != nil {
					a.log.Warn("telegram polling stopped", "err", err)
				}
			}()
			a.log.Info("telegram long polling started", "business", businessID)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (p *providers) walletpush(cfg *hub.ChannelConfig) (*walletpush.Sender, error) {
	return walletpush.New(cfg, walletpush.Options{APNsURL: p.urls.APNs, APNsRootCAs: p.urls.apnsRoots,
		GoogleURL: p.urls.GoogleWallet, GoogleTokenURL: p.urls.GoogleToken, Client: p.client, Logger: p.log})
}

// BuildPass implements httpapi.PassBuilder: the card as a signed .pkpass.
func (p *providers) BuildPass(_ context.Context, pc *hub.PassContent, webServiceURL string) ([]byte, error) {
	s, err := p.walletpush(pc.Config)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	card := pc.Card
	pass := walletpush.Pass{
		SerialNumber: card.ID, AuthenticationToken: pc.AuthToken, WebServiceURL: webServiceURL,
		OrganizationName: pc.Business.Name, Description: pc.Template.Name, LogoText: pc.Business.Name,
		Stamps: card.Stamps, OfferText: pc.OfferText, UpdatedAt: pc.UpdatedAt,
		Barcode: walletpush.Barcode{Message: card.WalletPassID, Format: walletpush.BarcodeQR, AltText: card.WalletPassID},
	}
	if card.GoalIndex < len(card.Goals) {
		g := card.Goals[card.GoalIndex]
		pass.StampsGoal, pass.RewardTitle = g.Stamps, g.Reward.Title
	}
	if pc.RedeemCode != "" {
		pass.Barcode = walletpush.Barcode{Message: pc.RedeemCode, Format: walletpush.BarcodeQR, AltText: pc.RedeemCode}
	}
	return s.BuildPass(pass)
}
