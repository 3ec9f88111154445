-- Values the API accepted before it checked them strictly, made readable again (idempotent: a second run
-- finds nothing to change).
--
-- Time zones: Foundation took offset spellings such as 'UTC+0530' or 'GMT+5' that PostgreSQL rejects, or
-- reads POSIX-style with the opposite sign (so the hub and the database disagreed on the user's day).
-- Users fall back to 'UTC'; goals to no zone of their own (NULL: the user's zone).
UPDATE users SET timezone = 'UTC', goals_revision = goals_revision + 1
WHERE timezone ~* '^(GMT|UTC)[+-]' OR timezone NOT IN (SELECT name FROM pg_timezone_names);

WITH changed AS (
    UPDATE goals SET timezone = NULL, updated_at = now()
    WHERE timezone IS NOT NULL
      AND (timezone ~* '^(GMT|UTC)[+-]' OR timezone NOT IN (SELECT name FROM pg_timezone_names))
    RETURNING user_id
)
UPDATE users SET goals_revision = goals_revision + 1 WHERE id IN (SELECT user_id FROM changed);

-- Deadlines: a `once` goal runs from its creation to its deadline, and the API now takes deadlines at most
-- 10 years (3653 days) ahead. Older rows with far deadlines (year 2400, 9999, ...) are clamped to that.
WITH changed AS (
    UPDATE goals SET deadline = (created_at AT TIME ZONE 'UTC')::date + 3653, updated_at = now()
    WHERE period = 'once' AND deadline > (created_at AT TIME ZONE 'UTC')::date + 3653
    RETURNING user_id
)
UPDATE users SET goals_revision = goals_revision + 1 WHERE id IN (SELECT user_id FROM changed);
