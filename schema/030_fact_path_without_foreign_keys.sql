-- Issue 17: storing a batch of facts spent 18% of its statement in the foreign-key triggers of activities, daily_stats
-- and user_totals (each a lookup of the user's row, per row written). The references hold without them, as for the
-- notification path (migration 016): the metrics statement writes facts, daily stats and totals only for users it has
-- locked FOR SHARE in the same statement; every other writer of daily_stats and user_totals joins or checks `users`;
-- account deletion deletes these rows itself, under the user's row lock, and its sweep removes any written just after.
ALTER TABLE activities DROP CONSTRAINT activities_user_id_fkey;
ALTER TABLE daily_stats DROP CONSTRAINT daily_stats_user_id_fkey;
ALTER TABLE user_totals DROP CONSTRAINT user_totals_user_id_fkey;
