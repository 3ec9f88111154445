-- Outbound webhooks (the original DevTrack's "custom webhooks"): a user's endpoints, the events each wants,
-- and its signing secret sealed with the operator's key. After a rotation the previous secret keeps
-- signing alongside the new one until previous_secret_expires_at, so receivers can switch without a gap.
CREATE TABLE webhook_endpoints (
    id                          uuid PRIMARY KEY,
    user_id                     uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    name                        text NOT NULL,
    url                         text NOT NULL,
    events                      text[] NOT NULL,
    secret_sealed               bytea NOT NULL,
    previous_secret_sealed      bytea,
    previous_secret_expires_at  timestamptz,
    enabled                     boolean NOT NULL DEFAULT true,
    disabled_reason             text,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_user ON webhook_endpoints (user_id);
