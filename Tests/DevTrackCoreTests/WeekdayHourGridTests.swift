import DevTrackCore
import Foundation
import Testing

/// `CodingDurations.weekdayHourGrid`: coding seconds per local weekday (Monday first) and local hour, by the
/// timeout rule of `slices`, split at local hour boundaries and clipped to a window.
struct WeekdayHourGridTests {
    static let weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

    func time(_ text: String) -> Double { Timestamps.parse(text)!.timeIntervalSince1970 }

    /// A heartbeat every `step` seconds from `start` to `end` (both included).
    func beats(_ start: String, _ end: String, every step: Double = 60) -> [Double] {
        Array(stride(from: time(start), through: time(end), by: step))
    }

    func zone(_ identifier: String) throws -> TimeZone { try #require(TimeZone(identifier: identifier)) }

    /// The cells that have any time, as `"fri 19": seconds`.
    func cells(
        _ times: [Double], _ zone: TimeZone, timeout: Double = 900,
        within window: Range<Double> = -Double.infinity..<Double.infinity
    ) -> [String: Double] {
        let grid = CodingDurations.weekdayHourGrid(times: times, timeout: timeout, timeZone: zone, within: window)
        #expect(grid.count == 7 && grid.allSatisfy { $0.count == 24 }, "seven weekdays of 24 hours")
        var cells: [String: Double] = [:]
        for (weekday, hours) in grid.enumerated() {
            for (hour, seconds) in hours.enumerated() where seconds != 0 { cells["\(Self.weekdays[weekday]) \(hour)"] = seconds }
        }
        return cells
    }

    @Test func intervalsAreSplitAtLocalHourBoundaries() throws {
        // 2024-03-01 is a Friday: a heartbeat a minute from 18:50 to 19:10 is ten minutes in each hour.
        let times = beats("2024-03-01T18:50:00Z", "2024-03-01T19:10:00Z")
        #expect(cells(times, try zone("UTC")) == ["fri 18": 600, "fri 19": 600])
        // One interval across the boundary is split too.
        #expect(cells([time("2024-03-01T18:55:00Z"), time("2024-03-01T19:05:30Z")], try zone("UTC")) == ["fri 18": 300, "fri 19": 330])
        // The same instants are Saturday 03:50 to 04:10 in Tokyo (UTC+9).
        #expect(cells(times, try zone("Asia/Tokyo")) == ["sat 3": 600, "sat 4": 600])
        // Across local midnight and the end of the week: Sunday 23:50 to Monday 00:10.
        #expect(cells(beats("2024-03-03T23:50:00Z", "2024-03-04T00:10:00Z"), try zone("UTC")) == ["sun 23": 600, "mon 0": 600])
        // Before 1970 (negative Unix times): 1969-12-31 was a Wednesday.
        #expect(cells([-600, -300, 0, 300], try zone("UTC")) == ["wed 23": 600, "thu 0": 300])
    }

    @Test func aHeartbeatAloneOrGapsAtTheTimeoutCountNothing() throws {
        let utc = try zone("UTC")
        let start = time("2024-03-01T10:00:00Z")
        #expect(cells([], utc).isEmpty && cells([start], utc).isEmpty)
        #expect(cells([start, start + 899], utc) == ["fri 10": 899], "a gap under the timeout counts")
        #expect(cells([start, start + 900], utc).isEmpty, "a gap of the timeout counts nothing")
        #expect(cells([start, start + 60, start + 2_000, start + 2_100], utc) == ["fri 10": 160])
        #expect(cells([start, start + 100], utc, timeout: 60).isEmpty, "the timeout is configurable")
        #expect(cells([start, start + 100], utc, timeout: 101) == ["fri 10": 100])
    }

    @Test func zonesWithHalfAndQuarterHourOffsetsSplitAtTheirOwnHours() throws {
        // 13:00Z is 18:30 in Kolkata (UTC+5:30): 13:00Z to 13:40Z is 18:30 to 19:10 there.
        let times = beats("2024-03-01T13:00:00Z", "2024-03-01T13:40:00Z")
        #expect(cells(times, try zone("Asia/Kolkata")) == ["fri 18": 1_800, "fri 19": 600])
        // A single interval from 18:55 to 19:05 local.
        #expect(
            cells([time("2024-03-01T13:25:00Z"), time("2024-03-01T13:35:00Z")], try zone("Asia/Kolkata")) == ["fri 18": 300, "fri 19": 300])
        // Kathmandu is UTC+5:45: 18:45 to 19:25 local.
        #expect(cells(times, try zone("Asia/Kathmandu")) == ["fri 18": 900, "fri 19": 1_500])
        // In UTC the same beats fall in one hour.
        #expect(cells(times, try zone("UTC")) == ["fri 13": 2_400])
    }

    @Test func aDaylightSavingChangeNeitherLosesNorInventsTime() throws {
        let berlin = try zone("Europe/Berlin")
        // Sunday 2024-03-31: at 01:00Z Berlin goes from 02:00 CET to 03:00 CEST; local 02:xx does not exist.
        let spring = beats("2024-03-31T00:30:00Z", "2024-03-31T01:30:00Z")
        #expect(cells(spring, berlin) == ["sun 1": 1_800, "sun 3": 1_800])
        #expect(cells([time("2024-03-31T00:55:00Z"), time("2024-03-31T01:05:00Z")], berlin) == ["sun 1": 300, "sun 3": 300])
        // Sunday 2024-10-27: at 01:00Z Berlin goes back from 03:00 CEST to 02:00 CET; local 02:xx happens twice.
        let autumn = beats("2024-10-26T23:30:00Z", "2024-10-27T02:30:00Z")
        let fall = cells(autumn, berlin)
        #expect(fall == ["sun 1": 1_800, "sun 2": 7_200, "sun 3": 1_800], "\(fall)")
        #expect(fall.values.reduce(0, +) == 3 * 3_600, "every second counts once")
    }

    @Test func onlyThePartsInsideTheWindowCount() throws {
        let utc = try zone("UTC")
        let times = beats("2024-03-01T18:50:00Z", "2024-03-01T19:10:00Z")
        #expect(cells(times, utc, within: time("2024-03-01T18:55:00Z")..<time("2024-03-01T19:05:00Z")) == ["fri 18": 300, "fri 19": 300])
        // A window that starts and ends between two heartbeats keeps only the part of their interval inside it.
        #expect(cells(times, utc, within: time("2024-03-01T18:55:30Z")..<time("2024-03-01T18:56:10Z")) == ["fri 18": 40])
        #expect(cells(times, utc, within: time("2024-03-01T19:10:00Z")..<time("2024-03-02T00:00:00Z")).isEmpty, "after the last heartbeat")
        #expect(cells(times, utc, within: time("2024-03-01T00:00:00Z")..<time("2024-03-01T18:50:00Z")).isEmpty, "before the first")
        // The window of a local day in Tokyo: 2024-03-01 is 2024-02-29T15:00Z to 2024-03-01T15:00Z.
        let tokyo = try zone("Asia/Tokyo")
        let day = time("2024-02-29T15:00:00Z")..<time("2024-03-01T15:00:00Z")
        #expect(cells(beats("2024-02-29T14:50:00Z", "2024-02-29T15:10:00Z"), tokyo, within: day) == ["fri 0": 600], "Thursday is outside")
        #expect(cells(beats("2024-03-01T14:50:00Z", "2024-03-01T15:10:00Z"), tokyo, within: day) == ["fri 23": 600], "Saturday is outside")
    }

    @Test func duplicatesAndOrderDoNotChangeTheResult() throws {
        let zone = try zone("Asia/Kolkata")
        let times = (0..<80).map { time("2024-03-01T12:40:00Z") + Double($0 * 53 % 3_000) }
        let expected = cells(times.sorted(), zone)
        #expect(expected.values.reduce(0, +) > 0)
        #expect(cells(times.shuffled(), zone) == expected)
        #expect(cells(times + times.reversed(), zone) == expected, "a heartbeat twice counts once")
        #expect(cells(times.reversed(), zone) == expected)
    }
}
