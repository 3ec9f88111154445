import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import Hummingbird

/// Streak freezes: protect a missed local day (within 30 days either side of today), a few per month.
struct StreakFreezesController: Sendable {
    let streakFreezes: StreakFreezeRepository
    /// Freezes a user may spend in a calendar month.
    let freezesPerMonth: Int

    func addRoutes(to v1: RouterGroup<APIRequestContext>) {
        v1.post("/streak/freezes") { request, context in
            let user = try context.user
            let body = try await request.decode(as: FreezeInput.self, context: context)
            guard let text = body.date, let day = LocalDate(text) else {
                throw HubHTTPError.badRequest("date must be a date as YYYY-MM-DD", code: "invalid_date")
            }
            let today = LocalDate(Date(), in: TimeZones.named(user.timezone) ?? .gmt)
            guard abs(day - today) <= 30 else {
                throw HubHTTPError.badRequest("date must be within 30 days of today (\(today))", code: "invalid_date")
            }
            switch try await streakFreezes.freeze(userID: user.id, day: day, allowance: freezesPerMonth) {
            case .added(let remaining):
                return try JSONResponse.make(FreezeBody(date: text, remainingThisMonth: remaining), status: .created)
            case .alreadyFrozen(let remaining):
                return try JSONResponse.make(FreezeBody(date: text, remainingThisMonth: remaining))
            case .allowanceExhausted(let allowance):
                throw HubHTTPError(
                    .conflict, code: "freeze_allowance_exhausted",
                    "all \(allowance) streak freezes of \(text.prefix(7)) are used")
            }
        }
        v1.get("/streak/freezes") { request, context in
            let user = try context.user
            return try JSONResponse.make(["freezes": try await streakFreezes.streakFreezes(userID: user.id).map(\.description)])
        }
    }
}

struct FreezeInput: Decodable { let date: String? }

struct FreezeBody: Encodable {
    let date: String
    let remainingThisMonth: Int
    enum CodingKeys: String, CodingKey {
        case date
        case remainingThisMonth = "remaining_this_month"
    }
}
