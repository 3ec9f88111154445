import DevTrackCore
import Foundation
import Testing

struct TimestampTests {
    @Test func theCanonicalShapeParsesExactlyAsTheGeneralParserDoes() throws {
        let general = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        for _ in 0..<2_000 {
            let date = Date(timeIntervalSince1970: Double(Int64.random(in: -2_000_000_000_000...4_000_000_000_000)) / 1_000)
            let text = Timestamps.format(date)
            #expect(text.count == 24 && text.hasSuffix("Z"), "\(text)")
            // Equal to the microsecond (PostgreSQL's precision); the general parser's float arithmetic differs below it.
            #expect(abs(Timestamps.parse(text)!.timeIntervalSince(try general.parse(text))) < 0.000_001, "\(text)")
            #expect(abs(Timestamps.parse(text)!.timeIntervalSince(date)) < 0.001_01, "format truncates to the millisecond")
        }
    }

    @Test func otherShapesGoThroughTheGeneralParserAndGarbageIsRejected() {
        #expect(Timestamps.parse("2019-05-15T15:19:25Z") == Date(timeIntervalSince1970: 1_557_933_565))
        #expect(Timestamps.parse("2019-05-15T17:19:25+02:00") == Date(timeIntervalSince1970: 1_557_933_565))
        #expect(Timestamps.parse("2019-05-15T15:19:25.500Z") == Date(timeIntervalSince1970: 1_557_933_565.5))
        for bad in ["2019-13-15T15:19:25.000Z", "2019-05-15T15:19:2x.000Z", "2019-05-15 15:19:25", "", "yesterday"] {
            #expect(Timestamps.parse(bad) == nil, "\(bad)")
        }
    }
}
