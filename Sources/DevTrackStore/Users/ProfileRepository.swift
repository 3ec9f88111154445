import DevTrackCore
import Foundation
import PostgresNIO

/// What a user shows to others (`profiles`): no row means the defaults, a private profile.
public struct ProfileSettings: Sendable, Equatable {
    /// The parts a public profile can show, in the order it shows them.
    public static let sections = ["summary", "streak", "achievements", "languages", "repositories", "coding"]

    public var isPublic = false
    public var displayName: String?
    public var bio: String?
    public var leaderboardOptIn = false
    public var sections = ProfileSettings.sections

    public init() {}
}

/// A change to a profile: nil leaves a field as it is; `.some(nil)` clears a text.
public struct ProfileChange: Sendable {
    public var isPublic: Bool?
    public var displayName: String??
    public var bio: String??
    public var leaderboardOptIn: Bool?
    public var sections: [String]?

    public init() {}

    public var isEmpty: Bool { isPublic == nil && displayName == nil && bio == nil && leaderboardOptIn == nil && sections == nil }
}

/// Public profiles' settings (`profiles`).
public struct ProfileRepository: Repository {
    let database: Database

    public init(_ database: Database) { self.database = database }
}

extension ProfileRepository {
    public func profile(userID: UUID) async throws -> ProfileSettings {
        try await first(
            client.query(
                "SELECT is_public, display_name, bio, leaderboard_opt_in, sections FROM profiles WHERE user_id = \(userID)", logger: logger)
        ) ?? ProfileSettings()
    }

    /// Applies `change` (creating the row with the defaults first) and returns the profile as it is now.
    @discardableResult
    public func updateProfile(userID: UUID, _ change: ProfileChange) async throws -> ProfileSettings {
        guard !change.isEmpty else { return try await profile(userID: userID) }
        return try await database.transaction { transaction in
            let profile = try await upsert(userID: userID, change, on: transaction)
            // Off the leaderboard in the same transaction when no longer listed; on it again at the scheduler's next
            // tick (the row in `leaderboard_changes`, locked until this commits, is taken only after).
            if !(profile.isPublic && profile.leaderboardOptIn) {
                try await LeaderboardRepository(database).removeScores(userID: userID, on: transaction)
            }
            try await LeaderboardRepository(database).markChanged([userID], on: transaction)
            return profile
        }
    }

    private func upsert(userID: UUID, _ change: ProfileChange, on transaction: DatabaseTransaction) async throws -> ProfileSettings {
        let rows = try await transaction.connection.query(
            """
            INSERT INTO profiles AS p (user_id, is_public, display_name, bio, leaderboard_opt_in, sections)
            VALUES (\(userID), coalesce(\(change.isPublic), false), \(change.displayName ?? nil), \(change.bio ?? nil),
                    coalesce(\(change.leaderboardOptIn), false), coalesce(\(change.sections), \(ProfileSettings.sections)))
            ON CONFLICT (user_id) DO UPDATE SET
                is_public = coalesce(\(change.isPublic), p.is_public),
                display_name = CASE WHEN \(change.displayName != nil) THEN EXCLUDED.display_name ELSE p.display_name END,
                bio = CASE WHEN \(change.bio != nil) THEN EXCLUDED.bio ELSE p.bio END,
                leaderboard_opt_in = coalesce(\(change.leaderboardOptIn), p.leaderboard_opt_in),
                sections = coalesce(\(change.sections), p.sections),
                updated_at = now()
            RETURNING is_public, display_name, bio, leaderboard_opt_in, sections
            """, logger: logger)
        return try await first(rows) ?? ProfileSettings()
    }

    /// The user behind `login` and their profile, only when the profile is public: a private and an unknown
    /// login are the same nil.
    public func publicProfile(login: String) async throws -> (user: UserRecord, profile: ProfileSettings)? {
        let rows = try await client.query(
            """
            SELECT u.id, u.login, u.github_id, u.timezone, p.is_public, p.display_name, p.bio, p.leaderboard_opt_in, p.sections
            FROM users u JOIN profiles p ON p.user_id = u.id
            WHERE lower(u.login) = lower(\(login)) AND p.is_public
            """, logger: logger)
        for try await (id, login, githubID, timezone, isPublic, displayName, bio, optIn, sections) in rows.decode(
            (UUID, String, Int64?, String, Bool, String?, String?, Bool, [String]).self)
        {
            return (
                UserRecord(id: id, login: login, githubID: githubID, timezone: timezone),
                Self.settings(isPublic, displayName, bio, optIn, sections)
            )
        }
        return nil
    }

    private func first(_ rows: PostgresRowSequence) async throws -> ProfileSettings? {
        for try await (isPublic, displayName, bio, optIn, sections) in rows.decode((Bool, String?, String?, Bool, [String]).self) {
            return Self.settings(isPublic, displayName, bio, optIn, sections)
        }
        return nil
    }

    private static func settings(_ isPublic: Bool, _ displayName: String?, _ bio: String?, _ optIn: Bool, _ sections: [String]) -> ProfileSettings {
        var settings = ProfileSettings()
        (settings.isPublic, settings.displayName, settings.bio, settings.leaderboardOptIn) = (isPublic, displayName, bio, optIn)
        // Kept in the catalogue's order, and only what the catalogue knows (a stored value never breaks a read).
        settings.sections = ProfileSettings.sections.filter(sections.contains)
        return settings
    }
}
