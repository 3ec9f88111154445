-- Account deletion (issue 16). A deleted user's rows go in one transaction, the tables without foreign keys
-- (notifications, outbox, delivery_attempts, leaderboard_changes, and webhook_deliveries by source) by hand. A
-- worker's transaction that read the user just before that commit may still write such a row after it, so for a
-- short while the deleted id (and its sources' ids, nothing else) stays here, and each scheduler tick deletes
-- whatever was written under them since; then the scheduler deletes this row too.
CREATE TABLE account_deletions (
    user_id     uuid PRIMARY KEY,
    source_ids  text[] NOT NULL,
    deleted_at  timestamptz NOT NULL DEFAULT now()
);
