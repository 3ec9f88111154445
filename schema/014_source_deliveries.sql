-- A source's delivery log (GET /api/v1/sources/{id}/deliveries): besides the outcome, the body's size and
-- how it was signed; deliveries refused at ingest (bad signature, stale timestamp, bad body) are logged too,
-- with status 'refused'.
ALTER TABLE webhook_deliveries ADD COLUMN bytes integer, ADD COLUMN signature text;
CREATE INDEX webhook_deliveries_source ON webhook_deliveries (source, processed_at DESC) WHERE direction = 'inbound';
