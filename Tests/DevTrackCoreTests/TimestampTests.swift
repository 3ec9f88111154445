import DevTrackCore
import Foundation
import Testing

struct TimestampTests {
    @Test func whatFormatWritesParsesBackToTheMillisecond() throws {
        let general = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        for _ in 0..<2_000 {
            let date = Date(timeIntervalSince1970: Double(Int64.random(in: -2_000_000_000_000...4_000_000_000_000)) / 1_000)
            let text = Timestamps.format(date)
            #expect(text.count == 24 && text.hasSuffix("Z"), "\(text)")
            // Equal to the microsecond (PostgreSQL's precision) to Foundation's reading of the same text.
            #expect(abs(Timestamps.parse(text)!.timeIntervalSince(try general.parse(text))) < 0.000_001, "\(text)")
            #expect(abs(Timestamps.parse(text)!.timeIntervalSince(date)) < 0.000_501, "format rounds to the millisecond")
        }
        #expect(Timestamps.format(Timestamps.parse("2026-12-01T08:00:00.123Z")!) == "2026-12-01T08:00:00.123Z", "not .122")
        #expect(Timestamps.format(Date(timeIntervalSince1970: -0.001)) == "1969-12-31T23:59:59.999Z")
    }

    @Test func rfc3339ShapesParse() {
        #expect(Timestamps.parse("2019-05-15T15:19:25Z") == Date(timeIntervalSince1970: 1_557_933_565))
        #expect(Timestamps.parse("2019-05-15t15:19:25z") == Date(timeIntervalSince1970: 1_557_933_565))
        #expect(Timestamps.parse("2019-05-15T17:19:25+02:00") == Date(timeIntervalSince1970: 1_557_933_565))
        #expect(Timestamps.parse("2019-05-15T10:19:25-05:00") == Date(timeIntervalSince1970: 1_557_933_565))
        #expect(Timestamps.parse("2019-05-15T15:19:25.500Z") == Date(timeIntervalSince1970: 1_557_933_565.5))
        #expect(Timestamps.parse("2019-05-15T15:19:25.123456789Z")!.timeIntervalSince1970 - 1_557_933_565.123_456_789 < 0.000_001)
    }

    /// What Foundation's parser let through: trailing characters, impossible dates and times, years past
    /// 9999 (one of which, bound into PostgreSQL, crashed the process).
    @Test func anythingElseIsRefused() {
        for bad in [
            "2019-13-15T15:19:25.000Z", "2019-05-15T15:19:2x.000Z", "2019-05-15 15:19:25", "", "yesterday", "2026-12-01T08:00:00Z*junk",
            "2026-12-01T08:00:00Z ", "2026-02-30T08:00:00Z", "2026-12-01T24:00:00Z", "2026-12-01T08:60:00Z", "2026-12-01T08:00:60Z",
            "300000-12-01T08:00:00Z", "99999-12-01T08:00:00Z", "0000-01-01T00:00:00Z", "2026-12-01T08:00:00", "2026-12-01T08:00:00.Z",
            "2026-12-01T08:00:00.1234567890Z", "2026-12-01T08:00:00+0200", "2026-12-01T08:00:00+24:00", "2026-12-01T08:00:00+02:60",
            "2026-12-01T08:00Z", "+2026-12-01T08:00:00Z", "2026-12-01T08:00:00\u{0}Z",
        ] {
            #expect(Timestamps.parse(bad) == nil, "\(bad)")
        }
    }
}
