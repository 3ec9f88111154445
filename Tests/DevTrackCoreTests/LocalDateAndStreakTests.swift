import DevTrackCore
import Foundation
import Testing

struct LocalDateTests {
    func instant(_ text: String) -> Date { Timestamps.parse(text)! }

    /// Written digit by digit, the same text as `String(format:)` from year 1 to 9999, and read back to the same day.
    @Test func descriptionMatchesPrintfFromYear1To9999() {
        let first = LocalDate("0001-01-01")!.daysSinceEpoch
        let last = LocalDate("9999-12-31")!.daysSinceEpoch
        for days in [first, last, 0, -1] + (0..<5_000).map({ _ in Int.random(in: first...last) }) {
            let date = LocalDate(daysSinceEpoch: days)
            let (year, month, day) = date.components
            #expect(date.description == String(format: "%04d-%02d-%02d", year, month, day))
            #expect(LocalDate(date.description) == date)
        }
    }

    @Test func parsesFormatsAndRejectsImpossibleDates() {
        #expect(LocalDate("2024-02-29")?.description == "2024-02-29")
        #expect(LocalDate("2023-02-29") == nil)
        #expect(LocalDate("2024-13-01") == nil)
        #expect(LocalDate("2024-1-01") == nil)
        #expect(LocalDate("1970-01-01")?.daysSinceEpoch == 0)
        #expect(LocalDate("1969-12-31")?.daysSinceEpoch == -1)
        #expect(LocalDate("2000-03-01")! - LocalDate("2000-02-28")! == 2)
    }

    @Test func kolkataHalfHourOffsetMovesLateUTCEveningsToTheNextDay() {
        let zone = TimeZone(identifier: "Asia/Kolkata")!
        #expect(LocalDate(instant("2024-03-10T18:29:59Z"), in: zone).description == "2024-03-10")
        #expect(LocalDate(instant("2024-03-10T18:30:00Z"), in: zone).description == "2024-03-11")
    }

    @Test func newYorkDaylightSavingChangeUsesTheOffsetOfThatInstant() {
        let zone = TimeZone(identifier: "America/New_York")!
        // DST began 2024-03-10 at 02:00 local: before it UTC-5, after it UTC-4.
        #expect(LocalDate(instant("2024-03-10T04:59:59Z"), in: zone).description == "2024-03-09")
        #expect(LocalDate(instant("2024-03-10T05:00:00Z"), in: zone).description == "2024-03-10")
        #expect(LocalDate(instant("2024-03-11T03:59:59Z"), in: zone).description == "2024-03-10")
        #expect(LocalDate(instant("2024-03-11T04:00:00Z"), in: zone).description == "2024-03-11")
    }

    @Test func dateLineZonesAreADayApart() {
        let moment = instant("2024-06-01T11:30:00Z")
        #expect(LocalDate(moment, in: TimeZone(identifier: "Pacific/Kiritimati")!).description == "2024-06-02")  // UTC+14
        #expect(LocalDate(moment, in: TimeZone(identifier: "Pacific/Pago_Pago")!).description == "2024-06-01")  // UTC-11
        #expect(LocalDate(instant("2024-06-01T13:00:00Z"), in: TimeZone(identifier: "Pacific/Pago_Pago")!).description == "2024-06-01")
    }

    @Test func rangesAreInclusiveAndBounded() throws {
        let range = try DateRange(from: LocalDate("2024-12-30")!, to: LocalDate("2025-01-02")!)
        #expect(range.dates.map(\.description) == ["2024-12-30", "2024-12-31", "2025-01-01", "2025-01-02"])
        #expect(throws: DateRange.Invalid.reversed) { try DateRange(from: LocalDate("2025-01-02")!, to: LocalDate("2025-01-01")!) }
        #expect(throws: DateRange.Invalid.tooLong(days: 367, maximum: 366)) {
            try DateRange(from: LocalDate("2024-01-01")!, to: LocalDate("2025-01-01")!)
        }
        #expect(try DateRange(from: LocalDate("2024-01-01")!, to: LocalDate("2024-12-31")!).dayCount == 366)
    }

    @Test func zoneNamesAreValidated() {
        #expect(TimeZones.named("Asia/Kolkata") != nil)
        #expect(TimeZones.named("Mars/Olympus_Mons") == nil)
        #expect(TimeZones.named("") == nil)
    }
}

struct StreakTests {
    func days(_ texts: String...) -> [LocalDate] { texts.map { LocalDate($0)! } }
    let today = LocalDate("2024-05-10")!

    @Test func noActivityIsNoStreak() {
        let streak = StreakSummary.compute(activeDays: [], today: today)
        #expect(streak == StreakSummary(current: 0, longest: 0, todayActive: false, currentStart: nil, longestStart: nil, longestEnd: nil))
    }

    @Test func todayWithoutContributionDoesNotBreakTheStreakYet() {
        let streak = StreakSummary.compute(activeDays: days("2024-05-07", "2024-05-08", "2024-05-09"), today: today)
        #expect(streak.current == 3)
        #expect(streak.currentStart == LocalDate("2024-05-07"))
        #expect(!streak.todayActive)
    }

    @Test func aMissedDayEndsTheCurrentStreak() {
        let streak = StreakSummary.compute(activeDays: days("2024-05-05", "2024-05-06", "2024-05-07", "2024-05-08"), today: today)
        #expect(streak.current == 0)
        #expect(streak.longest == 4)
        #expect(streak.longestStart == LocalDate("2024-05-05"))
        #expect(streak.longestEnd == LocalDate("2024-05-08"))
    }

    @Test func currentAndLongestAcrossAMonthAndYearBoundary() {
        let streak = StreakSummary.compute(
            activeDays: days("2023-12-30", "2023-12-31", "2024-01-01", "2024-01-02", "2024-05-09", "2024-05-10", "2024-05-10"),
            today: today)
        #expect(streak.current == 2)
        #expect(streak.todayActive)
        #expect(streak.longest == 4)
        #expect(streak.longestStart == LocalDate("2023-12-30"))
    }

    @Test func equalRunsPreferTheMostRecentAndFutureDaysAreIgnored() {
        let streak = StreakSummary.compute(activeDays: days("2024-05-01", "2024-05-02", "2024-05-09", "2024-05-10", "2024-05-11"), today: today)
        #expect(streak.longest == 2)
        #expect(streak.longestStart == LocalDate("2024-05-09"))
        #expect(streak.current == 2)
    }

    @Test func outputUsesTheDocumentedKeys() throws {
        let json = String(decoding: try JSONEncoder().encode(StreakSummary.compute(activeDays: days("2024-05-10"), today: today)), as: UTF8.self)
        for key in ["current", "longest", "today_active", "current_start", "longest_start", "longest_end"] {
            #expect(json.contains("\"\(key)\""))
        }
    }
}

struct SQLScriptTests {
    @Test func splitsOnTopLevelSemicolonsOnly() {
        let script = """
            -- a comment; with a semicolon
            CREATE TABLE a (x text DEFAULT 'a;b');
            /* block; comment */ CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
            INSERT INTO "we;ird" VALUES ($$x;y$$)
            """
        let statements = SQLScript.statements(script)
        #expect(statements.count == 3)
        #expect(statements[0].hasSuffix("DEFAULT 'a;b')"))
        #expect(statements[1].contains("SELECT 1; $body$"))
        #expect(statements[2] == #"INSERT INTO "we;ird" VALUES ($$x;y$$)"#)
        #expect(SQLScript.statements("-- only a comment\n").isEmpty)
    }
}
