-- Signing in with GitHub: linked GitHub accounts, browser sessions, the OAuth flow's one-time states,
-- tokens that expire, and the GitHub sync's progress per account.

-- The GitHub identities credited to a user: the one they signed up with and any they linked since. A GitHub
-- account belongs to at most one hub user. The token (sealed with the hub's key) is what the GitHub sync
-- reads with; it is NULL for an account known only by id (created by `devtrack users create --github-id`).
CREATE TABLE github_accounts (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    github_id     bigint NOT NULL UNIQUE,
    login         text NOT NULL,
    token_sealed  bytea,
    scopes        text NOT NULL DEFAULT '',
    -- 'needs_reauth' once GitHub refuses the token: the sync stops until the user signs in again.
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'needs_reauth')),
    linked_at     timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX github_accounts_user ON github_accounts (user_id);
CREATE INDEX github_accounts_login ON github_accounts (lower(login));

INSERT INTO github_accounts (id, user_id, github_id, login)
SELECT gen_random_uuid(), id, github_id, login FROM users WHERE github_id IS NOT NULL
ON CONFLICT (github_id) DO NOTHING;

-- Tokens a user makes for scripts and plugins may expire; an expired token is refused like a revoked one.
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;

-- Browser sessions: the cookie holds a random value, only its SHA-256 is stored. State-changing requests
-- authenticated by the cookie must carry the session's CSRF token (also stored as a hash).
CREATE TABLE sessions (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    token_hash    text NOT NULL UNIQUE,
    csrf_hash     text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    last_used_at  timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- One row per started sign-in: the `state` sent to GitHub (hashed), the PKCE verifier (sealed), a hash of
-- the nonce in the browser's cookie (the state is bound to the browser that started the flow), and the
-- user to link the account to when a signed-in user adds one. Used once: `used_at` is set on the callback.
CREATE TABLE oauth_states (
    state_hash    text PRIMARY KEY,
    browser_hash  text NOT NULL,
    verifier_sealed bytea NOT NULL,
    link_user_id  uuid REFERENCES users ON DELETE CASCADE,
    return_to     text NOT NULL DEFAULT '/',
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz
);
CREATE INDEX oauth_states_expiry ON oauth_states (expires_at);
