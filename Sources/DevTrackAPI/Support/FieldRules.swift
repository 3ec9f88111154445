import DevTrackCore
import DevTrackHTTP

/// Rules several resources share for the fields of their bodies.
enum FieldRules {
    /// A required name (webhooks, tokens): trimmed, 1 to 100 characters (at most 400 bytes), no control
    /// characters; else 400 `invalid_name`.
    static func requiredName(_ name: String?) throws -> String {
        let trimmed = (name ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...100).contains(trimmed.count) else { throw HubHTTPError.badRequest("name must be 1 to 100 characters", code: "invalid_name") }
        if let problem = InputText.problem(trimmed, maxBytes: 400) { throw HubHTTPError.badRequest("name \(problem)", code: "invalid_name") }
        return trimmed
    }
}
