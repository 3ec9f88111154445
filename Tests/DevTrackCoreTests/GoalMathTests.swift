import DevTrackCore
import Foundation
import Testing

struct GoalMathTests {
    func date(_ text: String) -> LocalDate { LocalDate(text)! }
    func window(_ period: GoalPeriod, _ day: String, created: String = "2020-01-01", deadline: String? = nil) -> String {
        let window = GoalMath.window(period, containing: date(day), created: date(created), deadline: deadline.map(date))
        return "\(window.start)…\(window.end)"
    }

    @Test func aCompletedGoalSaysItsUnitInWords() {
        #expect(GoalUnit.codingMinutes.phrase(120) == "120 minutes of coding")
        #expect(GoalUnit.prsMerged.phrase(1) == "1 pull request merged")
        #expect(GoalUnit.custom("deploy").phrase(3) == "3 deploy events")
        let intent = NotificationIntent.goalCompleted(
            userID: UUID(), goalID: UUID(), title: "Code", target: 120, unit: .codingMinutes,
            window: GoalMath.window(.daily, containing: date("2026-12-01"), created: date("2026-01-01"), deadline: nil))
        #expect(intent.body == "You reached 120 minutes of coding for 2026-12-01.")
    }

    @Test func isoWeeksStartOnMondayAcrossAYearChange() {
        // 2024-12-30 is the Monday of ISO week 2025-W01, which ends on Sunday 2025-01-05.
        #expect(window(.weekly, "2025-01-01") == "2024-12-30…2025-01-05")
        #expect(window(.weekly, "2024-12-30") == "2024-12-30…2025-01-05")
        #expect(window(.weekly, "2025-01-05") == "2024-12-30…2025-01-05")
        #expect(window(.weekly, "2024-12-29") == "2024-12-23…2024-12-29", "a Sunday belongs to the week before")
        #expect(window(.weekly, "1969-12-31") == "1969-12-29…1970-01-04", "before the epoch too")
    }

    @Test func monthsEndOnTheirLastDayIncludingLeapFebruary() {
        #expect(window(.monthly, "2024-02-10") == "2024-02-01…2024-02-29")
        #expect(window(.monthly, "2023-02-28") == "2023-02-01…2023-02-28")
        #expect(window(.monthly, "2024-12-31") == "2024-12-01…2024-12-31")
        #expect(window(.daily, "2024-03-10") == "2024-03-10…2024-03-10")
    }

    @Test func onceRunsFromCreationToTheDeadline() {
        #expect(window(.once, "2024-03-10", created: "2024-03-01", deadline: "2024-03-31") == "2024-03-01…2024-03-31")
        #expect(window(.once, "2024-03-10", created: "2024-03-01") == "2024-03-01…2024-03-10", "open-ended: up to today")
    }

    @Test func percentNeverDividesByZeroAndIsCapped() {
        #expect(GoalMath.percent(current: 3, target: 0) == 0)
        #expect(GoalMath.percent(current: 1, target: 3) == 33.33)
        #expect(GoalMath.percent(current: 5, target: 4) == 100)
        #expect(GoalMath.percent(current: 0, target: 4) == 0)
    }

    @Test func unitsParseAndPrintBack() {
        for name in ["commits", "prs_opened", "prs_merged", "reviews", "issues_closed", "coding_minutes", "active_days", "custom:deploy"] {
            #expect(GoalUnit(name)?.description == name)
        }
        #expect(GoalUnit("custom:") == nil)
        #expect(GoalUnit("custom:a b") == nil)
        #expect(GoalUnit("lines") == nil)
        #expect(GoalUnit("custom:deploy")?.factKind == "custom:deploy")
        #expect(GoalUnit("coding_minutes")?.factKind == nil)
    }
}

struct NotificationIntentTests {
    @Test func aReEmittedIntentHasTheSameIdAndDedupeKey() throws {
        let goal = UUID()
        let user = UUID()
        let window = GoalWindow(start: LocalDate("2024-03-11")!, end: LocalDate("2024-03-17")!)
        let first = NotificationIntent.goalCompleted(userID: user, goalID: goal, title: "Ship", target: 5, unit: .commits, window: window)
        let again = NotificationIntent.goalCompleted(userID: user, goalID: goal, title: "Ship", target: 5, unit: .commits, window: window)
        #expect(first == again)
        #expect(first.dedupeKey == "goal.completed:\(goal.uuidString.lowercased()):2024-03-11")
        let nextWeek = GoalWindow(start: LocalDate("2024-03-18")!, end: LocalDate("2024-03-24")!)
        #expect(
            NotificationIntent.goalCompleted(userID: user, goalID: goal, title: "Ship", target: 5, unit: .commits, window: nextWeek).id != first.id)
        #expect(first.id.uuidString.dropFirst(14).first == "8", "a version-8 UUID")
        #expect(first.body.contains("2024-03-11 – 2024-03-17"))
    }
}
