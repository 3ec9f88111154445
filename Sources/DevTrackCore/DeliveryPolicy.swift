import Foundation

/// What to do after an attempt to post to Discord, from its answer alone (pure, so every rule is tested
/// without a network): Discord documents 429 with `retry_after` (seconds, in the JSON body and the
/// `Retry-After` header) and a `global` flag, `X-RateLimit-Remaining` / `X-RateLimit-Reset-After` on every
/// answer, and 404 with code 10015 "Unknown Webhook" when the webhook was deleted.
public enum DiscordAnswer: Equatable, Sendable {
    /// Posted. `pauseFor` is set when the webhook's rate-limit bucket is empty.
    case delivered(pauseFor: Double?)
    /// Rate limited: try again after `seconds`; `global` pauses every Discord delivery, not just this webhook.
    case rateLimited(seconds: Double, global: Bool)
    /// The webhook no longer exists: stop posting to it and tell the user.
    case webhookGone
    /// Worth another try (5xx, 408, network trouble).
    case transient(String)
    /// Will not get better by retrying (400 bad payload, 401/403).
    case rejected(String)

    public static func classify(status: Int, headers: [(String, String)], body: [UInt8]) -> DiscordAnswer {
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name }?.1 }
        let json = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        switch status {
        case 200..<300:
            let empty = header("x-ratelimit-remaining").map { $0.trimmingCharacters(in: .whitespaces) }.flatMap(Int.init) == 0
            return .delivered(pauseFor: empty ? PeerSeconds.parse(header("x-ratelimit-reset-after")) ?? 1 : nil)
        case 429:
            let seconds = PeerSeconds.value(json?["retry_after"]) ?? PeerSeconds.parse(header("retry-after")) ?? 1
            let global = (json?["global"] as? Bool) ?? (header("x-ratelimit-global")?.lowercased() == "true")
            return .rateLimited(seconds: seconds, global: global)
        case 404:
            return .webhookGone
        case 408, 500..<600:
            return .transient("HTTP \(status)")
        default:
            let message = (json?["message"] as? String).map { ": \($0)" } ?? ""
            return .rejected("HTTP \(status)\(message)")
        }
    }
}

/// A wait in seconds that a peer (Discord, a user's endpoint) asks for, read defensively: the peer controls the
/// text, so "nan", "inf", "-inf", "1e300" or garbage must never reach `Int(seconds * 1000)` or
/// `Date().addingTimeInterval(_:)` (NaN and infinities trap there, and `min`/`max` pass NaN through).
/// Only finite numbers are accepted, clamped to `range` (0...3600 s); anything else is nil (the caller's default).
public enum PeerSeconds {
    /// The longest wait a peer can impose: one hour.
    public static let range: ClosedRange<Double> = 0...3_600

    /// `text` (a header value) as finite seconds clamped to `range`, or nil when it is missing or not a finite number.
    public static func parse(_ text: String?) -> Double? {
        guard let text else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.utf8.count <= 64, let seconds = Double(trimmed) else { return nil }
        return clamped(seconds)
    }

    /// A JSON value (number or numeric string) as finite seconds clamped to `range`, or nil.
    public static func value(_ json: Any?) -> Double? {
        switch json {
        case let number as NSNumber: return clamped(number.doubleValue)
        case let text as String: return parse(text)
        default: return nil
        }
    }

    /// Finite `seconds` clamped to `range`; nil for NaN and infinities.
    public static func clamped(_ seconds: Double) -> Double? {
        guard seconds.isFinite else { return nil }
        return min(max(seconds, range.lowerBound), range.upperBound)
    }

    /// Whole milliseconds of an already-clamped wait, safe for any input (non-finite becomes 0).
    public static func milliseconds(_ seconds: Double) -> Int {
        guard let seconds = clamped(seconds) else { return 0 }
        return Int(seconds * 1000)
    }
}

/// Exponential backoff with jitter for transient failures, bounded in attempts.
public struct RetrySchedule: Sendable, Equatable {
    public var maxFailures: Int
    public var base: Double
    public var cap: Double

    public init(maxFailures: Int = 8, base: Double = 2, cap: Double = 600) {
        self.maxFailures = maxFailures
        self.base = base
        self.cap = cap
    }

    /// Seconds to wait after the `failures`-th failure (1-based), nil when that was the last allowed.
    /// Between half and all of `base × 2^(failures-1)` (capped), so retries of many deliveries spread out.
    public func delay(afterFailure failures: Int, random: Double = Double.random(in: 0...1)) -> Double? {
        guard failures < maxFailures else { return nil }
        return backoff(afterFailure: failures, random: random)
    }

    /// The same wait without the limit: how long a destination that failed `failures` times in a row is left
    /// alone (every delivery to it waits), however many deliveries are queued for it.
    public func backoff(afterFailure failures: Int, random: Double = Double.random(in: 0...1)) -> Double {
        let full = min(cap, base * pow(2, Double(max(0, min(failures, 62) - 1))))
        return full / 2 + full / 2 * random
    }
}

/// What to do after posting to a user's webhook endpoint: 2xx delivered; 410 Gone disables the endpoint
/// (the receiver says it will never want more, as Standard Webhooks suggests); 429 waits for `Retry-After`;
/// 408 and 5xx retry; redirects and other 4xx fail at once (redirects are not followed, so a receiver
/// cannot bounce the hub to an internal address).
public enum WebhookAnswer: Equatable, Sendable {
    case delivered
    case rateLimited(seconds: Double)
    case gone
    case transient(String)
    case rejected(String)

    public static func classify(status: Int, headers: [(String, String)]) -> WebhookAnswer {
        switch status {
        case 200..<300: .delivered
        case 410: .gone
        case 429:
            .rateLimited(seconds: PeerSeconds.parse(headers.first { $0.0.lowercased() == "retry-after" }?.1) ?? 60)
        case 408, 500..<600: .transient("HTTP \(status)")
        case 300..<400: .rejected("HTTP \(status): redirects are not followed")
        default: .rejected("HTTP \(status)")
        }
    }
}
