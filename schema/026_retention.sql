-- Retention (the scheduler, `scheduler.retention`): the oldest rows of each log are found by index, a bounded
-- batch at a time, without scanning what is kept.
CREATE INDEX webhook_deliveries_processed ON webhook_deliveries (processed_at);
CREATE INDEX outbox_finished_created ON outbox (created_at) WHERE status <> 'pending';
CREATE INDEX notifications_read ON notifications (read_at) WHERE read_at IS NOT NULL;
