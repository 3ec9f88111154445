import DevTrackCore
import DevTrackOutbound
import DevTrackStore
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// How one kind of destination is sent to and how its answers are read.
public protocol DeliveryChannel: Sendable {
    /// The outbox `channel` value.
    var name: String { get }
    /// The longest one request may take (the HTTP client's timeout).
    var attemptTimeout: Duration { get }
    /// Retries after failures; a destination failing again and again is left alone on the same schedule.
    var schedule: RetrySchedule { get }
    /// Sends one claimed delivery and records the attempt. When the destination asks to be left alone for a
    /// while (a rate limit), `hold` is called at once, before the attempt is recorded.
    func deliver(_ delivery: ClaimedDelivery, hold: @escaping @Sendable (DeliveryHold) -> Void) async
    /// Closes idle connections (the deliverer has stopped).
    func close()
}

/// A wait a destination asked for. The deliverer keeps it in memory, so nothing it holds is claimed or
/// handed off meanwhile (the rows already queued are postponed in PostgreSQL too, for other deliverers).
public enum DeliveryHold: Sendable, Equatable {
    /// Every destination of the channel (Discord's global rate limit).
    case channel(Duration)
    /// The destination of the delivery being sent (its own rate limit, or an exhausted bucket).
    case destination(Duration)
    /// The destination did not answer or failed (network error, timeout, 5xx): it is left alone for the
    /// channel's backoff after as many failures in a row, so a destination that is down costs one attempt per
    /// backoff, not one per queued delivery.
    case failing
}

/// Delivers the outbox's rows of one channel, off the Kafka partitions. The `notify` worker of this process
/// hands it the rows it queues already leased (`DeliveryHandoff`), and it claims due rows — retries, rows
/// queued elsewhere or while it was full, leases that ran out — with `FOR UPDATE SKIP LOCKED`, so any number
/// of deliverers (one per `notify` process) share the outbox. One request at a time per destination (a slow
/// or dead destination ties up one slot, never the others), at most `maxConcurrent` at once, and up to
/// `maxWaiting` handed-off deliveries waiting for a slot (beyond that, rows wait in the outbox for a claim);
/// graceful shutdown stops claiming and lets the requests in flight finish.
public final class OutboxDeliverer: Service, DeliveryHandoff, Sendable {
    let outbox: OutboxRepository
    let deliveryChannel: any DeliveryChannel
    let logger: Logger
    let maxConcurrent: Int
    let maxWaiting: Int
    let pollInterval: Duration
    let claimSpacing = Duration.milliseconds(20)
    /// Destinations waiting out a hold they asked for (a rate limit, failures): `devtrack_outbox_held_destinations{channel}`.
    let heldDestinations: Gauge
    public let lease: Duration
    private let state = Mutex(State())
    /// Rung when a slot frees up or deliveries are handed off: the loop then acts without waiting for a poll.
    private let doorbell = Doorbell()

    /// A leased delivery, and when its lease began at the latest.
    struct Job {
        let delivery: ClaimedDelivery
        let leasedAt: ContinuousClock.Instant
    }

    struct State {
        /// Destinations with a delivery reserved, waiting or running: one at a time each.
        var busy: Set<String> = []
        var running = 0
        /// Reserved by the `notify` worker, not handed off yet (the reservation time bounds the lease's start).
        var reserved: [String: ContinuousClock.Instant] = [:]
        var waiting: [Job] = []
        /// Claimed for a destination that became busy while the claim ran: sent after its current request.
        var deferred: [String: [Job]] = [:]
        var pausedUntil: ContinuousClock.Instant?
        var heldUntil: [String: ContinuousClock.Instant] = [:]
        /// Failures in a row per failing destination (forgotten at its next success).
        var failuresInARow: [String: Int] = [:]
        var stopped = false

        /// Busy destinations, and held ones whose hold has not run out (forgetting those that have).
        mutating func unavailable(at now: ContinuousClock.Instant) -> Set<String> {
            if !heldUntil.isEmpty { heldUntil = heldUntil.filter { $0.value > now } }
            return heldUntil.isEmpty ? busy : busy.union(heldUntil.keys)
        }

        func paused(at now: ContinuousClock.Instant) -> Bool { pausedUntil.map { $0 > now } ?? false }
    }

    public init(
        database: Database, channel: any DeliveryChannel, logger: Logger, maxConcurrent: Int, maxWaiting: Int? = nil,
        pollInterval: Duration = .milliseconds(100), lease: Duration
    ) {
        self.outbox = OutboxRepository(database)
        self.deliveryChannel = channel
        self.logger = logger
        self.maxConcurrent = maxConcurrent
        self.maxWaiting = maxWaiting ?? maxConcurrent * 8
        self.pollInterval = pollInterval
        self.lease = lease
        self.heldDestinations = Gauge(label: "devtrack_outbox_held_destinations", dimensions: [("channel", channel.name)])
    }

    public var channel: String { deliveryChannel.name }

    public func run() async throws {
        logger.info("\(channel) deliverer started")
        await withDiscardingTaskGroup { group in
            // Claims run every `pollInterval`, at once after a claim that filled every free slot (more may be
            // due), and sooner when the doorbell rings (a slot freed, a handoff) — but then at most every
            // `claimSpacing`: with handoffs a freed slot rarely has a due row behind it, and a claim per finished
            // delivery was mostly wasted work.
            var lastClaim = ContinuousClock.now - pollInterval
            var claimFilledSlots = false
            var rung = false
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                let ready = startWaiting()
                var claimed: [Job] = []
                let now = ContinuousClock.now
                if ready.isEmpty, claimFilledSlots || now >= lastClaim + pollInterval || (rung && now >= lastClaim + claimSpacing) {
                    (claimed, claimFilledSlots) = await claimDue()
                    lastClaim = now
                    rung = false
                }
                for job in ready + claimed {
                    group.addTask { await self.send(job) }
                }
                guard ready.isEmpty, claimed.isEmpty else { continue }
                if await doorbell.wait(until: lastClaim + (rung ? claimSpacing : pollInterval)) { rung = true }
            }
            // Deliveries handed off before the stop are leased and committed: send them rather than leave them
            // to their lease.
            state.withLock { $0.stopped = true }
            while true {
                let ready = startWaiting()
                for job in ready {
                    group.addTask { await self.send(job) }
                }
                if state.withLock({ $0.waiting.isEmpty }) { break }
                if ready.isEmpty { _ = await doorbell.wait(until: .now + pollInterval) }
            }
        }
        deliveryChannel.close()
        logger.info("\(channel) deliverer stopped")
    }

    /// Takes waiting deliveries for the free slots.
    private func startWaiting() -> [Job] {
        state.withLock { state in
            let count = min(state.waiting.count, maxConcurrent - state.running)
            guard count > 0 else { return [] }
            state.running += count
            defer { state.waiting.removeFirst(count) }
            return Array(state.waiting.prefix(count))
        }
    }

    private func send(_ job: Job) async {
        var next: Job? = job
        while let job = next {
            await attempt(job)
            let (following, held) = finish(job.delivery.destination)
            next = following
            if let held { await unclaim(held.jobs, until: held.until) }
        }
        doorbell.ring()
    }

    /// The destination's request is over: its next claimed delivery, if one is deferred and it is not held
    /// (the slot goes on to it), else the slot and the destination are free. Deferred deliveries of a held
    /// destination are handed back to the outbox for when the hold ends (`held`), not left to their lease.
    private func finish(_ destination: String) -> (next: Job?, held: (jobs: [Job], until: ContinuousClock.Instant)?) {
        state.withLock { state in
            let deferred = state.deferred.removeValue(forKey: destination) ?? []
            let heldUntil = state.heldUntil[destination].flatMap { $0 > .now ? $0 : nil }
            if let next = deferred.first, heldUntil == nil {
                if deferred.count > 1 { state.deferred[destination] = Array(deferred.dropFirst()) }
                return (next, nil)
            }
            state.running -= 1
            state.busy.remove(destination)
            return (nil, heldUntil.flatMap { deferred.isEmpty ? nil : (deferred, $0) })
        }
    }

    /// Gives claimed deliveries back to the outbox, due when their destination's hold ends.
    private func unclaim(_ jobs: [Job], until: ContinuousClock.Instant) async {
        let due = Date().addingTimeInterval(Double(max(until - .now, .zero).wholeMilliseconds) / 1000)
        do {
            try await outbox.unclaimDeliveries(ids: jobs.map(\.delivery.id), dueAt: due)
        } catch {
            logger.warning("\(channel) deliverer cannot give back \(jobs.count) held deliveries; they go again when their lease ends: \(error)")
        }
    }

    private func attempt(_ job: Job) async {
        let delivery = job.delivery
        // A claim that was running when a pause began still returns rows: they wait it out too.
        await waitOutPause()
        // Sent only while the lease surely outlasts the request; otherwise it is left to run out, and a claim
        // (this deliverer's or another's) takes the row again.
        if ContinuousClock.now + deliveryChannel.attemptTimeout + .seconds(1) < job.leasedAt + lease {
            let failedFor = Mutex<Duration?>(nil)
            await deliveryChannel.deliver(delivery) { hold in
                self.state.withLock { state in
                    let destination = delivery.destination
                    switch hold {
                    case .channel(let wait):
                        state.pausedUntil = max(state.pausedUntil ?? .now, .now + wait)
                    case .destination(let wait):
                        state.heldUntil[destination] = max(state.heldUntil[destination] ?? .now, .now + wait)
                    case .failing:
                        let failures = state.failuresInARow[destination, default: 0] + 1
                        state.failuresInARow[destination] = failures
                        let wait = Duration.milliseconds(Int(self.deliveryChannel.schedule.backoff(afterFailure: failures) * 1000))
                        state.heldUntil[destination] = max(state.heldUntil[destination] ?? .now, .now + wait)
                        failedFor.withLock { $0 = wait }
                    }
                }
            }
            if let wait = failedFor.withLock({ $0 }) {
                // What else waits for it in the outbox waits too, out of the claims' way.
                await postpone(delivery.destination, by: wait)
            } else {
                state.withLock { _ = $0.failuresInARow.removeValue(forKey: delivery.destination) }
            }
        } else {
            logger.warning("\(channel) delivery \(delivery.id) waited too long for a slot; it goes again when its lease runs out")
        }
    }

    private func postpone(_ destination: String, by wait: Duration) async {
        do {
            try await outbox.postponeDeliveries(
                channel: channel, destination: destination, until: Date().addingTimeInterval(Double(wait.wholeMilliseconds) / 1000))
        } catch {
            logger.error("\(channel) deliverer cannot postpone deliveries to failing \(destination): \(error)")
        }
    }

    private func waitOutPause() async {
        while let until = state.withLock({ $0.pausedUntil }), until > .now, !Task.isCancelled {
            try? await Task.sleep(until: until)
        }
    }

    /// Claims due rows for the free slots, unless handed-off deliveries are waiting for them.
    /// Claims due rows for the free slots, unless handed-off deliveries are waiting for them; says whether it
    /// filled them all.
    private func claimDue() async -> (jobs: [Job], full: Bool) {
        let (unavailable, limit) = state.withLock { state -> (Set<String>, Int) in
            let now = ContinuousClock.now
            guard !state.paused(at: now), state.waiting.isEmpty else { return ([], 0) }
            let unavailable = state.unavailable(at: now)
            heldDestinations.record(state.heldUntil.count)
            return (unavailable, maxConcurrent - state.running - state.reserved.count)
        }
        guard limit > 0 else { return ([], false) }
        do {
            let leasedAt = ContinuousClock.now
            let claimed = try await outbox.claimDeliveries(channel: channel, excluding: Array(unavailable), limit: limit, lease: lease)
            // A destination may have become busy while the claim ran (a hand-off, or a slot given to it): its
            // claimed delivery then waits for that request to end, so it still gets one at a time.
            let ready = state.withLock { state in
                claimed.map { Job(delivery: $0, leasedAt: leasedAt) }.filter { job in
                    guard !state.busy.contains(job.delivery.destination) else {
                        state.deferred[job.delivery.destination, default: []].append(job)
                        return false
                    }
                    state.busy.insert(job.delivery.destination)
                    state.running += 1
                    return true
                }
            }
            return (ready, claimed.count == limit)
        } catch {
            logger.error("\(channel) deliverer cannot claim deliveries: \(error)")
            return ([], false)
        }
    }

    // MARK: DeliveryHandoff

    public func reserve(_ destinations: Set<String>) -> DeliveryReservation {
        state.withLock { state in
            let now = ContinuousClock.now
            let date = Date()
            var reservation = DeliveryReservation()
            for destination in destinations {
                if let until = state.heldUntil[destination], until > now {
                    reservation.heldUntil[destination] = date.addingTimeInterval(Double((until - now).wholeMilliseconds) / 1000)
                }
            }
            guard !state.stopped, !state.paused(at: now) else { return reservation }
            let unavailable = state.unavailable(at: now)
            var room = maxConcurrent + maxWaiting - state.running - state.waiting.count - state.reserved.count
            for destination in destinations where room > 0 && !unavailable.contains(destination) {
                state.busy.insert(destination)
                state.reserved[destination] = now
                reservation.granted.insert(destination)
                room -= 1
            }
            return reservation
        }
    }

    public func release(_ destinations: Set<String>) {
        guard !destinations.isEmpty else { return }
        state.withLock { state in
            for destination in destinations where state.reserved.removeValue(forKey: destination) != nil {
                // A delivery claimed for it meanwhile takes the slot instead.
                if var deferred = state.deferred.removeValue(forKey: destination), !deferred.isEmpty {
                    state.waiting.append(deferred.removeFirst())
                    if !deferred.isEmpty { state.deferred[destination] = deferred }
                } else {
                    state.busy.remove(destination)
                }
            }
        }
        doorbell.ring()
    }

    public func start(_ deliveries: [ClaimedDelivery]) {
        guard !deliveries.isEmpty else { return }
        state.withLock { state in
            for delivery in deliveries {
                let reservedAt = state.reserved.removeValue(forKey: delivery.destination) ?? .now
                state.waiting.append(Job(delivery: delivery, leasedAt: reservedAt))
            }
        }
        doorbell.ring()
    }
}
