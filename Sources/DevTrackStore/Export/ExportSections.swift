/// What a data export holds, section by section, in the order it is written: one query per section over the user's
/// rows (`$1` is the user's id), naming every column it gives away — no secret, hash or sealed value is among them
/// (a Discord URL or a source's secret is shown as whether one is set).
enum ExportSections {
    struct Section: Sendable {
        let name: String
        /// `SELECT … FROM … WHERE … = $1 ORDER BY …`: the rows as they go out.
        let rows: String
    }

    static let all: [Section] = [
        Section(
            name: "profile",
            rows: """
                SELECT u.id, u.login, u.github_id, u.timezone, u.created_at, p.is_public, p.display_name, p.bio, p.leaderboard_opt_in,
                       p.sections
                FROM users u LEFT JOIN profiles p ON p.user_id = u.id WHERE u.id = $1
                """),
        Section(
            name: "settings",
            rows: """
                SELECT settings, discord_webhook_sealed IS NOT NULL AS discord_webhook_set, discord_muted_until, discord_opt_outs,
                       discord_disabled_at, discord_disabled_reason
                FROM users WHERE id = $1
                """),
        Section(
            name: "linked_accounts",
            rows: """
                SELECT a.id, a.github_id, a.login, a.scopes, a.status, a.linked_at, a.updated_at, s.covered_from, s.covered_to,
                       s.last_success_at, s.last_error, s.requests, s.facts
                FROM github_accounts a LEFT JOIN github_sync_state s ON s.account_id = a.id WHERE a.user_id = $1 ORDER BY a.linked_at, a.id
                """),
        Section(
            name: "tokens",
            rows: """
                SELECT id, name, created_at, last_used_at, expires_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY created_at, id
                """),
        Section(
            name: "sessions",
            rows: "SELECT created_at, last_used_at, expires_at FROM sessions WHERE user_id = $1 ORDER BY created_at, id"),
        Section(
            name: "coding_keys",
            rows: """
                SELECT id, name, hint, created_at, last_used_at, revoked_at FROM coding_api_keys WHERE user_id = $1 ORDER BY created_at, id
                """),
        Section(
            name: "sources",
            rows: """
                SELECT id, kind, name, enabled, mapping, created_at, rotated_at FROM webhook_sources WHERE user_id = $1 ORDER BY created_at, id
                """),
        Section(
            name: "webhooks",
            rows: """
                SELECT id, name, url, events, enabled, disabled_reason, created_at, updated_at
                FROM webhook_endpoints WHERE user_id = $1 ORDER BY created_at, id
                """),
        Section(
            name: "goals",
            rows: """
                SELECT id, title, target, unit, period, deadline, timezone, created_at, updated_at FROM goals WHERE user_id = $1
                ORDER BY created_at, id
                """),
        Section(
            name: "goal_history",
            rows: """
                SELECT c.goal_id, c.period_start, c.completed_at FROM goal_completions c JOIN goals g ON g.id = c.goal_id
                WHERE g.user_id = $1 ORDER BY c.goal_id, c.period_start
                """),
        Section(
            name: "streak_freezes",
            rows: "SELECT day, created_at FROM streak_freezes WHERE user_id = $1 ORDER BY day"),
        Section(
            name: "achievements",
            rows: "SELECT achievement_id, unlocked_at, fact_id FROM user_achievements WHERE user_id = $1 ORDER BY unlocked_at, achievement_id"),
        Section(
            name: "totals",
            rows: """
                SELECT commits, prs_opened, prs_merged, reviews, issues_closed, night_owl_days, early_bird_days, active_weekends,
                       commit_languages, coding_languages, coding_seconds, longest_streak, streak_start, streak_end, streak_days, updated_at
                FROM user_totals WHERE user_id = $1
                """),
        Section(
            name: "daily_stats",
            rows: """
                SELECT day, commits, prs_opened, prs_merged, reviews, issues_opened, issues_closed, comments FROM daily_stats
                WHERE user_id = $1 ORDER BY day
                """),
        Section(
            name: "coding_daily",
            rows: """
                SELECT day, project, language, editor, branch, category, machine, seconds FROM coding_daily WHERE user_id = $1
                ORDER BY day, project, language, editor, branch, category, machine
                """),
        Section(
            name: "coding_reported",
            rows: "SELECT day, seconds, file_count, project_count FROM coding_reported WHERE user_id = $1 ORDER BY day"),
        Section(
            name: "facts",
            rows: """
                SELECT id, kind, occurred_at, value, repo, repo_private, language, title, url, source, recorded_at FROM activities
                WHERE user_id = $1 ORDER BY occurred_at, id
                """),
        Section(
            name: "heartbeats",
            rows: """
                SELECT time, entity, type, category, project, branch, language, editor, machine, is_write, received_at FROM heartbeats
                WHERE user_id = $1 ORDER BY time, entity
                """),
        Section(
            name: "notifications",
            rows: """
                SELECT id, type, title, body, data, created_at, read_at FROM notifications WHERE user_id = $1 ORDER BY created_at, id
                """),
        Section(
            name: "deliveries",
            rows: """
                SELECT id, channel, destination, event_type, payload, status, attempts, failures, last_error, next_attempt_at, created_at,
                       updated_at
                FROM outbox WHERE user_id = $1 ORDER BY created_at, id
                """),
        Section(
            name: "delivery_attempts",
            rows: """
                SELECT a.outbox_id, a.attempt, a.attempted_at, a.status_code, a.latency_ms, a.error
                FROM delivery_attempts a JOIN outbox o ON o.id = a.outbox_id WHERE o.user_id = $1 ORDER BY a.outbox_id, a.attempt
                """),
        Section(
            name: "delivery_log",
            rows: """
                SELECT source, delivery_id, event, status, facts, error, received_at, processed_at, bytes FROM webhook_deliveries
                WHERE direction = 'inbound' AND source IN (SELECT id::text FROM webhook_sources WHERE user_id = $1)
                ORDER BY source, processed_at, id
                """),
    ]
}
