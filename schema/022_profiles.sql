-- What the activity feed shows of a fact (a one-line title and a link, where the source gave them), and
-- whether its repository is private as the source said (NULL: not said). Public profiles and cards name only
-- repositories every one of whose facts says public.
ALTER TABLE activities ADD COLUMN title text, ADD COLUMN url text, ADD COLUMN repo_private boolean;

-- A user's public face: whether their profile, cards and badges are shown to anyone (default no), what it
-- says about them, which of its sections it shows, and whether they appear on the leaderboard. One row per
-- user who ever changed it; no row means the defaults.
CREATE TABLE profiles (
    user_id             uuid PRIMARY KEY REFERENCES users ON DELETE CASCADE,
    is_public           boolean NOT NULL DEFAULT false,
    display_name        text,
    bio                 text,
    leaderboard_opt_in  boolean NOT NULL DEFAULT false,
    sections            text[] NOT NULL DEFAULT '{summary,streak,achievements,languages,repositories,coding}',
    updated_at          timestamptz NOT NULL DEFAULT now()
);
INSERT INTO profiles (user_id, is_public) SELECT id, true FROM users WHERE is_public;
ALTER TABLE users DROP COLUMN is_public;

-- Requests per client address and fixed window for the unauthenticated routes, shared by every api process.
CREATE UNLOGGED TABLE request_windows (
    bucket        text NOT NULL,
    window_start  timestamptz NOT NULL,
    requests      integer NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
