import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import Hummingbird

/// The query parameters several routes share, each checked the same way everywhere.
extension Request {
    /// `from`/`to` (YYYY-MM-DD, inclusive), at most `maximumDays` long. Defaults: the last 30 days in the user's zone.
    func dateRange(for user: UserRecord, maximumDays: Int) throws -> DateRange {
        let query = uri.queryParameters
        let today = LocalDate(Date(), in: TimeZones.named(user.timezone) ?? .gmt)
        func date(_ name: String, default value: LocalDate) throws -> LocalDate {
            guard let text = query[name[...]] else { return value }
            guard let date = LocalDate(text), (1970...9999).contains(date.components.year) else {
                throw HubHTTPError.badRequest(
                    "\(name) must be a date as YYYY-MM-DD from 1970-01-01 to 9999-12-31, got '\(InputText.sanitized(String(text), maxBytes: 40))'",
                    code: "invalid_date")
            }
            return date
        }
        let to = try date("to", default: today)
        let from = try date("from", default: to.adding(days: -29))
        do {
            return try DateRange(from: from, to: to, maximumDays: maximumDays)
        } catch {
            throw HubHTTPError.badRequest(error.description, code: "invalid_range")
        }
    }

    /// `?limit=` of a paged list: 1–100, default 20; anything else is 400 `invalid_limit`.
    func pageLimit() throws -> Int {
        guard let text = uri.queryParameters.get("limit") else { return 20 }
        guard let value = Int(text), (1...100).contains(value) else {
            throw HubHTTPError.badRequest("limit must be a whole number from 1 to 100", code: "invalid_limit")
        }
        return value
    }
}
