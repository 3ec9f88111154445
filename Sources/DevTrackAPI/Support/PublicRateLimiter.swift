import DevTrackStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// How many requests one client address may make to the public routes per fixed window, across every api process.
public struct PublicRateLimits: Sendable {
    /// Profiles and the leaderboard.
    public var profileRequests: Int
    /// Cards, badges and shields.io endpoints: GitHub's image proxy fetches README images from few addresses, so
    /// this is higher.
    public var imageRequests: Int
    public var window: Duration

    public init(profileRequests: Int = 60, imageRequests: Int = 3_000, window: Duration = .seconds(60)) {
        (self.profileRequests, self.imageRequests, self.window) = (profileRequests, imageRequests, window)
    }
}

/// The count of one address in one window as this process knows it: the total all processes had reached at the
/// last exchange with PostgreSQL, plus what this process admitted since. Pure, so the rule is tested without I/O.
struct WindowCount: Sendable, Equatable {
    var sharedTotal = 0
    var pending = 0

    /// Admits one more request when the known count is below `limit`.
    mutating func admit(limit: Int) -> Bool {
        guard sharedTotal + pending < limit else { return false }
        pending += 1
        return true
    }
}

/// The public routes' rate limit, per client address, that holds across api processes: each process admits or
/// refuses on its own count plus the shared total it last read, and every `flushInterval` adds its new requests to
/// `request_windows` and reads the totals back (and reads an address's shared count when it first sees it in a
/// window). Processes can overshoot the limit by what they admit between two
/// exchanges (a fraction of a second's requests), never by more; a database outage leaves each process counting
/// alone. Runs as a service beside the HTTP server.
public final class PublicRateLimiter: Service, Sendable {
    public enum Kind: String, Sendable { case profile, image }

    let limits: PublicRateLimits
    let windows: RequestWindowRepository
    let flushInterval: Duration
    let logger: Logger
    private let counts = Mutex<[String: WindowCount]>([:])

    public init(limits: PublicRateLimits, windows: RequestWindowRepository, flushInterval: Duration = .milliseconds(200), logger: Logger) {
        (self.limits, self.windows, self.flushInterval, self.logger) = (limits, windows, flushInterval, logger)
    }

    /// nil when admitted, else the seconds until the window ends (for `Retry-After`). An address this process has not
    /// seen in the window yet costs one read of the shared count first (so a second process does not start from zero).
    func admit(address: String, kind: Kind, now: Date = Date()) async -> Int? {
        let (start, end) = window(at: now)
        let key = Self.bucket(kind: kind, address: address, start: start)
        let limit = kind == .profile ? limits.profileRequests : limits.imageRequests
        if counts.withLock({ $0[key] == nil }) {
            let shared = (try? await windows.total(bucket: key)) ?? 0
            counts.withLock { table in
                let known = table[key]?.sharedTotal ?? 0
                table[key, default: WindowCount()].sharedTotal = max(known, shared)
            }
        }
        let admitted = counts.withLock { $0[key, default: WindowCount()].admit(limit: limit) }
        return admitted ? nil : max(1, Int((end - now.timeIntervalSince1970).rounded(.up)))
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: flushInterval)
            await flush()
        }
    }

    /// Adds pending counts to the shared table and takes its totals back; drops windows that are over.
    func flush(now: Date = Date()) async {
        let (current, _) = window(at: now)
        let pending: [(bucket: String, windowStart: Date, requests: Int)] = counts.withLock { counts in
            counts = counts.filter { Self.start(ofBucket: $0.key) >= current }
            var taken: [(bucket: String, windowStart: Date, requests: Int)] = []
            for (key, count) in counts where count.pending > 0 {
                taken.append((key, Date(timeIntervalSince1970: Self.start(ofBucket: key)), count.pending))
                counts[key]?.sharedTotal += count.pending
                counts[key]?.pending = 0
            }
            return taken
        }
        guard !pending.isEmpty else { return }
        do {
            let totals = try await windows.add(pending)
            counts.withLock { table in
                for (key, total) in totals {
                    let known = table[key]?.sharedTotal ?? 0
                    table[key]?.sharedTotal = max(known, total)
                }
            }
            if Int(now.timeIntervalSince1970) % 60 == 0 {
                try await windows.deleteWindows(before: Date(timeIntervalSince1970: current - 2 * seconds))
            }
        } catch {
            logger.warning("rate-limit counts not shared this time", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    private var seconds: Double { Double(limits.window.components.seconds) }

    private func window(at now: Date) -> (start: Double, end: Double) {
        let start = (now.timeIntervalSince1970 / seconds).rounded(.down) * seconds
        return (start, start + seconds)
    }

    /// `{kind}|{window start}|{address}`: the table's key, and this process's.
    static func bucket(kind: Kind, address: String, start: Double) -> String { "\(kind.rawValue)|\(Int(start))|\(address)" }

    static func start(ofBucket key: String) -> Double {
        Double(key.split(separator: "|", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0)
    }
}
