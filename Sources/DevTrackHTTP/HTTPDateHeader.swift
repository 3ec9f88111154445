#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// `Date:` header values (RFC 9110's IMF-fixdate), formatted at most once a second. Hummingbird adds one to every answer from
/// a cache of its own, which a route answered below its handlers (ingest's `GitHubDeliveryFastPath`) cannot reach.
public struct HTTPDateHeader {
    private var second: time_t = -1
    private var text = ""

    public init() {}

    /// Now, as a `Date:` value.
    public mutating func now() -> String {
        let now = time(nil)
        if now != second {
            second = now
            text = Self.format(now)
        }
        return text
    }

    /// `seconds` since 1970 as `Thu, 03 Dec 2026 14:20:00 GMT`.
    public static func format(_ seconds: time_t) -> String {
        var seconds = seconds
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekdays[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
