import Crypto
import DevTrackCore
import DevTrackStore
import Foundation
import Synchronization

/// The rolling ranges public numbers are given for, ending today in the user's zone.
enum PublicRange: String, CaseIterable, Sendable {
    case week = "7d"
    case month = "30d"
    case year = "365d"
    case all

    func dates(today: LocalDate) throws -> DateRange {
        let from =
            switch self {
            case .week: today.adding(days: -6)
            case .month: today.adding(days: -29)
            case .year: today.adding(days: -364)
            case .all: LocalDate.earliest
            }
        return try DateRange(from: min(from, today), to: today, maximumDays: .max)
    }

    var caption: String? {
        switch self {
        case .week: "Last 7 days"
        case .month: "Last 30 days"
        case .year: "Last 365 days"
        case .all: nil
        }
    }
}

/// Everything a public profile, card or badge shows of one user, read at once.
struct ProfileSnapshot: Sendable {
    struct Totals: Sendable {
        let counters: DailyCounters
        let codingSeconds: Double
    }
    let user: UserRecord
    let profile: ProfileSettings
    let today: LocalDate
    let totals: [PublicRange: Totals]
    let streak: StreakSummary
    /// The current streak's last active day.
    let currentEnd: LocalDate?
    let firstActiveDay: LocalDate?
    let achievements: [UnlockedAchievement]
    let commitLanguages: [(language: String?, commits: Int)]
    let codingLanguages: [(language: String?, seconds: Double)]
    let repositories: [RepositoryCounters]

    var displayName: String { profile.displayName ?? user.login }
    func shows(_ section: String) -> Bool { profile.sections.contains(section) }
}

/// A public answer's bytes as sent: rendered once per profile snapshot and kept with it.
struct PublicBody: Sendable {
    let bytes: [UInt8]
    let contentType: String
    let tag: String
    /// `Cache-Control` max-age when it is not the configured one (the neutral "not available" answers).
    let maxAge: Int?

    init(bytes: [UInt8], contentType: String, maxAge: Int? = nil) {
        (self.bytes, self.contentType, self.maxAge) = (bytes, contentType, maxAge)
        tag = EntityTag.of(bytes)
    }
}

/// Public profiles read through a short-lived cache, with every answer rendered from them (a card in a theme, a
/// badge…): a README image is fetched many times, so a warm request costs a lookup, and a login that is not public
/// costs one query per `lifetime` however often it is asked for. Bounded: a new login finding `maxEntries` drops the
/// expired ones, and the whole cache when none has expired; a login keeps at most `maxBodiesPerLogin` answers, and all
/// of them together at most `maxBodyBytes`.
final class PublicProfiles: Sendable {
    struct Entry: Sendable {
        let expires: ContinuousClock.Instant
        let snapshot: ProfileSnapshot?
        var bodies: [String: PublicBody] = [:]
        var bodyBytes = 0
    }

    /// The entries, and the bytes of all their kept answers (bounded by `maxBodyBytes`).
    struct State: Sendable {
        var entries: [String: Entry] = [:]
        var bodyBytes = 0
        var lastSweep: ContinuousClock.Instant?

        mutating func remove(_ key: String) {
            if let gone = entries.removeValue(forKey: key) { bodyBytes -= gone.bodyBytes }
        }

        mutating func replace(with kept: [String: Entry]) {
            entries = kept
            bodyBytes = kept.values.reduce(0) { $0 + $1.bodyBytes }
        }
    }

    static let maxBodiesPerLogin = 64
    /// Kept answers' bytes at most (beyond, answers are rendered for each request until entries expire).
    static let maxBodyBytes = 64 << 20
    let profiles: ProfileRepository
    let activity: ActivityRepository
    let codingTime: CodingTimeRepository
    let achievements: AchievementRepository
    let streakFreezes: StreakFreezeRepository
    let lifetime: Duration
    let maxEntries: Int
    private let cache = Mutex(State())

    init(database: Database, lifetime: Duration, maxEntries: Int = 20_000) {
        profiles = ProfileRepository(database)
        activity = ActivityRepository(database)
        codingTime = CodingTimeRepository(database)
        achievements = AchievementRepository(database)
        streakFreezes = StreakFreezeRepository(database)
        (self.lifetime, self.maxEntries) = (lifetime, maxEntries)
    }

    /// The user's snapshot when their profile is public; nil for a private or unknown login alike.
    func snapshot(login: String) async throws -> ProfileSnapshot? {
        try await entry(login: login).snapshot
    }

    /// The answer `variant` names (a route and its parameters, normalized) for `login`: kept with the snapshot it was
    /// rendered from, else rendered by `render` from it (nil: private or unknown) and kept.
    func body(login: String, variant: String, render: (ProfileSnapshot?) throws -> PublicBody) async throws -> PublicBody {
        let key = login.lowercased()
        let entry = try await entry(login: login)
        if let body = entry.bodies[variant] { return body }
        let body = try render(entry.snapshot)
        cache.withLock { cache in
            // Over budget: drop what has expired, at most once a second (the sweep walks every entry).
            let now = ContinuousClock.now
            if cache.bodyBytes + body.bytes.count > Self.maxBodyBytes, cache.lastSweep.map({ now - $0 > .seconds(1) }) ?? true {
                cache.lastSweep = now
                cache.replace(with: cache.entries.filter { $0.value.expires > now })
            }
            guard let kept = cache.entries[key], kept.expires == entry.expires, kept.bodies.count < Self.maxBodiesPerLogin,
                kept.bodies[variant] == nil, cache.bodyBytes + body.bytes.count <= Self.maxBodyBytes
            else { return }
            cache.entries[key]?.bodies[variant] = body
            cache.entries[key]?.bodyBytes += body.bytes.count
            cache.bodyBytes += body.bytes.count
        }
        return body
    }

    private func entry(login: String) async throws -> Entry {
        let key = login.lowercased()
        let now = ContinuousClock.now
        if let cached = cache.withLock({ $0.entries[key] }), cached.expires > now { return cached }
        let entry = Entry(expires: now + lifetime, snapshot: try await read(login: login))
        cache.withLock { cache in
            cache.remove(key)
            if cache.entries.count >= maxEntries {
                cache.replace(with: cache.entries.filter { $0.value.expires > now })
                if cache.entries.count >= maxEntries { cache.replace(with: [:]) }
            }
            cache.entries[key] = entry
        }
        return entry
    }

    /// Drops what this process cached of `login` (its owner changed the profile; other api processes see the
    /// change when their copy expires).
    func forget(login: String) {
        cache.withLock { $0.remove(login.lowercased()) }
    }

    private func read(login: String) async throws -> ProfileSnapshot? {
        guard let (user, profile) = try await profiles.publicProfile(login: login) else { return nil }
        let today = LocalDate(Date(), in: TimeZones.named(user.timezone) ?? .gmt)
        // Every day once (two reads), summed per range here.
        let allTime = try PublicRange.all.dates(today: today)
        let days = try await activity.dailyCounters(userID: user.id, range: allTime)
        let coding = try await codingTime.codingTotals(userID: user.id, range: allTime)
        var totals: [PublicRange: ProfileSnapshot.Totals] = [:]
        for range in PublicRange.allCases {
            let dates = try range.dates(today: today)
            totals[range] = .init(
                counters: days.filter { $0.key >= dates.from }.values.reduce(DailyCounters(), +),
                codingSeconds: coding.filter { $0.key >= dates.from }.values.reduce(0) { $0 + $1.seconds })
        }
        let activeDays = try await activity.activeDays(userID: user.id)
        let streak = StreakSummary.compute(activeDays: activeDays, frozenDays: try await streakFreezes.streakFreezes(userID: user.id), today: today)
        let currentEnd = streak.current > 0 ? activeDays.last { $0 <= today } : nil
        return ProfileSnapshot(
            user: user, profile: profile, today: today, totals: totals, streak: streak, currentEnd: currentEnd,
            firstActiveDay: activeDays.first,
            achievements: (try await achievements.unlockedAchievements(userIDs: [user.id]))[user.id, default: []].sorted {
                ($0.unlockedAt, $0.achievementID) > ($1.unlockedAt, $1.achievementID)
            },
            commitLanguages: try await activity.commitsByLanguage(
                userID: user.id, zone: user.timezone, range: try PublicRange.all.dates(today: today)),
            codingLanguages: try await codingTime.codingByLanguage(userID: user.id, range: try PublicRange.month.dates(today: today)),
            repositories: try await activity.publicRepositoryCounters(userID: user.id, limit: 10))
    }
}

/// A strong validator of a response body: the same bytes give the same tag.
enum EntityTag {
    static func of(_ bytes: some Sequence<UInt8>) -> String {
        let digest = SHA256.hash(data: Array(bytes))
        return "\"" + digest.prefix(12).map { String(format: "%02x", $0) }.joined() + "\""
    }

    /// Whether an `If-None-Match` header names `tag` (or is `*`).
    static func matches(_ header: String?, _ tag: String) -> Bool {
        guard let header else { return false }
        return header.split(separator: ",").contains { part in
            let candidate = part.trimmingCharacters(in: .whitespaces)
            return candidate == "*" || candidate == tag || candidate == "W/" + tag
        }
    }
}
