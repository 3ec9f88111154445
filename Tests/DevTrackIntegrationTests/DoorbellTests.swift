import Testing

@testable import DevTrackDelivery

/// The deliverer's wake-up: a ring wakes a wait (or the next one, when nobody waits), a deadline ends it, and
/// cancelling the waiting task ends it at once whenever it happens — the race that once hung a deliverer's
/// shutdown.
@Suite(.timeLimit(.minutes(1))) struct DoorbellTests {
    @Test func ringsWakeWaitsAndDeadlinesEndThem() async throws {
        let doorbell = Doorbell()
        doorbell.ring()
        #expect(await doorbell.wait(until: .now + .seconds(10)), "a ring with nobody waiting is kept")
        let started = ContinuousClock.now
        #expect(await doorbell.wait(until: .now + .milliseconds(50)) == false)
        #expect(ContinuousClock.now - started >= .milliseconds(50))
        #expect(await doorbell.wait(until: .now - .seconds(1)) == false, "a deadline already past")
        async let woken = doorbell.wait(until: .now + .seconds(10))
        try await Task.sleep(for: .milliseconds(50))
        doorbell.ring()
        #expect(await woken)
    }

    @Test func cancellingTheWaiterEndsItsWaitWhenever() async throws {
        for delay in [0, 1, 5, 20] {
            let doorbell = Doorbell()
            let started = ContinuousClock.now
            let waiter = Task { await doorbell.wait(until: .now + .seconds(30)) }
            if delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
            waiter.cancel()
            #expect(await waiter.value == false)
            #expect(ContinuousClock.now - started < .seconds(5), "cancelled after \(delay) ms")
        }
    }
}
