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
