-- Ranks without counting everyone above: each score falls in a bucket (every score below 1,024 its own; above,
-- 64 buckets per doubling), and each board keeps how many users each bucket holds. A rank is then the users of
-- the buckets above (a few thousand rows at most) plus those of its own bucket with a higher score (one small
-- index range), whatever the rank.
CREATE FUNCTION leaderboard_bucket(score bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN score < 1024 THEN score ELSE 1024 + floor(64 * log(2, score / 1024.0))::bigint END
$$;

ALTER TABLE leaderboard_scores ADD COLUMN bucket bigint;
UPDATE leaderboard_scores SET bucket = leaderboard_bucket(score);
ALTER TABLE leaderboard_scores ALTER COLUMN bucket SET NOT NULL;
CREATE INDEX leaderboard_scores_bucket ON leaderboard_scores (metric, period, language, bucket, score);

CREATE TABLE leaderboard_buckets (
    metric    text NOT NULL,
    period    text NOT NULL,
    language  text NOT NULL,
    bucket    bigint NOT NULL,
    users     bigint NOT NULL,
    PRIMARY KEY (metric, period, language, bucket)
);
INSERT INTO leaderboard_buckets (metric, period, language, bucket, users)
    SELECT metric, period, language, bucket, count(*) FROM leaderboard_scores GROUP BY 1, 2, 3, 4;
