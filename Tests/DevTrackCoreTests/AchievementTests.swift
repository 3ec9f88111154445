import DevTrackCore
import Foundation
import Testing

struct AchievementRuleTests {
    let user = UUID()

    func unlocks(_ values: [AchievementMetric: Int], have: Set<String> = []) -> Set<String> {
        Set(AchievementCatalogue.newlyReached(AchievementTotals(values), unlocked: have).map(\.id))
    }

    @Test func theCatalogueHasEveryAchievementTheProductNamesWithUniqueIDs() {
        let ids = AchievementCatalogue.all.map(\.id)
        #expect(Set(ids).count == ids.count)
        for id in [
            "first_commit", "commits_100", "commits_1000", "commits_10000", "first_pr_opened", "first_pr_merged",
            "prs_merged_10", "prs_merged_50", "prs_merged_100", "reviews_10", "reviews_100", "first_issue_closed",
            "streak_7", "streak_30", "streak_100", "streak_365", "night_owl", "early_bird", "weekend_warrior",
            "polyglot", "coding_hours_10", "coding_hours_100", "coding_hours_1000",
        ] {
            #expect(AchievementCatalogue.byID[id] != nil, "missing \(id)")
        }
    }

    @Test func countRulesUnlockAtTheirThresholdAndNotBefore() {
        #expect(unlocks([:]).isEmpty)
        #expect(unlocks([.commits: 1]) == ["first_commit"])
        #expect(unlocks([.commits: 99]) == ["first_commit"])
        #expect(unlocks([.commits: 100]) == ["first_commit", "commits_100"])
        #expect(unlocks([.commits: 10_000]) == ["first_commit", "commits_100", "commits_1000", "commits_10000"])
        #expect(unlocks([.prsOpened: 1]) == ["first_pr_opened"])
        #expect(unlocks([.prsMerged: 9]) == ["first_pr_merged"])
        #expect(unlocks([.prsMerged: 50]) == ["first_pr_merged", "prs_merged_10", "prs_merged_50"])
        #expect(unlocks([.prsMerged: 100]).contains("prs_merged_100"))
        #expect(unlocks([.reviews: 10]) == ["reviews_10"])
        #expect(unlocks([.reviews: 100]) == ["reviews_10", "reviews_100"])
        #expect(unlocks([.issuesClosed: 1]) == ["first_issue_closed"])
    }

    @Test func streakHabitAndCodingRules() {
        #expect(unlocks([.streakDays: 6]).isEmpty)
        #expect(unlocks([.streakDays: 7]) == ["streak_7"])
        #expect(unlocks([.streakDays: 365]) == ["streak_7", "streak_30", "streak_100", "streak_365"])
        #expect(unlocks([.nightOwlDays: 9, .earlyBirdDays: 9, .activeWeekends: 7, .languages: 4]).isEmpty)
        #expect(unlocks([.nightOwlDays: 10]) == ["night_owl"])
        #expect(unlocks([.earlyBirdDays: 10]) == ["early_bird"])
        #expect(unlocks([.activeWeekends: 8]) == ["weekend_warrior"])
        #expect(unlocks([.languages: 5]) == ["polyglot"])
        #expect(unlocks([.codingHours: 9]).isEmpty)
        #expect(unlocks([.codingHours: 100]) == ["coding_hours_10", "coding_hours_100"])
        #expect(unlocks([.codingHours: 1_000]).contains("coding_hours_1000"))
    }

    @Test func anUnlockedAchievementIsNeverReachedAgain() {
        #expect(unlocks([.commits: 150], have: ["first_commit"]) == ["commits_100"])
        #expect(unlocks([.commits: 150], have: ["first_commit", "commits_100"]).isEmpty)
    }

    @Test func progressIsCappedAtTheThreshold() {
        let progress = AchievementCatalogue.progress(AchievementTotals([.commits: 250]))
        let byID = Dictionary(uniqueKeysWithValues: progress.map { ($0.achievement.id, $0) })
        #expect(byID["first_commit"]?.current == 1)
        #expect(byID["commits_100"]?.current == 100)
        #expect(byID["commits_1000"]?.current == 250)
        #expect(byID["commits_1000"]?.reached == false)
        #expect(progress.count == AchievementCatalogue.all.count)
    }
}

struct AchievementMarkTests {
    let user = UUID()
    let kolkata = TimeZone(identifier: "Asia/Kolkata")!
    let newYork = TimeZone(identifier: "America/New_York")!

    func fact(_ kind: ActivityKind, _ instant: String, language: String? = nil) -> ActivityFact {
        ActivityFact(
            id: "\(kind):\(instant)", userID: user, kind: kind, occurredAt: Timestamps.parse(instant)!, repo: "o/r", language: language, source: "t")
    }

    @Test func nightOwlAndEarlyBirdAreReadOnTheUsersClock() {
        // 2024-03-12T20:00Z is 01:30 on the 13th in Kolkata (UTC+5:30): a night-owl and an early-bird day.
        let marks = AchievementMark.marks(for: fact(.commit, "2024-03-12T20:00:00Z"), in: kolkata)
        #expect(Set(marks) == [AchievementMark(.nightOwl, "2024-03-13"), AchievementMark(.earlyBird, "2024-03-13")])
        // 22:29Z is 03:59 there (still night); 22:30Z is 04:00 (early bird only); 01:30Z is 07:00 (neither).
        #expect(AchievementMark.marks(for: fact(.commit, "2024-03-12T22:29:59Z"), in: kolkata).contains(AchievementMark(.nightOwl, "2024-03-13")))
        #expect(AchievementMark.marks(for: fact(.commit, "2024-03-12T22:30:00Z"), in: kolkata) == [AchievementMark(.earlyBird, "2024-03-13")])
        #expect(AchievementMark.marks(for: fact(.commit, "2024-03-13T01:30:00Z"), in: kolkata).isEmpty)
        // The same instant is 16:00 in New York: nothing.
        #expect(AchievementMark.marks(for: fact(.commit, "2024-03-12T20:00:00Z"), in: newYork).isEmpty)
    }

    @Test func theHourFollowsDaylightSavingTime() {
        // New York switched to EDT (UTC−4) at 2024-03-10 07:00Z: 07:30Z is 03:30 local, 06:30Z was 01:30 EST.
        #expect(LocalClock.hour(of: Timestamps.parse("2024-03-10T07:30:00Z")!, in: newYork) == 3)
        #expect(LocalClock.hour(of: Timestamps.parse("2024-03-10T06:30:00Z")!, in: newYork) == 1)
        #expect(LocalClock.hour(of: Timestamps.parse("1969-12-31T23:30:00Z")!, in: .gmt) == 23, "before the epoch")
    }

    @Test func weekendsAreKeyedByTheirSaturdayAndOnlyContributionsCount() {
        // 2024-03-09 is a Saturday, 2024-03-10 a Sunday, 2024-03-11 a Monday.
        #expect(AchievementMark.marks(for: fact(.review, "2024-03-09T12:00:00Z"), in: .gmt) == [AchievementMark(.weekend, "2024-03-09")])
        #expect(AchievementMark.marks(for: fact(.prOpened, "2024-03-10T12:00:00Z"), in: .gmt) == [AchievementMark(.weekend, "2024-03-09")])
        #expect(AchievementMark.marks(for: fact(.review, "2024-03-11T12:00:00Z"), in: .gmt).isEmpty)
        #expect(AchievementMark.marks(for: fact(.prMerged, "2024-03-10T12:00:00Z"), in: .gmt).isEmpty, "a merge is not a contribution")
        // Sunday 23:00 in New York is Monday 03:00 UTC: still that weekend for this user.
        #expect(AchievementMark.marks(for: fact(.review, "2024-03-11T03:00:00Z"), in: newYork) == [AchievementMark(.weekend, "2024-03-09")])
    }

    @Test func commitLanguagesAreNormalisedAndCodingLanguagesNeedAMinute() {
        let marks = AchievementMark.marks(for: fact(.commit, "2024-03-11T12:00:00Z", language: " Swift "), in: .gmt)
        #expect(marks == [AchievementMark(.commitLanguage, "swift")])
        #expect(AchievementMark.marks(for: fact(.review, "2024-03-11T12:00:00Z", language: "Swift"), in: .gmt).isEmpty)
        let coding = AchievementMark.marks(codingDay: LocalDate("2024-03-09")!, secondsByLanguage: ["Swift": 600, "Go": 59, "": 900, "Other": 300])
        #expect(Set(coding) == [AchievementMark(.weekend, "2024-03-09"), AchievementMark(.codingLanguage, "swift")])
        #expect(AchievementMark.marks(codingDay: LocalDate("2024-03-11")!, secondsByLanguage: [:]).isEmpty)
    }
}

struct GoalTriggerTests {
    @Test func factsMoveOnlyTheUnitsTheyCount() {
        #expect(GoalUnit.affected(by: .commit) == [.commits, .activeDays])
        #expect(GoalUnit.affected(by: .prMerged) == [.prsMerged])
        #expect(GoalUnit.affected(by: .issueClosed) == [.issuesClosed])
        #expect(GoalUnit.affected(by: .issueOpened) == [.activeDays])
        #expect(GoalUnit.affected(by: .comment).isEmpty)
        #expect(GoalUnit.affected(by: .codingDay) == [.codingMinutes, .activeDays])
    }

    @Test func theDeadlineReminderIsDueInTheLast24HoursOfTheDeadlineDayLocally() {
        let kolkata = TimeZone(identifier: "Asia/Kolkata")!
        let deadline = LocalDate("2024-03-15")!
        // The deadline ends at 2024-03-16 00:00 in Kolkata = 2024-03-15T18:30Z.
        #expect(GoalMath.end(ofDeadline: deadline, in: kolkata) == Timestamps.parse("2024-03-15T18:30:00Z")!)
        #expect(!GoalMath.deadlineIsNear(deadline, in: kolkata, now: Timestamps.parse("2024-03-14T18:29:59Z")!))
        #expect(GoalMath.deadlineIsNear(deadline, in: kolkata, now: Timestamps.parse("2024-03-14T18:30:00Z")!))
        #expect(GoalMath.deadlineIsNear(deadline, in: kolkata, now: Timestamps.parse("2024-03-15T18:29:59Z")!))
        #expect(!GoalMath.deadlineIsNear(deadline, in: kolkata, now: Timestamps.parse("2024-03-15T18:30:00Z")!), "over")
    }

    @Test func intentsHaveStableDedupeKeysAndIDs() {
        let user = UUID()
        let first = NotificationIntent.achievementUnlocked(userID: user, achievement: AchievementCatalogue.byID["streak_7"]!)
        let again = NotificationIntent.achievementUnlocked(userID: user, achievement: AchievementCatalogue.byID["streak_7"]!)
        #expect(first == again)
        #expect(first.dedupeKey == "achievement.unlocked:\(user.uuidString.lowercased()):streak_7")
        #expect(NotificationIntent.streakMilestone(userID: user, days: 7).id != NotificationIntent.streakMilestone(userID: user, days: 30).id)
        #expect(NotificationIntent.streakMilestone(userID: user, days: 7).id != first.id)
    }
}

struct GoalIncreaseTests {
    let user = UUID()
    let window = GoalWindow(start: LocalDate("2024-03-18")!, end: LocalDate("2024-03-24")!)

    func fact(_ kind: ActivityKind, _ instant: String) -> ActivityFact {
        ActivityFact(
            id: "\(kind):\(instant)", userID: user, kind: kind, occurredAt: Timestamps.parse(instant)!, repo: nil, language: nil, source: "t")
    }

    @Test func onlyFactsOfTheUnitInsideThePeriodCount() {
        let facts = [
            fact(.commit, "2024-03-18T10:00:00Z"), fact(.commit, "2024-03-18T11:00:00Z"), fact(.commit, "2024-03-17T23:00:00Z"),
            fact(.review, "2024-03-19T10:00:00Z"),
        ]
        #expect(GoalMath.increase(of: .commits, in: window, from: LocalFacts(facts, zone: .gmt)) == 2)
        #expect(GoalMath.increase(of: .reviews, in: window, from: LocalFacts(facts, zone: .gmt)) == 1)
        #expect(GoalMath.increase(of: .prsMerged, in: window, from: LocalFacts(facts, zone: .gmt)) == 0)
        // 2024-03-17T23:00Z is already Monday the 18th in Berlin.
        #expect(GoalMath.increase(of: .commits, in: window, from: LocalFacts(facts, zone: TimeZone(identifier: "Europe/Berlin")!)) == 3)
    }

    @Test func activeDaysCountDistinctDaysAndCodingAsksForARead() {
        let facts = [fact(.commit, "2024-03-18T10:00:00Z"), fact(.review, "2024-03-18T11:00:00Z"), fact(.issueOpened, "2024-03-19T10:00:00Z")]
        #expect(GoalMath.increase(of: .activeDays, in: window, from: LocalFacts(facts, zone: .gmt)) == 2)
        let coding = ActivityFact.codingDay(userID: user, day: LocalDate("2024-03-19")!, zone: .gmt)
        #expect(GoalMath.increase(of: .codingMinutes, in: window, from: LocalFacts(facts + [coding], zone: .gmt)) == nil)
        #expect(GoalMath.increase(of: .activeDays, in: window, from: LocalFacts([coding], zone: .gmt)) == nil)
        #expect(GoalMath.increase(of: .commits, in: window, from: LocalFacts([coding], zone: .gmt)) == 0)
    }
}

struct DaySummaryTests {
    func summary(commits: Int = 0, prsOpened: Int = 0, reviews: Int = 0, coding: Int = 0) -> String {
        DaySummary(
            date: LocalDate("2024-03-19")!, commits: commits, prsOpened: prsOpened, prsMerged: 0, reviews: reviews,
            issuesClosed: 0, codingMinutes: coding
        ).sentence
    }

    @Test func saysOnlyWhatHappenedInPlainWords() {
        #expect(summary(commits: 3, prsOpened: 1, reviews: 2, coding: 80) == "3 commits, 1 pull request opened, 2 reviews and 1 h 20 min of coding.")
        #expect(summary(commits: 1) == "1 commit.")
        #expect(summary(coding: 45) == "45 min of coding.")
        #expect(summary(reviews: 1, coding: 120) == "1 review and 2 h of coding.")
        #expect(summary() == "A quiet day.")
    }
}

struct WeekSummaryTests {
    @Test func addsActiveDaysGoalsAndAchievements() {
        let totals = DaySummary(
            date: LocalDate("2024-03-11")!, commits: 12, prsOpened: 0, prsMerged: 0, reviews: 0, issuesClosed: 0, codingMinutes: 180)
        #expect(
            WeekSummary(totals: totals, activeDays: 5, goalsCompleted: 2, achievementsUnlocked: 1).sentence
                == "12 commits and 3 h of coding on 5 active days; 2 goals completed and 1 achievement unlocked.")
        #expect(
            WeekSummary(totals: totals, activeDays: 1, goalsCompleted: 0, achievementsUnlocked: 0).sentence
                == "12 commits and 3 h of coding on 1 active day.")
    }
}
