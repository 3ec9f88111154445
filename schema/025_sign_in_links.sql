-- One-time sign-in links: an operator (`devtrack users sign-in-link`) or `devtrack dev` hands a person a URL
-- that starts a browser session for their user without GitHub (a hub without an OAuth App, a user made by
-- the CLI). Only the token's SHA-256 is stored; a link works once and expires after minutes.
CREATE TABLE sign_in_links (
    token_hash  text PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX sign_in_links_expiry ON sign_in_links (expires_at);
