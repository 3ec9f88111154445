import DevTrackStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// How many requests one client address may make to the public routes per fixed window, across every api process.
public struct PublicRateLimits: Sendable {
    /// Profiles and the anonymous leaderboard.
    public var profileRequests: Int
    /// Cards, badges and shields.io endpoints: GitHub's image proxy fetches README images from few addresses, so
    /// this is higher.
    public var imageRequests: Int
    /// Starts of a GitHub sign-in (`GET /auth/github`): each writes a one-time state to PostgreSQL before anyone is
    /// known, so a client cannot fill the table.
    public var signInRequests: Int
    public var window: Duration
    /// Addresses one process counts per window at most; beyond, new ones are admitted uncounted (an attacker with
    /// that many addresses is not held by a per-address limit anyway), so memory and reads stay bounded.
    public var maxAddresses: Int

    public init(
        profileRequests: Int, imageRequests: Int, signInRequests: Int = 30, window: Duration = .seconds(60), maxAddresses: Int = 100_000
    ) {
        (self.profileRequests, self.imageRequests, self.signInRequests) = (profileRequests, imageRequests, signInRequests)
        (self.window, self.maxAddresses) = (window, maxAddresses)
    }
}

/// The count of one address in one window as this process knows it: the total all processes had reached when it
/// last read it from PostgreSQL, plus what this process admitted since. Pure, so the rule is tested without I/O.
struct WindowCount: Sendable, Equatable {
    let windowStart: Double
    var sharedTotal = 0
    var pending = 0
    /// When the shared total was last read (Unix seconds); a count older than `PublicRateLimiter.staleAfter` is read
    /// again before the next admission.
    var syncedAt = -Double.infinity

    init(windowStart: Double) { self.windowStart = windowStart }

    /// Admits one more request when the known count is below `limit`.
    mutating func admit(limit: Int) -> Bool {
        guard sharedTotal + pending < limit else { return false }
        pending += 1
        return true
    }
}

/// The public routes' rate limit, per client address (IPv6 by its /64), that holds across api processes: each
/// process admits or refuses on its own count plus the shared total it last read — read from `request_windows`
/// when it first sees the address in a window and again whenever that is more than `staleAfter` old — and every
/// `flushInterval` adds its new requests to the table. So the processes together overshoot the limit by at most
/// what they admit in about a second, and a database outage leaves each counting alone. Runs as a service beside
/// the HTTP server.
public final class PublicRateLimiter: Service, Sendable {
    public enum Kind: String, Sendable { case profile, image, signIn = "sign-in" }

    static let staleAfter = 1.0
    let limits: PublicRateLimits
    let windows: RequestWindowRepository
    let flushInterval: Duration
    let logger: Logger
    private let counts = Mutex<[String: WindowCount]>([:])
    private let lastCleanup = Mutex<Double>(0)

    public init(limits: PublicRateLimits, windows: RequestWindowRepository, flushInterval: Duration = .milliseconds(200), logger: Logger) {
        (self.limits, self.windows, self.flushInterval, self.logger) = (limits, windows, flushInterval, logger)
    }

    /// nil when admitted, else the seconds until the window ends (for `Retry-After`).
    func admit(address: String, kind: Kind, now: Date = Date()) async -> Int? {
        let instant = now.timeIntervalSince1970
        let (start, end) = window(at: instant)
        let key = Self.bucket(kind: kind, address: ClientAddress.bucket(of: address), start: start)
        let limit =
            switch kind {
            case .profile: limits.profileRequests
            case .image: limits.imageRequests
            case .signIn: limits.signInRequests
            }
        let needsRead: Bool? = counts.withLock { table in
            if table[key] == nil {
                guard table.count < limits.maxAddresses else { return nil }
                table[key] = WindowCount(windowStart: start)
            }
            guard instant - (table[key]?.syncedAt ?? 0) > Self.staleAfter else { return false }
            table[key]?.syncedAt = instant  // the others in this second go on with what is known
            return true
        }
        guard let needsRead else { return nil }
        if needsRead, let shared = try? await windows.total(bucket: key) {
            counts.withLock { table in
                let known = table[key]?.sharedTotal ?? 0
                table[key]?.sharedTotal = max(known, shared)
            }
        }
        let admitted = counts.withLock { $0[key]?.admit(limit: limit) ?? true }
        return admitted ? nil : max(1, Int((end - instant).rounded(.up)))
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: flushInterval)
            await flush()
        }
    }

    /// Adds pending counts to the shared table and takes its totals back; drops windows that are over, here and (once
    /// a window) in the table.
    func flush(now: Date = Date()) async {
        let (current, _) = window(at: now.timeIntervalSince1970)
        let pending: [(bucket: String, windowStart: Date, requests: Int)] = counts.withLock { table in
            table = table.filter { $0.value.windowStart >= current }
            var taken: [(bucket: String, windowStart: Date, requests: Int)] = []
            for (key, count) in table where count.pending > 0 {
                taken.append((key, Date(timeIntervalSince1970: count.windowStart), count.pending))
                table[key]?.sharedTotal += count.pending
                table[key]?.pending = 0
            }
            return taken
        }
        do {
            if !pending.isEmpty {
                let totals = try await windows.add(pending)
                counts.withLock { table in
                    for (key, total) in totals {
                        let known = table[key]?.sharedTotal ?? 0
                        table[key]?.sharedTotal = max(known, total)
                    }
                }
            }
            let cleanupDue = lastCleanup.withLock { last in
                guard last < current else { return false }
                last = current
                return true
            }
            if cleanupDue { try await windows.deleteWindows(before: Date(timeIntervalSince1970: current - seconds)) }
        } catch {
            logger.warning("rate-limit counts not shared this time", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    private var seconds: Double { Double(limits.window.components.seconds) }

    private func window(at instant: Double) -> (start: Double, end: Double) {
        let start = (instant / seconds).rounded(.down) * seconds
        return (start, start + seconds)
    }

    /// `{kind}|{window start}|{address}`: the table's key, and this process's.
    static func bucket(kind: Kind, address: String, start: Double) -> String { "\(kind.rawValue)|\(Int(start))|\(address)" }
}

/// Who a request counts against: the peer's address, or with `api.client_address_header` set (behind a reverse
/// proxy that writes it), the last address of that header — the one the proxy saw; anything that is not an IP
/// address there falls back to the peer.
enum ClientAddress {
    static func of(peer: String, header: String?) -> String {
        guard let header, let last = header.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), parse(last) != nil else {
            return peer
        }
        return last
    }

    /// The rate limit's unit: an IPv4 address, or an IPv6 address's /64 (one host gets a whole /64 to pick from).
    static func bucket(of address: String) -> String {
        guard let bytes = parse(address), bytes.count == 16 else { return address }
        return stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(separator: ":")
            + "::/64"
    }

    /// The address's bytes (4 or 16), nil when it is not one.
    static func parse(_ text: String) -> [UInt8]? {
        guard text.utf8.count <= 45 else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
