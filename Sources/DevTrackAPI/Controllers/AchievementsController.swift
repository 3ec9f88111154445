import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import Hummingbird

/// `GET /api/v1/achievements`: the whole catalogue with, for each, whether and when the user unlocked it
/// and how far they are (`current` of `threshold`, from the achievements worker's lifetime aggregates).
struct AchievementsController: Sendable {
    let achievements: AchievementRepository

    func addRoutes(to v1: RouterGroup<APIRequestContext>) {
        v1.get("/achievements") { request, context in
            let user = try context.user
            let totals = try await achievements.achievementTotals(userIDs: [user.id])[user.id] ?? AchievementTotals()
            let unlocked = Dictionary(
                uniqueKeysWithValues: (try await achievements.unlockedAchievements(userIDs: [user.id])[user.id] ?? []).map { ($0.achievementID, $0) })
            let items = AchievementCatalogue.progress(totals).map { AchievementBody($0, unlocked: unlocked[$0.achievement.id]) }
            return try JSONResponse.make(
                AchievementsBody(
                    achievements: items, unlockedCount: items.filter(\.unlocked).count, total: items.count))
        }
    }
}

struct AchievementsBody: Encodable {
    let achievements: [AchievementBody]
    let unlockedCount: Int
    let total: Int
    enum CodingKeys: String, CodingKey {
        case achievements, total
        case unlockedCount = "unlocked_count"
    }
}

struct AchievementBody: Encodable {
    let id: String
    let title: String
    let description: String
    let tier: String
    let metric: String
    let threshold: Int
    let current: Int
    let percent: Double
    let unlocked: Bool
    let unlockedAt: String?
    let factID: String?

    init(_ progress: AchievementProgress, unlocked: UnlockedAchievement?) {
        let achievement = progress.achievement
        id = achievement.id
        title = achievement.title
        description = achievement.description
        tier = achievement.tier.rawValue
        metric = achievement.metric.rawValue
        threshold = achievement.threshold
        // Unlocked stays unlocked even if an aggregate is later rebuilt lower (e.g. after a zone change).
        current = unlocked == nil ? progress.current : achievement.threshold
        percent = GoalMath.percent(current: current, target: threshold)
        self.unlocked = unlocked != nil
        unlockedAt = unlocked.map { Timestamps.format($0.unlockedAt) }
        factID = unlocked?.factID
    }

    enum CodingKeys: String, CodingKey {
        case id, title, description, tier, metric, threshold, current, percent, unlocked
        case unlockedAt = "unlocked_at"
        case factID = "fact_id"
    }
}
