-- Heartbeat retention (issue 16): the scheduler may delete raw heartbeats older than
-- scheduler.retention.heartbeat_days; the coding time computed from them (coding_daily) stays. Per user, the time
-- before which heartbeats may be gone, so that a time-zone change recomputes only the local days still whole.
CREATE TABLE heartbeat_horizons (
    user_id    uuid PRIMARY KEY REFERENCES users ON DELETE CASCADE,
    -- Unix seconds, as heartbeats.time.
    kept_from  double precision NOT NULL
);
