-- In-app notifications: one row per notification intent. The id is the intent's (derived from its dedupe
-- key) and the dedupe key is unique, so a redelivered or re-emitted intent never shows twice.
CREATE TABLE notifications (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    type        text NOT NULL,
    title       text NOT NULL,
    body        text NOT NULL,
    data        jsonb NOT NULL DEFAULT '{}'::jsonb,
    dedupe_key  text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    read_at     timestamptz
);
-- Newest first, with a (created_at, id) cursor.
CREATE INDEX notifications_user_created ON notifications (user_id, created_at DESC, id DESC);
CREATE INDEX notifications_user_unread ON notifications (user_id) WHERE read_at IS NULL;
