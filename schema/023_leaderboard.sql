-- The leaderboard: each listed user's score per metric, rolling period (the last 7, 30 or 365 local days, or all
-- time) and language ('' for all), recomputed by the scheduler for users whose numbers changed and for every user
-- of a zone whose local date moved on. Only users with a public profile who opted in have rows; scores of zero have
-- none. Ranking reads one index range in score order, never every user.
CREATE TABLE leaderboard_scores (
    metric    text NOT NULL,
    period    text NOT NULL,
    language  text NOT NULL DEFAULT '',
    user_id   uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    score     bigint NOT NULL,
    PRIMARY KEY (metric, period, language, user_id)
);
CREATE INDEX leaderboard_scores_rank ON leaderboard_scores (metric, period, language, score DESC, user_id DESC);
CREATE INDEX leaderboard_scores_user ON leaderboard_scores (user_id);

-- Users whose scores may have changed since the scheduler last computed them (new facts, coding time, a zone,
-- a profile or a streak freeze changed). No foreign key: a deleted user's row is dropped when taken.
CREATE TABLE leaderboard_changes (
    user_id  uuid PRIMARY KEY
);
INSERT INTO leaderboard_changes (user_id) SELECT id FROM users;

-- The local date each zone had when its users' scores were last recomputed: a new date drops a day off every
-- rolling period (and may end a streak), so all of the zone's listed users are recomputed.
CREATE TABLE leaderboard_zone_days (
    timezone  text PRIMARY KEY,
    day       date NOT NULL
);
