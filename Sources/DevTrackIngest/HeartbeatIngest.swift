import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import HTTPTypes
import Hummingbird
import Kafka
import Synchronization

public struct HeartbeatConfiguration: Sendable {
    /// Heartbeats per request (the wakatime CLI sends at most 25).
    public var maxBatch: Int
    /// Older heartbeats are refused in their slot (the CLI's offline queue sends old ones days later).
    public var maxAge: Duration
    public var topic: String
    /// Where the WakaTime-compatible API lives; a plugin's `api_url` is `<ingest>/<prefix>`.
    public var compatPrefix: String
    /// `POST /api/local-coding/sync` requests per key per minute (the original DevTrack allowed 20).
    public var syncRequestsPerMinute: Int

    public init(
        maxBatch: Int, maxAge: Duration, topic: String = Topics.codingHeartbeats, compatPrefix: String = "/api/compat/wakatime/v1",
        syncRequestsPerMinute: Int
    ) {
        self.maxBatch = maxBatch
        self.maxAge = maxAge
        self.topic = topic
        self.compatPrefix = compatPrefix
        self.syncRequestsPerMinute = syncRequestsPerMinute
    }
}

/// Heartbeats from IDE plugins, WakaTime-compatible so every plugin works unchanged: authenticated by a
/// coding key (`CodingKeyAuthenticator`), validated item by item, and answered 201 once Kafka has the
/// valid ones; each item's slot in `responses` says whether it was taken.
public struct HeartbeatIngest: Sendable {
    let producer: KafkaProducer
    let codingKeys: CodingKeyRepository
    let codingTime: CodingTimeRepository
    let backlog: KafkaBacklog?
    let configuration: HeartbeatConfiguration
    let syncLimiter: RateLimiter

    public init(producer: KafkaProducer, database: Database, configuration: HeartbeatConfiguration, backlog: KafkaBacklog? = nil) {
        self.backlog = backlog
        self.producer = producer
        self.codingKeys = CodingKeyRepository(database)
        self.codingTime = CodingTimeRepository(database)
        self.configuration = configuration
        self.syncLimiter = RateLimiter(limit: configuration.syncRequestsPerMinute, window: 60)
    }

    /// Every route here sits behind `CodingKeyAuthenticator`: a handler runs only for a known coding key.
    public func addRoutes(to router: Router<IngestRequestContext>) {
        let keyed = router.group().add(middleware: CodingKeyAuthenticator(codingKeys: codingKeys))
        keyed.post("/api/v1/heartbeats") { request, context in try await accept(request, context: context) }
        let compat = keyed.group(RouterPath(configuration.compatPrefix))
        compat.post("/users/current/heartbeats") { request, context in try await accept(request, context: context) }
        compat.post("/users/current/heartbeats.bulk") { request, context in try await accept(request, context: context) }
        compat.get("/users/current/statusbar/today") { _, context in try await statusBar(user: context.codingKey.user) }
        compat.get("/users/current/summaries") { request, context in try await summaries(request, user: context.codingKey.user) }
        keyed.post("/api/local-coding/sync") { request, context in try await sync(request, context: context) }
        keyed.get("/api/local-coding/sync") { request, context in try await syncedDays(request, user: context.codingKey.user) }
    }

    /// The original DevTrack plugin's daily totals: validated, rate-limited per key, on the same topic.
    func sync(_ request: Request, context: IngestRequestContext) async throws -> Response {
        let (user, key) = (try context.codingKey.user, try context.codingKey.key)
        guard syncLimiter.allow(Credentials.hash(key)) else {
            throw HubHTTPError(
                .tooManyRequests, code: "rate_limited",
                "at most \(configuration.syncRequestsPerMinute) sync requests a minute per key", headers: [.retryAfter: "60"])
        }
        var request = request
        let body = try await request.collectBody(upTo: 256 * 1024)
        let days: [ReportedCodingDay]
        switch LocalCodingSync.parse(Data(buffer: body)) {
        case .success(let parsed): days = parsed
        case .failure(let rejection): throw HubHTTPError.badRequest(rejection.reason, code: "invalid_body")
        }
        try await produce(HeartbeatBatch(userID: user.id, reportedDays: days), count: days.count, context: context)
        return try JSONResponse.make(SyncResponse(success: true, synced: days.count, message: "synced \(days.count) day(s)"))
    }

    /// `GET /api/local-coding/sync?days=7|30|90`: the reported totals of the last days, newest first.
    func syncedDays(_ request: Request, user: UserRecord) async throws -> Response {
        let text = request.uri.queryParameters["days"].map(String.init) ?? "7"
        guard let days = Int(text), [7, 30, 90].contains(days) else {
            throw HubHTTPError.badRequest("days must be 7, 30 or 90", code: "invalid_days")
        }
        let today = LocalDate(Date(), in: TimeZones.named(user.timezone) ?? .gmt)
        let reported = try await codingTime.reportedDays(userID: user.id, from: today.adding(days: 1 - days), to: today)
        return try JSONResponse.make(SyncedDays(success: true, days: days, sessions: reported.map(SyncedDays.Session.init)))
    }

    func produce(_ batch: HeartbeatBatch, count: Int, context: some RequestContext) async throws {
        let value = try JSONEncoder().encode(batch)
        try await RawEventProducer(producer: producer, backlog: backlog).send(
            KafkaOutgoingMessage(topic: configuration.topic, key: Array(batch.userID.uuidString.lowercased().utf8), value: Array(value)),
            what: "\(count) coding item(s)", logger: context.logger)
    }

    func accept(_ request: Request, context: IngestRequestContext) async throws -> Response {
        let user = try context.codingKey.user
        var request = request
        let body = try await request.collectBody(upTo: configuration.maxBatch * 8 * 1024)
        let items: [HeartbeatInput]
        let single: Bool
        let decoder = JSONDecoder()
        if let many = try? decoder.decode([HeartbeatInput].self, from: body) {
            (items, single) = (many, false)
        } else if let one = try? decoder.decode(HeartbeatInput.self, from: body) {
            (items, single) = ([one], true)
        } else {
            throw HubHTTPError.badRequest("body must be a heartbeat object or an array of them", code: "invalid_body")
        }
        guard items.count <= configuration.maxBatch else {
            throw HubHTTPError(.contentTooLarge, code: "batch_too_large", "at most \(configuration.maxBatch) heartbeats per request")
        }

        let now = Date()
        let userAgent = request.headers.value(of: .userAgent) ?? ""
        let machine = request.headers.value(of: .machineName) ?? ""
        let maxAge = Double(configuration.maxAge.components.seconds)
        var editors: [String: String] = [:]
        let results = items.map { $0.validated(now: now, maxAge: maxAge, defaultUserAgent: userAgent, machine: machine, editors: &editors) }
        let valid = results.compactMap { try? $0.get() }
        if !valid.isEmpty {
            try await produce(HeartbeatBatch(userID: user.id, heartbeats: valid), count: valid.count, context: context)
        }

        if single, let result = results.first {
            switch result {
            case .success(let heartbeat): return try JSONResponse.make(["data": SlotData(heartbeat)], status: .created)
            case .failure(let rejection): throw HubHTTPError.badRequest(rejection.reason, code: "invalid_heartbeat")
            }
        }
        return Self.bulkResponse(results)
    }

    /// `201 {"responses":[[{"data":{…}},201],[{"error":"…"},400],…]}`, written directly: a JSONEncoder here
    /// was a sixth of the heartbeat path's CPU.
    static func bulkResponse(_ results: [Result<Heartbeat, HeartbeatRejection>]) -> Response {
        var buffer = ByteBuffer()
        buffer.writeString("{\"responses\":[")
        for (index, result) in results.enumerated() {
            if index > 0 { buffer.writeString(",") }
            switch result {
            case .success(let heartbeat):
                let data = SlotData(heartbeat)
                buffer.writeString("[{\"data\":{\"entity\":")
                JSONResponse.writeJSONString(data.entity, to: &buffer)
                buffer.writeString(",\"id\":")
                JSONResponse.writeJSONString(data.id, to: &buffer)
                buffer.writeString(",\"time\":\(data.time),\"type\":")
                JSONResponse.writeJSONString(data.type, to: &buffer)
                buffer.writeString("}},201]")
            case .failure(let rejection):
                buffer.writeString("[{\"error\":")
                JSONResponse.writeJSONString(rejection.reason, to: &buffer)
                buffer.writeString("},400]")
            }
        }
        buffer.writeString("]}")
        return Response(status: .created, headers: [.contentType: "application/json; charset=utf-8"], body: ResponseBody(byteBuffer: buffer))
    }

    /// Today's coding time in the user's zone, shaped as WakaTime's status bar endpoint.
    func statusBar(user: UserRecord) async throws -> Response {
        let zone = TimeZones.named(user.timezone) ?? .gmt
        let today = LocalDate(Date(), in: zone)
        let seconds = try await codingTime.codingTotals(userID: user.id, range: DateRange(from: today, to: today))[today]?.seconds ?? 0
        return try JSONResponse.make(
            StatusBar(
                data: .init(
                    grandTotal: .init(seconds: seconds), range: .init(date: today.description, timezone: user.timezone))))
    }
}

struct SlotData: Encodable {
    let id: String
    let entity: String
    let type: String
    let time: Double

    init(_ heartbeat: Heartbeat) {
        // Identifies the heartbeat by its natural key; FNV-1a, as a SHA-256 per item showed in profiles.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in heartbeat.entity.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        id = "\(heartbeat.time)-\(String(hash, radix: 16))"
        entity = heartbeat.entity
        type = heartbeat.type
        time = heartbeat.time
    }
}

struct StatusBar: Encodable {
    struct Body: Encodable {
        let grandTotal: GrandTotal
        let range: Range
        enum CodingKeys: String, CodingKey {
            case grandTotal = "grand_total"
            case range
        }
    }
    struct GrandTotal: Encodable {
        let totalSeconds: Double
        let hours: Int
        let minutes: Int
        let digital: String
        let text: String
        let decimal: String

        init(seconds: Double) {
            totalSeconds = seconds
            let whole = Int(seconds)
            hours = whole / 3600
            minutes = whole % 3600 / 60
            digital = String(format: "%d:%02d", hours, minutes)
            text =
                hours > 0
                ? "\(hours) hr\(hours == 1 ? "" : "s") \(minutes) min\(minutes == 1 ? "" : "s")" : "\(minutes) min\(minutes == 1 ? "" : "s")"
            decimal = String(format: "%.2f", seconds / 3600)
        }

        enum CodingKeys: String, CodingKey {
            case totalSeconds = "total_seconds"
            case hours, minutes, digital, text, decimal
        }
    }
    struct Range: Encodable {
        let date: String
        let timezone: String
    }
    let data: Body
}

struct SyncResponse: Encodable {
    let success: Bool
    let synced: Int
    let message: String
}

struct SyncedDays: Encodable {
    struct Session: Encodable {
        let date: String
        let totalSeconds: Int
        let fileCount: Int?
        let projectCount: Int?
        init(_ day: ReportedCodingDay) {
            date = day.date.description
            totalSeconds = day.totalSeconds
            fileCount = day.fileCount
            projectCount = day.projectCount
        }
    }
    let success: Bool
    let days: Int
    let sessions: [Session]
}

/// A fixed-window request counter per key, in this process (each ingest instance limits on its own).
final class RateLimiter: Sendable {
    let limit: Int
    let window: TimeInterval
    private let counts = Mutex<[String: (start: Date, count: Int)]>([:])

    init(limit: Int, window: TimeInterval) {
        self.limit = limit
        self.window = window
    }

    func allow(_ key: String, now: Date = Date()) -> Bool {
        counts.withLock { counts in
            if counts.count > 10_000 { counts = counts.filter { now.timeIntervalSince($0.value.start) < window } }
            var entry = counts[key] ?? (now, 0)
            if now.timeIntervalSince(entry.start) >= window { entry = (now, 0) }
            entry.count += 1
            counts[key] = entry
            return entry.count <= limit
        }
    }
}

extension HTTPField.Name {
    static let machineName = Self("X-Machine-Name")!
}
