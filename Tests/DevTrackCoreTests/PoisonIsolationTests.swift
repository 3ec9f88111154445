import DevTrackCore
import Synchronization
import Testing

/// The worker loop's answer to failures, without Kafka or PostgreSQL: an in-memory "store" that refuses
/// poison values permanently, and can be made unavailable (transiently) for a number of attempts.
struct PoisonIsolationTests {
    struct Poison: PermanentFailure, CustomStringConvertible {
        let value: Int
        var description: String { "value \(value) cannot be stored" }
    }
    struct Unavailable: Error {}

    final class Store: Sendable {
        let poison: Set<Int>
        let applied = Mutex<[Int]>([])
        let attempts = Mutex(0)
        let unavailableFor = Mutex(0)

        init(poison: Set<Int>, unavailableFor: Int = 0) {
            self.poison = poison
            self.unavailableFor.withLock { $0 = unavailableFor }
        }

        /// All or nothing, like a transaction.
        func apply(_ batch: [Int]) throws {
            attempts.withLock { $0 += 1 }
            let away = unavailableFor.withLock { left -> Bool in
                defer { left = max(0, left - 1) }
                return left > 0
            }
            if away { throw Unavailable() }
            if let bad = batch.first(where: poison.contains) { throw Poison(value: bad) }
            applied.withLock { $0 += batch }
        }
    }

    final class Waits: Sendable {
        let delays = Mutex<[Duration]>([])
    }
    let waitLog = Waits()

    func isolation(permanentAttempts: Int = 3) -> PoisonIsolation<Int> {
        PoisonIsolation(
            policy: RetryPolicy(permanentAttempts: permanentAttempts, initialBackoff: .milliseconds(100), maxBackoff: .seconds(2)),
            classify: { $0 is PermanentFailure ? .permanent : .transient },
            wait: { [waitLog] delay in waitLog.delays.withLock { $0.append(delay) } })
    }

    @Test func aCleanBatchIsAppliedOnceWithoutWaiting() async throws {
        let store = Store(poison: [])
        let poisoned = try await isolation().run(Array(1...50)) { try store.apply($0) }
        #expect(poisoned.isEmpty)
        #expect(store.applied.withLock { $0 } == Array(1...50))
        #expect(store.attempts.withLock { $0 } == 1)
        #expect(waitLog.delays.withLock { $0 }.isEmpty)
    }

    @Test func onePoisonMessageIsIsolatedAndEveryOtherIsAppliedInOrder() async throws {
        let store = Store(poison: [37])
        let poisoned = try await isolation().run(Array(1...100)) { try store.apply($0) }
        #expect(poisoned.map(\.message) == [37])
        #expect(poisoned[0].reason == "value 37 cannot be stored")
        #expect(poisoned[0].attempts >= 3, "three attempts of the whole batch, then the halves that held it")
        #expect(store.applied.withLock { $0 } == Array(1...100).filter { $0 != 37 })
        // 3 whole-batch attempts, then about two applications per level of a 100-message bisection.
        #expect(store.attempts.withLock { $0 } <= 3 + 2 * 7)
        #expect(waitLog.delays.withLock { $0 } == [.milliseconds(100), .milliseconds(200)], "no waiting once the batch is being narrowed")
    }

    @Test func severalPoisonMessagesAreEachIsolated() async throws {
        let store = Store(poison: [1, 50, 51, 99])
        let poisoned = try await isolation().run(Array(1...99)) { try store.apply($0) }
        #expect(poisoned.map(\.message) == [1, 50, 51, 99])
        #expect(store.applied.withLock { $0 } == Array(2...98).filter { $0 != 50 && $0 != 51 })
    }

    @Test func aBatchOfOnlyPoisonIsAllDeadLetteredAndNothingApplied() async throws {
        let store = Store(poison: Set(1...16))
        let poisoned = try await isolation().run(Array(1...16)) { try store.apply($0) }
        #expect(poisoned.map(\.message) == Array(1...16))
        #expect(store.applied.withLock { $0 }.isEmpty)
        #expect(store.attempts.withLock { $0 } == 3 + 30, "every node of the bisection tree below the root, once")
    }

    @Test func aSinglePoisonMessageIsTriedThePolicysNumberOfTimes() async throws {
        let store = Store(poison: [7])
        let poisoned = try await isolation(permanentAttempts: 2).run([7]) { try store.apply($0) }
        #expect(poisoned.map(\.message) == [7])
        #expect(poisoned[0].attempts == 2)
        #expect(store.attempts.withLock { $0 } == 2)
    }

    @Test func transientTroubleIsWaitedOutAndNeverDeadLettered() async throws {
        // Away for 25 attempts: far more than the permanent attempts, still nothing is dead-lettered.
        let store = Store(poison: [], unavailableFor: 25)
        let poisoned = try await isolation().run(Array(1...10)) { try store.apply($0) }
        #expect(poisoned.isEmpty)
        #expect(store.applied.withLock { $0 } == Array(1...10))
        let delays = waitLog.delays.withLock { $0 }
        #expect(delays.count == 25)
        #expect(delays.prefix(5) == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600)])
        #expect(delays.dropFirst(5).allSatisfy { $0 == .seconds(2) }, "the backoff is capped, so work resumes soon after recovery")
    }

    @Test func transientTroubleDuringTheBisectionDoesNotCountAgainstTheMessages() async throws {
        final class Flaky: Sendable {
            let store = Store(poison: [4])
            let calls = Mutex(0)
            func apply(_ batch: [Int]) throws {
                let call = calls.withLock {
                    $0 += 1; return $0
                }
                // Attempts 4 and 5 are the first halves of the bisection: the infrastructure goes away then.
                if call == 4 || call == 5 { throw Unavailable() }
                try store.apply(batch)
            }
        }
        let flaky = Flaky()
        let poisoned = try await isolation().run(Array(1...8)) { try flaky.apply($0) }
        #expect(poisoned.map(\.message) == [4])
        #expect(flaky.store.applied.withLock { $0 } == [1, 2, 3, 5, 6, 7, 8])
    }

    @Test func aWaitThatThrowsEndsTheRunWithoutDeadLettering() async throws {
        let store = Store(poison: [], unavailableFor: 1000)
        let isolation = PoisonIsolation<Int>(classify: { _ in .transient }, wait: { _ in throw CancellationError() })
        await #expect(throws: CancellationError.self) {
            _ = try await isolation.run([1, 2]) { try store.apply($0) }
        }
        #expect(store.applied.withLock { $0 }.isEmpty)
    }
}
