-- Local coding time: WakaTime-compatible API keys, raw heartbeats, and durations per local day.

-- Keys the editor plugins send (a UUID v4, as the wakatime CLI requires); only their SHA-256 is stored.
CREATE TABLE coding_api_keys (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    name         text NOT NULL,
    key_hash     text NOT NULL UNIQUE,
    hint         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX coding_api_keys_user ON coding_api_keys (user_id);

-- Heartbeats by their natural key: a resent batch or an offline-queue replay inserts nothing twice.
CREATE TABLE heartbeats (
    user_id     uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    time        double precision NOT NULL,
    entity      text NOT NULL,
    type        text NOT NULL,
    category    text NOT NULL,
    project     text NOT NULL,
    branch      text NOT NULL,
    language    text NOT NULL,
    editor      text NOT NULL,
    machine     text NOT NULL,
    is_write    boolean NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, time, entity)
);

-- Coding seconds per user, local day and dimension combination, recomputed from `heartbeats` for every
-- day a batch touches (so arrival order never matters).
CREATE TABLE coding_daily (
    user_id   uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    day       date NOT NULL,
    project   text NOT NULL,
    language  text NOT NULL,
    editor    text NOT NULL,
    branch    text NOT NULL,
    category  text NOT NULL,
    machine   text NOT NULL,
    seconds   double precision NOT NULL,
    PRIMARY KEY (user_id, day, project, language, editor, branch, category, machine)
);
