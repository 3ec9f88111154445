-- Rules that several queries apply, written once here rather than in each query. Both are plain SQL
-- functions of one SELECT, so PostgreSQL inlines them into the calling query (no per-call overhead, and
-- the indexes on (user_id, day) are used as before).

-- A local day is active when it has a contribution (a commit, a PR opened, a review, an issue opened) or
-- some coding time, from heartbeats or as the original plugin reported it. Streaks, "active days" goals,
-- weekly summaries and achievements all count these days.
CREATE OR REPLACE FUNCTION active_days(p_user uuid, p_from date, p_to date) RETURNS TABLE (day date)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT day FROM daily_stats
    WHERE user_id = p_user AND day BETWEEN p_from AND p_to AND commits + prs_opened + reviews + issues_opened > 0
    UNION SELECT day FROM coding_daily WHERE user_id = p_user AND day BETWEEN p_from AND p_to AND seconds > 0
    UNION SELECT day FROM coding_reported WHERE user_id = p_user AND day BETWEEN p_from AND p_to AND seconds > 0
$$;

-- A local day's coding time from both sources. The two measure the same work, so they are not added:
-- `seconds`, the larger of the two, is what metrics, goals and summaries count.
CREATE OR REPLACE FUNCTION coding_days(p_user uuid, p_from date, p_to date)
RETURNS TABLE (day date, heartbeat_seconds double precision, reported_seconds double precision, seconds double precision)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT day, sum(h), sum(r), greatest(sum(h), sum(r)) FROM (
        SELECT day, seconds AS h, 0::double precision AS r FROM coding_daily
        WHERE user_id = p_user AND day BETWEEN p_from AND p_to
        UNION ALL
        SELECT day, 0, seconds FROM coding_reported WHERE user_id = p_user AND day BETWEEN p_from AND p_to
    ) t GROUP BY day
$$;
