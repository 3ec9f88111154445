-- Users, credentials, webhook sources, the activity fact table and daily aggregates.

CREATE TABLE users (
    id          uuid PRIMARY KEY,
    login       text NOT NULL,
    github_id   bigint UNIQUE,
    timezone    text NOT NULL DEFAULT 'UTC',
    is_public   boolean NOT NULL DEFAULT false,
    settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- GitHub logins are case-insensitive.
CREATE UNIQUE INDEX users_login_key ON users (lower(login));

-- Bearer tokens for the query API; only their SHA-256 is stored.
CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    token_hash   text NOT NULL UNIQUE,
    name         text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

-- Inbound webhook sources. Secrets are sealed with AES-GCM (the hub must read them to verify
-- signatures); after a rotation the previous secret stays valid until previous_secret_expires_at.
CREATE TABLE webhook_sources (
    id                          uuid PRIMARY KEY,
    user_id                     uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    kind                        text NOT NULL CHECK (kind IN ('github', 'custom')),
    name                        text NOT NULL DEFAULT '',
    secret_sealed               bytea NOT NULL,
    previous_secret_sealed      bytea,
    previous_secret_expires_at  timestamptz,
    enabled                     boolean NOT NULL DEFAULT true,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    rotated_at                  timestamptz
);
CREATE INDEX webhook_sources_user ON webhook_sources (user_id);

-- What became of each delivery (inbound: written by the normalize worker).
CREATE TABLE webhook_deliveries (
    id            bigserial PRIMARY KEY,
    direction     text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    -- 'github-app' for the hub-wide endpoint, else the source id.
    source        text NOT NULL,
    delivery_id   text NOT NULL,
    event         text NOT NULL,
    status        text NOT NULL,
    facts         integer NOT NULL DEFAULT 0,
    error         text,
    received_at   timestamptz,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (direction, source, delivery_id)
);

-- The fact table. The natural id makes every redelivery and replay collapse onto one row; it is unique
-- per user, so nobody can pre-empt someone else's fact by forging its id on their own source.
CREATE TABLE activities (
    user_id      uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    id           text NOT NULL,
    kind         text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    value        double precision NOT NULL DEFAULT 1,
    repo         text,
    language     text,
    source       text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, id)
);
CREATE INDEX activities_user_time ON activities (user_id, occurred_at);

-- Per user and local date (in the user's time zone); rebuilt from activities when the zone changes.
CREATE TABLE daily_stats (
    user_id        uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    day            date NOT NULL,
    commits        integer NOT NULL DEFAULT 0,
    prs_opened     integer NOT NULL DEFAULT 0,
    prs_merged     integer NOT NULL DEFAULT 0,
    reviews        integer NOT NULL DEFAULT 0,
    issues_opened  integer NOT NULL DEFAULT 0,
    issues_closed  integer NOT NULL DEFAULT 0,
    comments       integer NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, day)
);
