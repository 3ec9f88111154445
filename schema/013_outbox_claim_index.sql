-- Deliverers claim the oldest due rows of one channel: an index in exactly that order lets the claim stop
-- after the rows it takes instead of sorting every pending row on each claim (seen in the delivery bench).
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (channel, next_attempt_at, created_at) WHERE status = 'pending';
