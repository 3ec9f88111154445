import DevTrackCore
import Foundation
import Testing

struct CodingDurationTests {
    let utc = TimeZone(identifier: "UTC")!
    let t0 = 1_710_000_000.0  // 2024-03-09T16:00:00Z

    func beat(_ offset: Double, project: String = "hub", language: String = "Swift", entity: String = "a.swift") -> Heartbeat {
        Heartbeat(time: t0 + offset, entity: entity, project: project, language: language, editor: "vscode", machine: "m1")
    }

    func total(_ slices: [CodingSlice]) -> Double { slices.reduce(0) { $0 + $1.seconds } }

    @Test func gapsUnderTheTimeoutCountAndGapsAtOrOverItDoNot() {
        #expect(total(CodingDurations.slices([beat(0), beat(899.5)], timeout: 900, timeZone: utc)) == 899.5)
        #expect(total(CodingDurations.slices([beat(0), beat(900)], timeout: 900, timeZone: utc)) == 0)
        #expect(total(CodingDurations.slices([beat(0), beat(901)], timeout: 900, timeZone: utc)) == 0)
        #expect(total(CodingDurations.slices([beat(0), beat(60), beat(2000), beat(2100)], timeout: 900, timeZone: utc)) == 160)
        #expect(total(CodingDurations.slices([beat(0), beat(100)], timeout: 60, timeZone: utc)) == 0, "the timeout is configurable")
    }

    @Test func aHeartbeatAloneCountsNothing() {
        #expect(CodingDurations.slices([beat(0)], timeout: 900, timeZone: utc).isEmpty)
        #expect(CodingDurations.slices([], timeout: 900, timeZone: utc).isEmpty)
    }

    @Test func timeGoesToTheEarlierHeartbeatsDimensions() {
        let slices = CodingDurations.slices(
            [
                beat(0, project: "a", language: "Swift"), beat(120, project: "b", language: "Python"), beat(180, project: "b", language: "Python"),
            ], timeout: 900, timeZone: utc)
        #expect(slices.map { "\($0.dimensions.project)/\($0.dimensions.language)=\($0.seconds)" } == ["a/Swift=120.0", "b/Python=60.0"])
    }

    @Test func duplicatesAndOrderDoNotChangeTheResult() {
        let beats = (0..<50).map { beat(Double($0 * 37 % 1500), project: $0 % 3 == 0 ? "x" : "y", entity: "f\($0 % 4)") }
        let sorted = CodingDurations.slices(beats.sorted { $0.time < $1.time }, timeout: 900, timeZone: utc)
        #expect(CodingDurations.slices(beats.shuffled(), timeout: 900, timeZone: utc) == sorted)
        #expect(CodingDurations.slices(beats + beats.reversed(), timeout: 900, timeZone: utc) == sorted, "a resent batch counts once")
    }

    @Test func intervalsAreSplitAtLocalMidnightInKolkata() throws {
        let kolkata = try #require(TimeZone(identifier: "Asia/Kolkata"))
        // 2024-03-10T18:25:00Z is 23:55 IST; the next heartbeat 10 minutes later is 00:05 IST on the 11th.
        let start = 1_710_095_100.0
        let slices = CodingDurations.slices(
            [
                Heartbeat(time: start, entity: "a"), Heartbeat(time: start + 600, entity: "a"),
            ], timeout: 900, timeZone: kolkata)
        #expect(slices.map { "\($0.date)=\($0.seconds)" } == ["2024-03-10=300.0", "2024-03-11=300.0"])
        // In UTC the same interval is one day.
        #expect(
            CodingDurations.slices([Heartbeat(time: start, entity: "a"), Heartbeat(time: start + 600, entity: "a")], timeout: 900, timeZone: utc)
                .map { "\($0.date)=\($0.seconds)" } == ["2024-03-10=600.0"])
    }

    @Test func editorComesFromTheUserAgent() {
        #expect(CodingDurations.editor(fromUserAgent: "wakatime/v1.35.2 (linux-5.10) go1.20.3 vscode/1.75.0 vscode-wakatime/24.0.0") == "vscode")
        #expect(CodingDurations.editor(fromUserAgent: "wakatime/13.1.0 (Linux-6.1-x86_64) Python3.11.7.final.0 vim/9.0 vim-wakatime/11.0.0") == "vim")
        #expect(CodingDurations.editor(fromUserAgent: "curl/8.0") == "")
    }
}
