import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import Hummingbird

/// Coding keys (what editor plugins authenticate with) and coding-time breakdowns.
struct CodingController: Sendable {
    let codingKeys: CodingKeyRepository
    let codingTime: CodingTimeRepository
    let maxRangeDays: Int

    func addRoutes(to v1: RouterGroup<APIRequestContext>) {
        v1.post("/coding/keys") { request, context in
            let user = try context.user
            let body = try await request.decode(as: NewCodingKey.self, context: context)
            let name = body.name?.trimmingCharacters(in: .whitespaces) ?? ""
            guard !name.isEmpty, name.count <= 100 else {
                throw HubHTTPError.badRequest("name is required (1–100 characters)", code: "invalid_name")
            }
            if let problem = InputText.problem(name, maxBytes: 400) { throw HubHTTPError.badRequest("name \(problem)", code: "invalid_name") }
            let (record, key) = try await codingKeys.createCodingKey(userID: user.id, name: name)
            return try JSONResponse.make(CodingKeyBody(record, key: key), status: .created)
        }
        v1.get("/coding/keys") { request, context in
            let user = try context.user
            return try JSONResponse.make(["keys": try await codingKeys.codingKeys(userID: user.id).map { CodingKeyBody($0, key: nil) }])
        }
        v1.delete("/coding/keys/{id}") { request, context in
            let user = try context.user
            let text = context.parameters.get("id") ?? ""
            guard let id = UUID(uuidString: text), try await codingKeys.revokeCodingKey(userID: user.id, id: id) else {
                throw HubHTTPError.notFound("no coding key \(text)")
            }
            return Response(status: .noContent)
        }
        v1.get("/coding/summary") { request, context in
            let user = try context.user
            let range = try request.dateRange(for: user, maximumDays: maxRangeDays)
            let stack: CodingSummaryBody.Stack?
            switch request.uri.queryParameters.get("stack") {
            case nil: stack = nil
            case "language": stack = .language
            case "project": stack = .project
            default: throw HubHTTPError.badRequest("stack must be language or project", code: "invalid_stack")
            }
            let slices = try await codingTime.codingSlices(userID: user.id, range: range)
            return try JSONResponse.make(CodingSummaryBody(range: range, timezone: user.timezone, slices: slices, stack: stack))
        }
    }
}

struct NewCodingKey: Decodable { let name: String? }

struct CodingKeyBody: Encodable {
    let id: String
    let name: String
    let key: String?
    let hint: String
    let createdAt: String
    let lastUsedAt: String?

    init(_ record: CodingKeyRecord, key: String?) {
        id = record.id.uuidString.lowercased()
        name = record.name
        self.key = key
        hint = record.hint
        createdAt = Timestamps.format(record.createdAt)
        lastUsedAt = record.lastUsedAt.map(Timestamps.format)
    }

    enum CodingKeys: String, CodingKey {
        case id, name, key, hint
        case createdAt = "created_at"
        case lastUsedAt = "last_used_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encodeIfPresent(key, forKey: .key)
        try container.encode(hint, forKey: .hint)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(lastUsedAt, forKey: .lastUsedAt)
    }
}

/// `GET /api/v1/coding/summary`: totals per day and per dimension, seconds rounded to whole seconds.
struct CodingSummaryBody: Encodable {
    struct Named: Encodable {
        let name: String
        let seconds: Int
    }
    struct Day: Encodable {
        let date: String
        let seconds: Int
        /// With `?stack=`: the day's seconds per language or project (for a stacked chart).
        let parts: [Named]?
    }
    enum Stack {
        case language, project

        var name: (CodingDimensions) -> String {
            switch self {
            case .language: \.language
            case .project: \.project
            }
        }
    }
    let timezone: String
    let from: String
    let to: String
    let totalSeconds: Int
    let daily: [Day]
    let projects: [Named]
    let languages: [Named]
    let editors: [Named]
    let machines: [Named]
    let branches: [Named]
    let categories: [Named]

    init(range: DateRange, timezone: String, slices: [CodingSlice], stack: Stack? = nil) {
        func breakdown(_ name: (CodingDimensions) -> String) -> [Named] {
            slices.totals(by: name).map { Named(name: $0.name.isEmpty ? "unknown" : $0.name, seconds: Int($0.seconds.rounded())) }
        }
        let perDay = Dictionary(slices.map { ($0.date, $0.seconds) }, uniquingKeysWith: +)
        self.timezone = timezone
        from = range.from.description
        to = range.to.description
        totalSeconds = Int(slices.reduce(0) { $0 + $1.seconds }.rounded())
        let byDay =
            stack.map { stack in
                Dictionary(grouping: slices, by: \.date).mapValues { $0.totals(by: { stack.name($0).isEmpty ? "unknown" : stack.name($0) }) }
            } ?? [:]
        daily = range.dates.map { date in
            let seconds = Int((perDay[date] ?? 0).rounded())
            return Day(date: date.description, seconds: seconds, parts: stack == nil ? nil : Self.parts(byDay[date] ?? [], summingTo: seconds))
        }
        projects = breakdown(\.project)
        languages = breakdown(\.language)
        editors = breakdown(\.editor)
        machines = breakdown(\.machine)
        branches = breakdown(\.branch)
        categories = breakdown(\.category)
    }

    /// Whole seconds that add up to the day's (rounded) total: each part rounded down, then the seconds left
    /// go to the parts with the largest remainders (ties to the larger part, as listed).
    static func parts(_ totals: [(name: String, seconds: Double)], summingTo total: Int) -> [Named] {
        var whole = totals.map { Int($0.seconds.rounded(.down)) }
        let byRemainder = totals.indices.sorted {
            totals[$0].seconds - Double(whole[$0]) > totals[$1].seconds - Double(whole[$1])
        }
        var left = total - whole.reduce(0, +)
        for index in byRemainder where left > 0 {
            whole[index] += 1
            left -= 1
        }
        return totals.indices.map { Named(name: totals[$0].name, seconds: whole[$0]) }
    }

    enum CodingKeys: String, CodingKey {
        case timezone, from, to, daily, projects, languages, editors, machines, branches, categories
        case totalSeconds = "total_seconds"
    }
}
