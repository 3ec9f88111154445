import Foundation

/// One heartbeat as a client sent it: every field read leniently so one bad item is reported in its own
/// slot instead of failing the whole batch. `validated` turns it into a `Heartbeat` or says what is wrong.
public struct HeartbeatInput: Decodable, Sendable {
    var time: Double?
    var entity: String?
    var type: String?
    var category: String?
    var project: String?
    var branch: String?
    var language: String?
    var userAgent: String?
    var isWrite: Bool?
    var problem: String?

    enum Key: String, CodingKey {
        case time, entity, type, category, project, branch, language
        case userAgent = "user_agent"
        case isWrite = "is_write"
    }

    public init(from decoder: any Decoder) {
        guard let container = try? decoder.container(keyedBy: Key.self) else {
            problem = "a heartbeat must be a JSON object"
            return
        }
        func string(_ key: Key) -> String? { try? container.decodeIfPresent(String.self, forKey: key) }
        time = (try? container.decodeIfPresent(Double.self, forKey: .time)) ?? string(.time).flatMap(Double.init)
        entity = string(.entity)
        type = string(.type)
        category = string(.category)
        project = string(.project)
        branch = string(.branch)
        language = string(.language)
        userAgent = string(.userAgent)
        isWrite = try? container.decodeIfPresent(Bool.self, forKey: .isWrite)
    }

    public static let types: Set<String> = ["file", "app", "domain", "url", "event"]
    /// The entity (a file path or URL) and the user agent; each is at most this many bytes.
    public static let maxFieldLength = 2048
    /// Project, branch and machine names: together with the language, category and editor they key a day's
    /// coding rows, whose index entries PostgreSQL caps at about 2.7 KB.
    public static let maxNameBytes = 400

    /// `editors` memoizes user agent → editor across a batch.
    /// Rules: `time` (Unix seconds) within `maxAge` before `now` and at most a day after it; a non-empty
    /// `entity`; a known `type`; text fields within their byte limits and without control characters. Editor and machine come from the
    /// request when the item has none.
    public func validated(
        now: Date, maxAge: TimeInterval, defaultUserAgent: String, machine: String, editors: inout [String: String]
    ) -> Result<Heartbeat, HeartbeatRejection> {
        if let problem { return .failure(HeartbeatRejection(problem)) }
        guard let time, time.isFinite else { return .failure(HeartbeatRejection("time is required (Unix seconds)")) }
        guard time >= now.timeIntervalSince1970 - maxAge else {
            return .failure(HeartbeatRejection("time is older than \(Int(maxAge / 86400)) days"))
        }
        guard time <= now.timeIntervalSince1970 + 86400 else { return .failure(HeartbeatRejection("time is in the future")) }
        guard let entity, !entity.isEmpty else { return .failure(HeartbeatRejection("entity is required")) }
        let type = self.type ?? "file"
        guard Self.types.contains(type) else {
            return .failure(HeartbeatRejection("type must be one of \(Self.types.sorted().joined(separator: ", "))"))
        }
        let fields: [(name: String, value: String?, maxBytes: Int)] = [
            ("entity", entity, Self.maxFieldLength), ("category", category, 100), ("project", project, Self.maxNameBytes),
            ("branch", branch, Self.maxNameBytes), ("language", language, 200), ("user_agent", userAgent, Self.maxFieldLength),
            ("machine", machine, Self.maxNameBytes),
        ]
        for field in fields {
            if let value = field.value, let problem = InputText.problem(value, maxBytes: field.maxBytes) {
                return .failure(HeartbeatRejection("\(field.name) \(problem)"))
            }
        }
        // A batch's items nearly always share one user agent: parse each distinct one once.
        let agent = userAgent ?? defaultUserAgent
        let editor =
            editors[agent]
            ?? InputText.truncated(
                String(CodingDurations.editor(fromUserAgent: agent).unicodeScalars.filter { !InputText.isControl($0, lineBreaks: false) }),
                maxBytes: 200)
        editors[agent] = editor
        return .success(
            Heartbeat(
                time: time, entity: entity, type: type, category: category ?? "coding", project: project ?? "",
                branch: branch ?? "", language: language ?? "", editor: editor, machine: machine,
                isWrite: isWrite ?? false))
    }
}

public struct HeartbeatRejection: Error, Sendable, Equatable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
}

/// What ingest puts on `devtrack.coding.heartbeats`: one request's valid heartbeats, or the daily totals
/// the original DevTrack plugin reported, already tied to a user.
public struct HeartbeatBatch: Codable, Sendable {
    public let userID: UUID
    public let heartbeats: [Heartbeat]
    public let reportedDays: [ReportedCodingDay]

    public init(userID: UUID, heartbeats: [Heartbeat] = [], reportedDays: [ReportedCodingDay] = []) {
        self.userID = userID
        self.heartbeats = heartbeats
        self.reportedDays = reportedDays
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        userID = try container.decode(UUID.self, forKey: .userID)
        heartbeats = try container.decodeIfPresent([Heartbeat].self, forKey: .heartbeats) ?? []
        reportedDays = try container.decodeIfPresent([ReportedCodingDay].self, forKey: .reportedDays) ?? []
    }

    enum CodingKeys: String, CodingKey {
        case userID = "user_id"
        case heartbeats
        case reportedDays = "reported_days"
    }
}
