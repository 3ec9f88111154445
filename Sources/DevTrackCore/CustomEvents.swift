import Foundation

/// One event from a custom webhook source in the hub's native format:
/// `{"type": "deploy", "occurred_at": "2026-11-25T10:00:00Z", "value": 1, "repo"?: "...", "id"?: "..."}`,
/// sent alone or as an array. `type` becomes the fact kind `custom:<type>`; `id`, when given, makes the
/// event idempotent across deliveries (else the delivery's id and the event's position do).
public struct CustomEvent: Sendable, Equatable {
    public let type: String
    public let occurredAt: Date
    public let value: Double
    public let repo: String?
    public let id: String?

    public init(type: String, occurredAt: Date, value: Double = 1, repo: String? = nil, id: String? = nil) {
        self.type = type
        self.occurredAt = occurredAt
        self.value = value
        self.repo = repo
        self.id = id
    }

    /// The type of `POST /api/v1/sources/{id}/test`'s sample: verified, carried and logged, never a fact.
    public static let testType = "devtrack.test"

    /// Events per delivery at most.
    public static let maxPerDelivery = 1_000
    /// The largest `value` (a count or an amount; far beyond any real one, and sums of many stay finite).
    public static let maxValue = 1e9
    /// `repo` and `id` at most, in bytes.
    public static let maxTextBytes = 200

    /// Why a body is not in the native format; the message names the field.
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// Reads a body: one event object or an array of them (1…`maxPerDelivery`).
    public static func parse(_ body: [UInt8], now: Date = Date()) throws(Invalid) -> [CustomEvent] {
        // Ingest checks every delivery: flat, valid events are read by hand (several times faster); anything
        // else goes the general way, which has the final say and the error messages.
        if let events = flatEvents(body, now: now) { return events }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
        } catch {
            throw Invalid(description: "body is not JSON")
        }
        let objects: [Any]
        let prefix: (Int) -> String
        if let array = json as? [Any] {
            guard !array.isEmpty else { throw Invalid(description: "the array holds no event") }
            guard array.count <= maxPerDelivery else { throw Invalid(description: "more than \(maxPerDelivery) events in one delivery") }
            objects = array
            prefix = { "[\($0)]." }
        } else {
            objects = [json]
            prefix = { _ in "" }
        }
        return try objects.enumerated().map { (index, item) throws(Invalid) in try event(item, at: prefix(index), now: now) }
    }

    /// The events when every one is a flat object that is valid as it stands; nil otherwise.
    static func flatEvents(_ body: [UInt8], now: Date) -> [CustomEvent]? {
        guard let objects = FlatJSONObject.objects(body), (1...maxPerDelivery).contains(objects.count) else { return nil }
        var events: [CustomEvent] = []
        events.reserveCapacity(objects.count)
        for members in objects {
            guard case .string(let type)? = members["type"], CustomEventType.isValid(type),
                case .string(let instant)? = members["occurred_at"], let occurredAt = Timestamps.parse(instant),
                ActivityTimes.problem(occurredAt, now: now) == nil
            else { return nil }
            var value = 1.0
            switch members["value"] {
            case nil: break
            case .number(let number)? where number.isFinite && number >= 0 && number <= maxValue: value = number
            default: return nil
            }
            func text(_ key: String) -> String?? {
                switch members[key] {
                case nil, .null?: return .some(nil)
                case .string(let text)? where !text.isEmpty && InputText.isAcceptable(text, maxBytes: maxTextBytes): return .some(text)
                default: return nil
                }
            }
            guard let repo = text("repo"), let id = text("id") else { return nil }
            events.append(CustomEvent(type: type, occurredAt: occurredAt, value: value, repo: repo, id: id))
        }
        return events
    }

    private static func event(_ item: Any, at path: String, now: Date) throws(Invalid) -> CustomEvent {
        guard let object = item as? [String: Any] else {
            throw Invalid(description: "\(path.isEmpty ? "body" : String(path.dropLast())) must be an event object")
        }
        guard let type = object["type"] as? String else { throw Invalid(description: "\(path)type is required (a string)") }
        guard CustomEventType.isValid(type) else {
            throw Invalid(description: "\(path)type must be 1–64 of a–z, 0–9, _, - and ., starting with a letter or digit")
        }
        guard let instant = object["occurred_at"] as? String else { throw Invalid(description: "\(path)occurred_at is required (ISO 8601)") }
        guard let occurredAt = Timestamps.parse(instant) else {
            throw Invalid(description: "\(path)occurred_at must be an ISO 8601 instant with a zone")
        }
        if let problem = ActivityTimes.problem(occurredAt, now: now) { throw Invalid(description: "\(path)occurred_at \(problem)") }
        var value = 1.0
        if let given = object["value"] {
            // JSONSerialization gives NSNumber for numbers and booleans alike (and 0 and 1 cast to Bool): a
            // boolean's type code is "c".
            guard let number = given as? NSNumber, String(cString: number.objCType) != "c", number.doubleValue.isFinite, number.doubleValue >= 0,
                number.doubleValue <= maxValue
            else {
                throw Invalid(description: "\(path)value must be a number from 0 to 1e9")
            }
            value = number.doubleValue
        }
        let repo = try optionalString(object["repo"], "\(path)repo")
        let id = try optionalString(object["id"], "\(path)id")
        return CustomEvent(type: type, occurredAt: occurredAt, value: value, repo: repo, id: id)
    }

    private static func optionalString(_ value: Any?, _ field: String) throws(Invalid) -> String? {
        guard let value, !(value is NSNull) else { return nil }
        guard let text = value as? String, !text.isEmpty else { throw Invalid(description: "\(field) must be a non-empty string") }
        if let problem = InputText.problem(text, maxBytes: maxTextBytes) { throw Invalid(description: "\(field) \(problem)") }
        return text
    }

    /// The event as any mapped one: kind `custom:<type>`.
    public var mapped: MappedEvent {
        MappedEvent(kind: ActivityKind.custom(type)!, occurredAt: occurredAt, value: value, id: id, repo: repo)
    }
}
