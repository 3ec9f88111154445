-- Achievements: lifetime aggregates kept incrementally, the marks they count, and the unlocks.

-- One row per user: what achievement rules read, so evaluating them never rescans history. Fact counts
-- grow where facts are first inserted (the same statement that inserts into `activities`); mark counts
-- where a mark is first inserted; coding seconds by the difference a day's credited total changes by.
CREATE TABLE user_totals (
    user_id           uuid PRIMARY KEY REFERENCES users ON DELETE CASCADE,
    commits           bigint NOT NULL DEFAULT 0,
    prs_opened        bigint NOT NULL DEFAULT 0,
    prs_merged        bigint NOT NULL DEFAULT 0,
    reviews           bigint NOT NULL DEFAULT 0,
    issues_closed     bigint NOT NULL DEFAULT 0,
    night_owl_days    integer NOT NULL DEFAULT 0,
    early_bird_days   integer NOT NULL DEFAULT 0,
    active_weekends   integer NOT NULL DEFAULT 0,
    commit_languages  integer NOT NULL DEFAULT 0,
    coding_languages  integer NOT NULL DEFAULT 0,
    coding_seconds    double precision NOT NULL DEFAULT 0,
    longest_streak    integer NOT NULL DEFAULT 0,
    -- The latest run of consecutive active (or frozen) local days, so a new active day usually extends
    -- or falls inside it without reading the user's days again.
    streak_start      date,
    streak_end        date,
    streak_days       integer NOT NULL DEFAULT 0,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Existing activity counts once, so a hub upgraded in place starts from its history. (Marks and coding
-- time are rebuilt by `devtrack replay achievements`.)
INSERT INTO user_totals (user_id, commits, prs_opened, prs_merged, reviews, issues_closed)
SELECT user_id, count(*) FILTER (WHERE kind = 'commit'), count(*) FILTER (WHERE kind = 'pr_opened'),
       count(*) FILTER (WHERE kind = 'pr_merged'), count(*) FILTER (WHERE kind = 'review'),
       count(*) FILTER (WHERE kind = 'issue_closed')
FROM activities GROUP BY user_id;

-- Set-like facts counted once each: (night_owl | early_bird, local date), (weekend, its Saturday),
-- (commit_language | coding_language, name).
CREATE TABLE user_marks (
    user_id  uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    kind     text NOT NULL,
    key      text NOT NULL,
    PRIMARY KEY (user_id, kind, key)
);

-- The coding seconds of each local day already added to `user_totals.coding_seconds`, so a day whose
-- total changes adds only the difference.
CREATE TABLE coding_day_credit (
    user_id  uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    day      date NOT NULL,
    seconds  double precision NOT NULL,
    PRIMARY KEY (user_id, day)
);

-- Each achievement unlocks once per user: when, and by which fact.
CREATE TABLE user_achievements (
    user_id         uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    achievement_id  text NOT NULL,
    unlocked_at     timestamptz NOT NULL,
    fact_id         text,
    PRIMARY KEY (user_id, achievement_id)
);
