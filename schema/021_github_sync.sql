-- The GitHub sync's progress per linked account: which window of history has been read, where a run in
-- progress stands (so a restart or a rate limit resumes there), when the next run is due, and a lease so that
-- one account is synced by one process at a time.
CREATE TABLE github_sync_state (
    account_id       uuid PRIMARY KEY REFERENCES github_accounts ON DELETE CASCADE,
    -- The run in progress (or the last one): its step and cursors, as the sync's SyncProgress JSON.
    progress         jsonb,
    -- Everything GitHub reported between these two instants has been turned into facts.
    covered_from     timestamptz,
    covered_to       timestamptz,
    next_run_at      timestamptz NOT NULL DEFAULT now(),
    lease_owner      text,
    lease_until      timestamptz,
    last_error       text,
    last_success_at  timestamptz,
    requests         bigint NOT NULL DEFAULT 0,
    facts            bigint NOT NULL DEFAULT 0,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX github_sync_state_due ON github_sync_state (next_run_at);
