-- Password reset links are owner invitations with the purpose "reset": one
-- hour, single use, only the token's hash stored. An invitation's link does
-- not reset and a reset's link does not accept an invitation.
ALTER TABLE owner_invitations ADD COLUMN purpose TEXT NOT NULL DEFAULT 'invitation';
