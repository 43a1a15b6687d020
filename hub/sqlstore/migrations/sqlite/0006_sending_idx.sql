-- Deliveries left sending by a task that is gone (its worker died and the
-- task was archived or lost): the delivery relay finds them through this
-- index and settles them as unknown.
CREATE INDEX deliveries_sending_idx ON deliveries (updated_at) WHERE status = 'sending';
