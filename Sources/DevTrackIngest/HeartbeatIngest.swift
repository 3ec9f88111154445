import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import HTTPTypes
import Hummingbird
import Kafka

public struct HeartbeatConfiguration: Sendable {
    /// Heartbeats per request (the wakatime CLI sends at most 25).
    public var maxBatch: Int
    /// Older heartbeats are refused in their slot (the CLI's offline queue sends old ones days later).
    public var maxAge: Duration
    public var topic: String
    /// Where the WakaTime-compatible API lives; a plugin's `api_url` is `<ingest>/<prefix>`.
    public var compatPrefix: String

    public init(maxBatch: Int = 100, maxAge: Duration = .seconds(30 * 86400), topic: String = Topics.codingHeartbeats,
                compatPrefix: String = "/api/compat/wakatime/v1") {
        self.maxBatch = maxBatch
        self.maxAge = maxAge
        self.topic = topic
        self.compatPrefix = compatPrefix
    }
}

/// Heartbeats from IDE plugins, WakaTime-compatible so every plugin works unchanged: authenticated by a
/// coding key (Basic, Bearer or `?api_key=`), validated item by item, and answered 201 once Kafka has the
/// valid ones; each item's slot in `responses` says whether it was taken.
public struct HeartbeatIngest: Sendable {
    let producer: KafkaProducer
    let store: HubStore
    let configuration: HeartbeatConfiguration

    public init(producer: KafkaProducer, store: HubStore, configuration: HeartbeatConfiguration) {
        self.producer = producer
        self.store = store
        self.configuration = configuration
    }

    public func addRoutes(to router: Router<some RequestContext>) {
        router.post("/api/v1/heartbeats") { request, context in try await accept(request, context: context) }
        let compat = router.group(RouterPath(configuration.compatPrefix))
        compat.post("/users/current/heartbeats") { request, context in try await accept(request, context: context) }
        compat.post("/users/current/heartbeats.bulk") { request, context in try await accept(request, context: context) }
        compat.get("/users/current/statusbar/today") { request, _ in try await statusBar(request) }
    }

    func accept(_ request: Request, context: some RequestContext) async throws -> Response {
        let user = try await authenticate(request)
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
        let userAgent = request.headers[.userAgent] ?? ""
        let machine = request.headers[.machineName] ?? ""
        let maxAge = Double(configuration.maxAge.components.seconds)
        let results = items.map { $0.validated(now: now, maxAge: maxAge, defaultUserAgent: userAgent, machine: machine) }
        let valid = results.compactMap { try? $0.get() }
        if !valid.isEmpty {
            let value = try JSONEncoder().encode(HeartbeatBatch(userID: user.id, heartbeats: valid))
            do {
                try await producer.send(KafkaOutgoingMessage(
                    topic: configuration.topic, key: Array(user.id.uuidString.lowercased().utf8), value: Array(value)))
            } catch {
                context.logger.warning("Kafka did not take \(valid.count) heartbeat(s): \(error)")
                throw HubHTTPError(.serviceUnavailable, code: "kafka_unavailable",
                                   "the event stream is unavailable; retry later", headers: [.retryAfter: "5"])
            }
        }

        let slots: [ResponseSlot] = results.map { result in
            switch result {
            case .success(let heartbeat): ResponseSlot(body: .data(SlotData(heartbeat)), status: 201)
            case .failure(let rejection): ResponseSlot(body: .error(rejection.reason), status: 400)
            }
        }
        if single, let slot = slots.first {
            switch slot.body {
            case .data(let data): return try JSONResponse.make(["data": data], status: .created)
            case .error(let reason): throw HubHTTPError.badRequest(reason, code: "invalid_heartbeat")
            }
        }
        return try JSONResponse.make(["responses": slots], status: .created)
    }

    /// Today's coding time in the user's zone, shaped as WakaTime's status bar endpoint.
    func statusBar(_ request: Request) async throws -> Response {
        let user = try await authenticate(request)
        let zone = TimeZones.named(user.timezone) ?? .gmt
        let today = LocalDate(Date(), in: zone)
        let seconds = try await store.codingSeconds(userID: user.id, range: DateRange(from: today, to: today))[today] ?? 0
        return try JSONResponse.make(StatusBar(data: .init(
            grandTotal: .init(seconds: seconds), range: .init(date: today.description, timezone: user.timezone))))
    }

    /// `Authorization: Basic base64(key)`, `Bearer key`, or `?api_key=key`.
    func authenticate(_ request: Request) async throws -> UserRecord {
        var key: String?
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1).map(String.init)
            if parts.count == 2, parts[0].lowercased() == "basic" {
                let decoded = Data(base64Encoded: parts[1]).map { String(decoding: $0, as: UTF8.self) } ?? ""
                key = String(decoded.split(separator: ":", omittingEmptySubsequences: false).first ?? "")
            } else if parts.count == 2, parts[0].lowercased() == "bearer" {
                key = parts[1]
            }
        }
        key = key ?? request.uri.queryParameters["api_key"].map(String.init)
        guard let key, !key.isEmpty else {
            throw HubHTTPError.unauthorized("a coding key is required: Authorization: Basic base64(key), Bearer <key>, or ?api_key=")
        }
        guard let user = try await store.user(codingKey: key) else {
            throw HubHTTPError.unauthorized("unknown or revoked coding key", code: "invalid_key")
        }
        return user
    }
}

/// One item's `[data, status]` pair, as WakaTime answers bulk requests.
struct ResponseSlot: Encodable {
    enum Body {
        case data(SlotData)
        case error(String)
    }
    let body: Body
    let status: Int

    func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        switch body {
        case .data(let data): try container.encode(["data": data])
        case .error(let reason): try container.encode(["error": reason])
        }
        try container.encode(status)
    }
}

struct SlotData: Encodable {
    let id: String
    let entity: String
    let type: String
    let time: Double

    init(_ heartbeat: Heartbeat) {
        id = "\(heartbeat.time)-\(Credentials.hash(heartbeat.entity).prefix(12))"
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
            text = hours > 0 ? "\(hours) hr\(hours == 1 ? "" : "s") \(minutes) min\(minutes == 1 ? "" : "s")" : "\(minutes) min\(minutes == 1 ? "" : "s")"
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

extension HTTPField.Name {
    static let machineName = Self("X-Machine-Name")!
}
