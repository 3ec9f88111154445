import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import Hummingbird

/// `GET <compat>/users/current/summaries?start&end`: coding time per day shaped as WakaTime's summaries,
/// so existing WakaTime dashboards and README widgets can read the hub.
extension HeartbeatIngest {
    func summaries(_ request: Request, user: UserRecord) async throws -> Response {
        let zoneName = request.uri.queryParameters["timezone"].map(String.init) ?? user.timezone
        let zone = TimeZones.named(zoneName) ?? TimeZones.named(user.timezone) ?? .gmt
        let today = LocalDate(Date(), in: zone)
        func date(_ name: String) throws -> LocalDate {
            let text = request.uri.queryParameters[name[...]].map(String.init) ?? "today"
            switch text {
            case "today": return today
            case "yesterday": return today.adding(days: -1)
            default:
                guard let date = LocalDate(text.prefix(10)) else {
                    throw HubHTTPError.badRequest("\(name) must be YYYY-MM-DD, today or yesterday", code: "invalid_date")
                }
                return date
            }
        }
        let range: DateRange
        do {
            range = try DateRange(from: try date("start"), to: try date("end"))
        } catch let error as HubHTTPError {
            throw error
        } catch {
            throw HubHTTPError.badRequest("\(error)", code: "invalid_range")
        }
        let slices = try await codingTime.codingSlices(userID: user.id, range: range)
        let byDay = Dictionary(grouping: slices, by: \.date)
        let days = range.dates.map { day in
            WakaTimeDay(date: day, timezone: zone.identifier, slices: byDay[day] ?? [], zone: zone)
        }
        let total = slices.reduce(0) { $0 + $1.seconds }
        return try JSONResponse.make(
            WakaTimeSummaries(
                data: days, start: Timestamps.format(range.from.startOfDay(in: zone)),
                end: Timestamps.format(range.to.adding(days: 1).startOfDay(in: zone).addingTimeInterval(-1)),
                cumulativeTotal: .init(seconds: total), dailyAverage: .init(seconds: total / Double(max(1, range.dates.count)))))
    }
}

struct WakaTimeSummaries: Encodable {
    let data: [WakaTimeDay]
    let start: String
    let end: String
    let cumulativeTotal: StatusBar.GrandTotal
    let dailyAverage: StatusBar.GrandTotal
    enum CodingKeys: String, CodingKey {
        case data, start, end
        case cumulativeTotal = "cumulative_total"
        case dailyAverage = "daily_average"
    }
}

struct WakaTimeDay: Encodable {
    struct Item: Encodable {
        let name: String
        let totalSeconds: Double
        let percent: Double
        let digital: String
        let text: String
        let hours: Int
        let minutes: Int
        enum CodingKeys: String, CodingKey {
            case name, percent, digital, text, hours, minutes
            case totalSeconds = "total_seconds"
        }
    }
    struct Range: Encodable {
        let date: String
        let start: String
        let end: String
        let text: String
        let timezone: String
    }
    let grandTotal: StatusBar.GrandTotal
    let range: Range
    let projects: [Item]
    let languages: [Item]
    let editors: [Item]
    let machines: [Item]
    let branches: [Item]
    let categories: [Item]
    let operatingSystems: [Item] = []
    let dependencies: [Item] = []

    init(date: LocalDate, timezone: String, slices: [CodingSlice], zone: TimeZone) {
        let total = slices.reduce(0) { $0 + $1.seconds }
        func items(_ name: (CodingDimensions) -> String) -> [Item] {
            slices.totals(by: name).map { name, seconds in
                let time = StatusBar.GrandTotal(seconds: seconds)
                return Item(
                    name: name.isEmpty ? "Unknown" : name, totalSeconds: seconds,
                    percent: total > 0 ? (seconds / total * 10_000).rounded() / 100 : 0,
                    digital: time.digital, text: time.text, hours: time.hours, minutes: time.minutes)
            }
        }
        grandTotal = StatusBar.GrandTotal(seconds: total)
        range = Range(
            date: date.description, start: Timestamps.format(date.startOfDay(in: zone)),
            end: Timestamps.format(date.adding(days: 1).startOfDay(in: zone).addingTimeInterval(-1)),
            text: date.description, timezone: timezone)
        projects = items(\.project)
        languages = items(\.language)
        editors = items(\.editor)
        machines = items(\.machine)
        branches = items(\.branch)
        categories = items(\.category)
    }

    enum CodingKeys: String, CodingKey {
        case range, projects, languages, editors, machines, branches, categories, dependencies
        case grandTotal = "grand_total"
        case operatingSystems = "operating_systems"
    }
}
