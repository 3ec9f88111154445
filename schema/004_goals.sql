-- Goals: a target of some unit per period, in the goal's (or the user's) time zone. Progress is computed
-- from the facts and aggregates inside the current period, so replays cannot inflate it.
CREATE TABLE goals (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    title       text NOT NULL,
    target      integer NOT NULL CHECK (target >= 1),
    unit        text NOT NULL,
    period      text NOT NULL CHECK (period IN ('once', 'daily', 'weekly', 'monthly')),
    deadline    date,
    timezone    text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX goals_user ON goals (user_id);
-- Counting a goal's facts in its period.
CREATE INDEX activities_user_kind_time ON activities (user_id, kind, occurred_at);
