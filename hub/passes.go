package hub

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"strconv"
	"time"
)

// The wallet-pass web service (Apple Wallet's protocol) identifies a pass
// by its pass type id and serial number; the serial number is the card id,
// and the pass authenticates with a token derived from it.

// PassAuthToken returns the authentication token of a card's wallet pass.
func (s *Service) PassAuthToken(cardID string) string {
	if s.box == nil {
		return ""
	}
	mac := s.box.MAC("pass/" + cardID)
	return base64.RawURLEncoding.EncodeToString(mac[:24])
}

// PassRequest is a call of the wallet-pass web service about one pass.
type PassRequest struct {
	DeviceID   string
	PassTypeID string
	// Serial is the card id.
	Serial string
	// AuthToken is the token from "Authorization: ApplePass <token>".
	AuthToken string
}

// passCard checks the token and pass type and returns the card's business.
func (s *Service) passCard(ctx context.Context, tx Tx, r PassRequest) (*Business, error) {
	want := s.PassAuthToken(r.Serial)
	if want == "" || !ValidID(PrefixCard, r.Serial) ||
		subtle.ConstantTimeCompare([]byte(want), []byte(r.AuthToken)) != 1 {
		return nil, Errorf(EUnauthorized, "the pass authentication token is not valid")
	}
	biz, err := tx.BusinessOfCard(ctx, r.Serial)
	if err != nil {
		return nil, err
	}
	cfg, err := s.channelConfig(ctx, tx, biz.ID, ChannelPush)
	if err != nil {
		return nil, err
	}
	if r.PassTypeID == "" || cfg.Get("apple_pass_type_id") != r.PassTypeID {
		return nil, NotFound("pass")
	}
	return biz, nil
}

// RegisterPass records a device registering a card's pass for updates and
// reports whether the registration is new. The first device of a card
// records card_saved and grants PUSH consent.
func (s *Service) RegisterPass(ctx context.Context, r PassRequest, pushToken string) (bool, error) {
	if r.DeviceID == "" || len(r.DeviceID) > 200 || pushToken == "" || len(pushToken) > 200 {
		return false, Errorf(EValidation, "deviceLibraryIdentifier and pushToken are required")
	}
	now := s.clock()
	var created bool
	err := s.write(ctx, func(tx Tx, out *outbox) error {
		biz, err := s.passCard(ctx, tx, r)
		if err != nil {
			return err
		}
		created, err = s.registerDevice(ctx, tx, out, biz.ID, r.Serial, r.PassTypeID, r.DeviceID, pushToken, "wallet:apple", now)
		return err
	})
	return created, err
}

// registerDevice stores a device for a card; the first one saves the card.
func (s *Service) registerDevice(ctx context.Context, tx Tx, out *outbox, businessID, cardID, passTypeID, deviceID, pushToken, source string, now time.Time) (bool, error) {
	card, err := tx.Card(ctx, businessID, cardID, true)
	if err != nil {
		return false, err
	}
	before, err := tx.CountPassDevices(ctx, businessID, cardID)
	if err != nil {
		return false, err
	}
	created, err := tx.RegisterPassDevice(ctx, &PassRegistration{BusinessID: businessID, CardID: cardID,
		PassTypeID: passTypeID, DeviceID: deviceID, PushToken: pushToken, CreatedAt: now})
	if err != nil || !created {
		return created, err
	}
	if before == 0 {
		out.add(s.cardEvent(CardSaved, card, nil, now))
		if err := s.setConsent(ctx, tx, businessID, card.CustomerID, ChannelPush, true, source, now); err != nil {
			return false, err
		}
	}
	return true, nil
}

// UnregisterPass forgets a device's registration of a card's pass.
func (s *Service) UnregisterPass(ctx context.Context, r PassRequest) error {
	return s.write(ctx, func(tx Tx, _ *outbox) error {
		biz, err := s.passCard(ctx, tx, r)
		if err != nil {
			return err
		}
		return tx.UnregisterPassDevice(ctx, biz.ID, r.Serial, r.DeviceID)
	})
}

// passUpdatedAt is when a card's pass last changed: the card or its offer.
func passUpdatedAt(card *Card, offer *PassOffer) time.Time {
	t := card.UpdatedAt
	if offer != nil && offer.UpdatedAt.After(t) {
		t = offer.UpdatedAt
	}
	return t
}

// UpdatedPasses lists the serial numbers of the passes a device registered
// that changed after the tag (from an earlier answer; empty means all), and
// the tag to use next time. No serials means nothing changed.
func (s *Service) UpdatedPasses(ctx context.Context, deviceID, passTypeID, since string) ([]string, string, error) {
	var sinceMS int64
	if since != "" {
		v, err := strconv.ParseInt(since, 10, 64)
		if err != nil {
			return nil, "", Errorf(EValidation, "passesUpdatedSince must be a tag from an earlier answer")
		}
		sinceMS = v
	}
	var serials []string
	var last int64
	err := s.read(ctx, func(tx Tx) error {
		ids, err := tx.DevicePasses(ctx, deviceID, passTypeID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			biz, err := tx.BusinessOfCard(ctx, id)
			if err != nil {
				return err
			}
			card, err := tx.Card(ctx, biz.ID, id, false)
			if err != nil {
				return err
			}
			offer, err := tx.PassOffer(ctx, biz.ID, id)
			if err != nil && ErrorCode(err) != ENotFound {
				return err
			}
			at := passUpdatedAt(card, offer).UnixMilli()
			if at > sinceMS {
				serials = append(serials, id)
			}
			last = max(last, at)
		}
		return nil
	})
	if last < sinceMS {
		last = sinceMS
	}
	return serials, strconv.FormatInt(last, 10), err
}

// PassContent is what a card's wallet pass shows.
type PassContent struct {
	Business   *Business
	Card       *Card
	Template   *CardTemplate
	Config     *ChannelConfig
	OfferText  string
	AuthToken  string
	UpdatedAt  time.Time
	RedeemCode string
}

// Pass returns the current content of a card's pass for the web service.
func (s *Service) Pass(ctx context.Context, r PassRequest) (*PassContent, error) {
	var pc *PassContent
	err := s.read(ctx, func(tx Tx) error {
		biz, err := s.passCard(ctx, tx, r)
		if err != nil {
			return err
		}
		card, err := tx.Card(ctx, biz.ID, r.Serial, false)
		if err != nil {
			return err
		}
		tpl, err := s.cardTemplate(ctx, tx, biz.ID, card.TemplateID)
		if err != nil {
			return err
		}
		s.decorate(card, tpl)
		cfg, err := s.channelConfig(ctx, tx, biz.ID, ChannelPush)
		if err != nil {
			return err
		}
		offer, err := tx.PassOffer(ctx, biz.ID, card.ID)
		if err != nil && ErrorCode(err) != ENotFound {
			return err
		}
		pc = &PassContent{Business: biz, Card: card, Template: tpl, Config: cfg, AuthToken: r.AuthToken,
			UpdatedAt: passUpdatedAt(card, offer)}
		if offer != nil {
			pc.OfferText = offer.Text
		}
		vs, err := tx.Vouchers(ctx, VoucherFilter{BusinessID: biz.ID, CustomerID: card.CustomerID,
			Status: VoucherIssued, Now: s.clock(), Page: Page{Limit: 1}})
		if err != nil {
			return err
		}
		if len(vs) > 0 {
			pc.RedeemCode = vs[0].RedeemCode
		}
		return nil
	})
	return pc, err
}

// GoogleWalletSaved records that a card's pass was saved to Google Wallet
// (the save callback): like a first Apple registration, the first save
// records card_saved and grants PUSH consent.
func (s *Service) GoogleWalletSaved(ctx context.Context, businessID, cardID string) error {
	if !ValidID(PrefixCard, cardID) {
		return NotFound("card")
	}
	now := s.clock()
	return s.write(ctx, func(tx Tx, out *outbox) error {
		_, err := s.registerDevice(ctx, tx, out, businessID, cardID, "google", "google", "google", "wallet:google", now)
		return err
	})
}

// GoogleCallbackToken is the token in the URL of a business's Google Wallet
// save callback (/wallet/google/{business}?token=…), which authenticates it.
func (s *Service) GoogleCallbackToken(businessID string) string {
	if s.box == nil {
		return ""
	}
	mac := s.box.MAC("google/" + businessID)
	return base64.RawURLEncoding.EncodeToString(mac[:18])
}
