import Foundation

/// How a custom source reads payloads that are not in the native format (GitLab, a CI server): JSON
/// pointers (RFC 6901) from the payload to each event's kind, time, value, id and repository. Pointers are
/// relative to each element of `events` when it is set (else to the whole payload); a pointer starting with
/// `$` reads the whole payload instead (`$/project/path_with_namespace`). The kind is a constant (`commit`,
/// `pr_opened`, `custom:deploy`…) or read from `kind_pointer` and looked up in `kinds` (values not listed are
/// skipped: a merge request being edited is no activity). `occurred_at` may be `$received`: when the hub got it.
/// With `author` and `authors`, only events whose author is one of the owner's identities count (a shared
/// repository's push carries everyone's commits).
public struct EventMapping: Codable, Sendable, Equatable {
    public var events: String?
    public var kind: String?
    public var kindPointer: String?
    public var kinds: [String: String]?
    public var occurredAt: String
    public var value: String?
    public var id: String?
    public var repo: String?
    /// Where an event names who did it (an e-mail, a username).
    public var author: String?
    /// The source owner's identities: with `author`, events by anyone else are skipped; empty or absent, every
    /// event counts.
    public var authors: [String]?

    enum CodingKeys: String, CodingKey {
        case events, kind, kinds, value, id, repo, author, authors
        case kindPointer = "kind_pointer"
        case occurredAt = "occurred_at"
    }

    public init(
        events: String? = nil, kind: String? = nil, kindPointer: String? = nil, kinds: [String: String]? = nil,
        occurredAt: String, value: String? = nil, id: String? = nil, repo: String? = nil, author: String? = nil,
        authors: [String]? = nil
    ) {
        self.events = events
        self.kind = kind
        self.kindPointer = kindPointer
        self.kinds = kinds
        self.occurredAt = occurredAt
        self.value = value
        self.id = id
        self.repo = repo
        self.author = author
        self.authors = authors
    }

    /// Built-in mappings, by name.
    public static let presets: [String: EventMapping] = [
        // GitLab "Push Hook": each commit counts as a commit, like GitHub's.
        "gitlab-push": EventMapping(
            events: "/commits", kind: "commit", occurredAt: "/timestamp", id: "/id", repo: "$/project/path_with_namespace",
            author: "/author/email"),
        // GitLab "Merge Request Hook": opened and merged, like GitHub's pull requests.
        "gitlab-merge-request": EventMapping(
            kindPointer: "/object_attributes/action", kinds: ["open": "pr_opened", "merge": "pr_merged"],
            occurredAt: "/object_attributes/updated_at", id: "/object_attributes/id", repo: "/project/path_with_namespace",
            author: "/user/username"),
        // A CI server's "pipeline finished" notification: one `custom:pipeline` event.
        "ci-pipeline": EventMapping(kind: "custom:pipeline", occurredAt: "/finished_at", id: "/id", repo: "/repository"),
    ]

    /// Why a mapping or a payload does not fit; the message says where.
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// Checks the mapping itself (at creation, so a bad one is a 400 and not a dead letter per delivery).
    public func validate() throws(Invalid) {
        try checkStrings()
        for (name, pointer) in [("events", events), ("kind_pointer", kindPointer), ("value", value), ("id", id), ("repo", repo), ("author", author)] {
            if let pointer, !Self.isPointer(pointer) {
                throw Invalid(description: "mapping.\(name) must be a JSON pointer such as /commits or $/project/name")
            }
        }
        if let authors, !authors.isEmpty, author == nil {
            throw Invalid(description: "mapping.authors needs mapping.author, the pointer to who did each event")
        }
        if occurredAt != "$received", !Self.isPointer(occurredAt) {
            throw Invalid(description: "mapping.occurred_at must be a JSON pointer or $received")
        }
        switch (kind, kindPointer) {
        case (let constant?, nil):
            guard Self.activityKind(constant) != nil else {
                throw Invalid(description: "mapping.kind '\(constant)' is not a kind: \(Self.kindNames)")
            }
        case (nil, _?):
            guard let kinds, !kinds.isEmpty else { throw Invalid(description: "mapping.kinds must list the values of kind_pointer that count") }
            if let bad = kinds.values.first(where: { Self.activityKind($0) == nil }) {
                throw Invalid(description: "mapping.kinds: '\(bad)' is not a kind: \(Self.kindNames)")
            }
        default:
            throw Invalid(description: "mapping needs exactly one of kind and kind_pointer")
        }
    }

    /// The longest string a mapping may hold (a pointer, a kind, an author), in UTF-8 bytes.
    public static let maxStringBytes = 256
    /// The most entries in `authors` and in `kinds`.
    public static let maxEntries = 50

    /// Every string is short and free of control characters (the mapping is stored as `jsonb`, which cannot
    /// hold NUL), and the lists are short.
    func checkStrings() throws(Invalid) {
        if let authors, authors.count > Self.maxEntries {
            throw Invalid(description: "mapping.authors lists \(authors.count) authors; at most \(Self.maxEntries) are accepted")
        }
        if let kinds, kinds.count > Self.maxEntries {
            throw Invalid(description: "mapping.kinds lists \(kinds.count) entries; at most \(Self.maxEntries) are accepted")
        }
        var fields: [(String, String)] = [("occurred_at", occurredAt)]
        for (name, text) in [
            ("events", events), ("kind", kind), ("kind_pointer", kindPointer), ("value", value), ("id", id), ("repo", repo), ("author", author),
        ] {
            if let text { fields.append((name, text)) }
        }
        for (index, author) in (authors ?? []).enumerated() { fields.append(("authors[\(index)]", author)) }
        for (key, name) in (kinds ?? [:]).sorted(by: { $0.key < $1.key }) {
            fields.append(("kinds key", key))
            fields.append(("kinds value", name))
        }
        for (name, text) in fields {
            if let problem = InputText.problem(text, maxBytes: Self.maxStringBytes) { throw Invalid(description: "mapping.\(name) \(problem)") }
        }
    }

    static let kindNames = "commit, pr_opened, pr_merged, review, issue_opened, issue_closed, comment or custom:<type>"

    static func activityKind(_ name: String) -> ActivityKind? {
        guard let kind = ActivityKind(rawValue: name), kind != .codingDay else { return nil }
        return kind
    }

    static func isPointer(_ text: String) -> Bool {
        text.hasPrefix("/") || text.hasPrefix("$/") || text == "$"
    }

    /// The events a payload holds under this mapping.
    public func events(in body: [UInt8], receivedAt: Date) throws(Invalid) -> [MappedEvent] {
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
        } catch {
            throw Invalid(description: "body is not JSON")
        }
        let elements: [Any]
        if let events {
            guard let array = Self.resolve(events, in: root, root: root) as? [Any] else {
                throw Invalid(description: "mapping.events \(events) is not an array in the payload")
            }
            elements = array
        } else {
            elements = [root]
        }
        var mapped: [MappedEvent] = []
        let owners = Set((authors ?? []).map { $0.lowercased() })
        for (index, element) in elements.enumerated() {
            let at = events.map { "\($0)/\(index)" } ?? ""
            if let author, !owners.isEmpty {
                guard let who = (try? Self.text(Self.resolve(author, in: element, root: root), field: "")) ?? nil, owners.contains(who.lowercased())
                else { continue }
            }
            let kind: ActivityKind
            if let constant = self.kind {
                kind = Self.activityKind(constant)!
            } else {
                guard let pointer = kindPointer, let value = Self.resolve(pointer, in: element, root: root) as? String else {
                    throw Invalid(description: "mapping.kind_pointer \(at)\(kindPointer ?? "") is not a string in the payload")
                }
                guard let name = kinds?[value], let found = Self.activityKind(name) else { continue }
                kind = found
            }
            let occurredAt: Date
            if self.occurredAt == "$received" {
                occurredAt = receivedAt
            } else {
                guard let text = Self.resolve(self.occurredAt, in: element, root: root) as? String, let date = Self.parseTime(text) else {
                    throw Invalid(description: "mapping.occurred_at \(at)\(self.occurredAt) is not a time in the payload")
                }
                if let problem = ActivityTimes.problem(date, now: receivedAt) {
                    throw Invalid(description: "mapping.occurred_at \(at)\(self.occurredAt) \(problem)")
                }
                occurredAt = date
            }
            var amount = 1.0
            if let pointer = value {
                guard let number = Self.resolve(pointer, in: element, root: root) as? NSNumber, String(cString: number.objCType) != "c",
                    number.doubleValue.isFinite, number.doubleValue >= 0, number.doubleValue <= CustomEvent.maxValue
                else {
                    throw Invalid(description: "mapping.value \(at)\(pointer) is not a number from 0 to 1e9 in the payload")
                }
                amount = number.doubleValue
            }
            let identifier = try id.flatMap { pointer throws(Invalid) in
                try Self.text(Self.resolve(pointer, in: element, root: root), field: "mapping.id \(at)\(pointer)")
            }
            let repository = try repo.flatMap { pointer throws(Invalid) in
                try Self.text(Self.resolve(pointer, in: element, root: root), field: "mapping.repo \(at)\(pointer)")
            }
            mapped.append(MappedEvent(kind: kind, occurredAt: occurredAt, value: amount, id: identifier, repo: repository))
        }
        return mapped
    }

    /// A string, or a number written out (GitLab's ids are numbers); one that cannot be stored is refused, so
    /// the delivery goes to the DLQ with the reason rather than counting under a mangled name.
    static func text(_ value: Any?, field: String) throws(Invalid) -> String? {
        if let string = value as? String, !string.isEmpty {
            if let problem = InputText.problem(string, maxBytes: CustomEvent.maxTextBytes) { throw Invalid(description: "\(field) \(problem)") }
            return string
        }
        if let number = value as? NSNumber, String(cString: number.objCType) != "c" { return number.stringValue }
        return nil
    }

    /// ISO 8601, or GitLab's older `2013-12-03 17:23:34 UTC`.
    static func parseTime(_ text: String) -> Date? {
        if let date = Timestamps.parse(text) { return date }
        guard text.hasSuffix(" UTC"), text.count == 23 else { return nil }
        return Timestamps.parse(text.dropLast(4).replacingOccurrences(of: " ", with: "T") + "Z")
    }

    /// RFC 6901 against `element`, or against `root` after a leading `$`.
    static func resolve(_ pointer: String, in element: Any, root: Any) -> Any? {
        var current: Any? = element
        var path = Substring(pointer)
        if path.hasPrefix("$") {
            current = root
            path = path.dropFirst()
        }
        guard !path.isEmpty else { return current }
        for token in path.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            if let object = current as? [String: Any] {
                current = object[key]
            } else if let array = current as? [Any], let index = Int(key), array.indices.contains(index) {
                current = array[index]
            } else {
                return nil
            }
        }
        return current is NSNull ? nil : current
    }
}

/// One event read through a mapping.
public struct MappedEvent: Sendable, Equatable {
    public let kind: ActivityKind
    public let occurredAt: Date
    public let value: Double
    public let id: String?
    public let repo: String?

    public init(kind: ActivityKind, occurredAt: Date, value: Double = 1, id: String? = nil, repo: String? = nil) {
        self.kind = kind
        self.occurredAt = occurredAt
        self.value = value
        self.id = id
        self.repo = repo
    }

    /// The fact for `userID`; named like a native event's (`{source}:{id}` or `{source}:{delivery}#{position}`).
    public func fact(userID: UUID, source: String, deliveryID: String, index: Int) -> ActivityFact {
        ActivityFact(
            id: "\(source):\(id ?? "\(deliveryID)#\(index)")", userID: userID, kind: kind, occurredAt: occurredAt, value: value,
            repo: repo, language: nil, source: source)
    }
}
