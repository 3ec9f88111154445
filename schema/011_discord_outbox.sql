-- Discord settings per user: the webhook URL sealed with the operator's key (AES-GCM, like source
-- secrets), a mute, the intent types the user does not want in Discord, and why the hub stopped
-- posting (Discord answered 404 Unknown Webhook) if it did.
ALTER TABLE users
    ADD COLUMN discord_webhook_sealed  bytea,
    ADD COLUMN discord_muted_until     timestamptz,
    ADD COLUMN discord_opt_outs        text[] NOT NULL DEFAULT '{}',
    ADD COLUMN discord_disabled_at     timestamptz,
    ADD COLUMN discord_disabled_reason text;

-- Deliveries to outside destinations (Discord now, outbound webhooks next), one row per notification and
-- destination: unique, so a redelivered intent is queued once. A deliverer claims due rows with
-- FOR UPDATE SKIP LOCKED, so a retry waiting for minutes never holds a Kafka partition and survives a
-- restart. The payload is rendered when queued and sent unchanged on every attempt.
CREATE TABLE outbox (
    id               uuid PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    channel          text NOT NULL CHECK (channel IN ('discord', 'webhook')),
    destination      text NOT NULL,            -- the user id (discord), the endpoint id (webhook)
    dedupe_key       text NOT NULL,
    event_type       text NOT NULL,
    payload          jsonb NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'dropped')),
    attempts         integer NOT NULL DEFAULT 0,   -- every try, including rate-limited ones
    failures         integer NOT NULL DEFAULT 0,   -- tries that count towards the limit (errors, 5xx)
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (channel, destination, dedupe_key)
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_user ON outbox (user_id, created_at DESC);

-- Every attempt at a delivery, kept for the deliveries API and for debugging a destination.
CREATE TABLE delivery_attempts (
    outbox_id     uuid NOT NULL REFERENCES outbox ON DELETE CASCADE,
    attempt       integer NOT NULL,
    attempted_at  timestamptz NOT NULL DEFAULT now(),
    status_code   integer,
    latency_ms    integer NOT NULL,
    error         text,
    PRIMARY KEY (outbox_id, attempt)
);
