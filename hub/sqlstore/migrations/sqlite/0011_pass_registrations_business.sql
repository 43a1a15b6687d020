-- AudienceReach finds a business's customers with a registered wallet device
-- from its pass registrations (then the cards by primary key), not by
-- probing every card.

CREATE INDEX pass_registrations_business_idx ON pass_registrations (business_id, card_id);
