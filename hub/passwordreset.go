package hub

import (
	"context"
	"time"
)

// Purposes of an owner's one-time link (Invitation.Purpose).
const (
	// PurposeInvitation sets the password of an invited owner (InvitationTTL).
	PurposeInvitation = "invitation"
	// PurposeReset sets a new password after a reset by email (PasswordResetTTL).
	PurposeReset = "reset"
)

const (
	// PasswordResetTTL is how long a password reset link can be used.
	PasswordResetTTL = time.Hour
	// resetPath is where the console serves password reset links.
	resetPath = "/console/reset/"
)

// LinkPurpose is the link's purpose; "" is an invitation.
func (inv *Invitation) LinkPurpose() string {
	if inv.Purpose == "" {
		return PurposeInvitation
	}
	return inv.Purpose
}

// OwnerMailer sends an email to an owner through a business's email channel
// configuration (the provider "email"), outside the customers' delivery
// ledger: the console's password reset. cmd/hub implements it with the
// email channel's sender. m.To is the owner's address; m.DeliveryID names
// the message (its Message-ID).
type OwnerMailer interface {
	SendOwnerEmail(ctx context.Context, cfg *ChannelConfig, m Message) error
}

// ResetMail composes a password reset email for an owner: the link is the
// one-time URL that sets a new password. The console writes it in the
// owner's language.
type ResetMail func(o *Owner, link string) (subject, text string)

// RequestPasswordReset emails a one-time link (PasswordResetTTL, single use)
// to the owner with the email, when there is one and their business has an
// enabled email channel (and the Service has an OwnerMailer); using the link
// sets a new password and ends all the owner's sessions. It reports whether
// it sent an email; an unknown email, or a business without an email channel,
// is no error, so that callers can answer every request alike (without an
// email channel, a new invitation from the operator resets the password:
// InviteOwner). The mail's delay reveals that an account exists: callers
// that answer a browser run this after answering.
func (s *Service) RequestPasswordReset(ctx context.Context, email string, compose ResetMail) (bool, error) {
	email, ok := NormalizeEmail(email)
	if !ok || s.ownerMail == nil || s.box == nil {
		return false, nil
	}
	var inv *Invitation
	var cfg *ChannelConfig
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		o, err := tx.OwnerByEmail(ctx, email)
		if ErrorCode(err) == ENotFound {
			return nil
		}
		if err != nil {
			return err
		}
		c, err := s.channelConfig(ctx, tx, o.BusinessID, ChannelEmail)
		if ErrorCode(err) == ENotFound {
			return nil
		}
		if err != nil {
			return err
		}
		if !c.Enabled {
			return nil
		}
		cfg = c
		inv, err = s.newLink(ctx, tx, o, PurposeReset)
		return err
	})
	if err != nil || inv == nil {
		return false, err
	}
	subject, text := compose(inv.Owner, inv.URL)
	m := Message{DeliveryID: inv.ID, BusinessID: inv.BusinessID, Channel: ChannelEmail, To: inv.Owner.Email,
		Language: inv.Owner.Language, Subject: subject, Text: text}
	if err := s.ownerMail.SendOwnerEmail(ctx, cfg, m); err != nil {
		return false, err
	}
	s.log.InfoContext(ctx, "password reset link sent", "owner_id", inv.OwnerID, "business_id", inv.BusinessID)
	return true, nil
}

// PasswordReset returns the usable password reset link of a token with its
// Owner; a used, expired or unknown one is not_found.
func (s *Service) PasswordReset(ctx context.Context, token string) (*Invitation, error) {
	var inv *Invitation
	err := s.read(ctx, func(tx Tx) error {
		var err error
		inv, err = s.usableLink(ctx, tx, token, PurposeReset)
		return err
	})
	return inv, err
}

// ResetPassword sets the owner's new password through a password reset
// link, which then cannot be used again, and ends all the owner's sessions.
func (s *Service) ResetPassword(ctx context.Context, token, password string) (*Owner, error) {
	return s.setPassword(ctx, token, password, PurposeReset)
}
