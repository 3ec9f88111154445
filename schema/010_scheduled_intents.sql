-- Time-driven intents the scheduler sent, one per user, type and local date: what keeps a restart or a
-- second scheduler from sending `streak.at_risk` (and, later, the summaries) twice.
CREATE TABLE scheduled_intents (
    user_id     uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    type        text NOT NULL,
    local_date  date NOT NULL,
    sent_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, type, local_date)
);
-- The at-risk job looks for runs that ended yesterday.
CREATE INDEX user_totals_streak_end ON user_totals (streak_end) WHERE streak_days >= 3;
