import DevTrackCore
import Testing

struct StreakFreezeTests {
    func d(_ text: String) -> LocalDate { LocalDate(text)! }

    @Test func aFrozenDayBridgesAGapWithoutCountingAsActive() {
        let active = ["2024-03-04", "2024-03-05", "2024-03-07", "2024-03-08"].map(d)
        let unfrozen = StreakSummary.compute(activeDays: active, today: d("2024-03-08"))
        #expect(unfrozen.current == 2)
        let frozen = StreakSummary.compute(activeDays: active, frozenDays: [d("2024-03-06")], today: d("2024-03-08"))
        #expect(frozen.current == 4, "four active days, kept together by the frozen 6th")
        #expect(frozen.currentStart == d("2024-03-04"))
        #expect(frozen.longest == 4)
        #expect(frozen.longestEnd == d("2024-03-08"))
    }

    @Test func frozenYesterdayKeepsTheCurrentStreakAndFrozenDaysAloneAreNoStreak() {
        let active = ["2024-03-04", "2024-03-05"].map(d)
        let summary = StreakSummary.compute(activeDays: active, frozenDays: [d("2024-03-06")], today: d("2024-03-07"))
        #expect(summary.current == 2)
        #expect(!summary.todayActive)
        let onlyFrozen = StreakSummary.compute(activeDays: [], frozenDays: [d("2024-03-06")], today: d("2024-03-06"))
        #expect(onlyFrozen.current == 0 && onlyFrozen.longest == 0)
        // A freeze two days back does not reach today: the streak ended.
        #expect(StreakSummary.compute(activeDays: active, frozenDays: [d("2024-03-06")], today: d("2024-03-08")).current == 0)
    }
}

struct StreakRunTests {
    func day(_ text: String) -> LocalDate { LocalDate(text)! }
    var run: StreakRun { StreakRun(start: day("2024-03-01"), end: day("2024-03-05"), activeDays: 5) }

    @Test func daysInsideTheRunChangeNothingAndTheNextDayExtendsIt() {
        #expect(StreakRun.advance(run, with: [day("2024-03-03"), day("2024-03-05")]) == run)
        #expect(StreakRun.advance(run, with: [day("2024-03-06")]) == StreakRun(start: day("2024-03-01"), end: day("2024-03-06"), activeDays: 6))
        #expect(StreakRun.advance(run, with: [day("2024-03-07"), day("2024-03-06")])?.activeDays == 7, "in date order")
    }

    @Test func gapsLateDaysAndNoRunAskForARecount() {
        #expect(StreakRun.advance(run, with: [day("2024-03-07")]) == nil, "a gap (maybe frozen)")
        #expect(StreakRun.advance(run, with: [day("2024-02-29")]) == nil, "a day before: may join an older run")
        #expect(StreakRun.advance(nil, with: [day("2024-03-01")]) == nil)
    }

    @Test func theLatestRunCountsOnlyActiveDaysAndBridgesFrozenOnes() {
        let active = ["2024-02-20", "2024-03-01", "2024-03-02", "2024-03-04", "2024-03-05"].map(day)
        #expect(StreakRun.latest(activeDays: active) == StreakRun(start: day("2024-03-04"), end: day("2024-03-05"), activeDays: 2))
        #expect(
            StreakRun.latest(activeDays: active, frozenDays: [day("2024-03-03"), day("2024-02-28")])
                == StreakRun(start: day("2024-03-01"), end: day("2024-03-05"), activeDays: 4), "a frozen day joins, a frozen edge does not start it")
        #expect(StreakRun.latest(activeDays: [LocalDate]()) == nil)
    }
}
