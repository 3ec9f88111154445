import DevTrackCore
import Foundation
import Testing

struct LocalCodingSyncTests {
    func parse(_ text: String) -> Result<[ReportedCodingDay], HeartbeatRejection> {
        LocalCodingSync.parse(Data(text.utf8), now: Timestamps.parse("2024-06-01T12:00:00Z")!)
    }

    @Test func validSessionsParseAndALaterDuplicateDayWins() throws {
        let days = try parse(
            """
            {"sessions": [{"date": "2024-02-29", "totalSeconds": 3600, "fileCount": 3},
                          {"date": "2024-03-01", "totalSeconds": 0, "projectCount": null},
                          {"date": "2024-02-29", "totalSeconds": 4000}]}
            """
        ).get()
        #expect(
            days == [
                ReportedCodingDay(date: LocalDate("2024-02-29")!, totalSeconds: 4000, fileCount: nil, projectCount: nil),
                ReportedCodingDay(date: LocalDate("2024-03-01")!, totalSeconds: 0, fileCount: nil, projectCount: nil),
            ])
    }

    @Test func eachKindOfBadInputIsNamed() {
        let cases: [(String, String)] = [
            ("[]", "JSON object"),
            (#"{"sessions": []}"#, "1 to 100"),
            (#"{"sessions": "x"}"#, "array"),
            (#"{"sessions": [{"date": "2023-02-29", "totalSeconds": 1}]}"#, "sessions[0].date"),
            (#"{"sessions": [{"date": "2024-1-01", "totalSeconds": 1}]}"#, "sessions[0].date"),
            (#"{"sessions": [{"date": "0000-01-01", "totalSeconds": 1}]}"#, "sessions[0].date"),
            (#"{"sessions": [{"date": "2023-04-27", "totalSeconds": 1}]}"#, "sessions[0].date must be between 2023-04-28 and 2024-06-02"),
            (#"{"sessions": [{"date": "2024-06-03", "totalSeconds": 1}]}"#, "sessions[0].date must be between"),
            (#"{"sessions": [{"date": "2024-01-01", "totalSeconds": 86401}]}"#, "totalSeconds"),
            (#"{"sessions": [{"date": "2024-01-01", "totalSeconds": -1}]}"#, "totalSeconds"),
            (#"{"sessions": [{"date": "2024-01-01", "totalSeconds": 1.5}]}"#, "totalSeconds"),
            (#"{"sessions": [{"date": "2024-01-01", "totalSeconds": true}]}"#, "totalSeconds"),
            (
                #"{"sessions": [{"date": "2024-01-01", "totalSeconds": 5}, {"date": "2024-01-02", "totalSeconds": 5, "fileCount": -2}]}"#,
                "sessions[1].fileCount"
            ),
        ]
        for (body, expected) in cases {
            guard case .failure(let rejection) = parse(body) else {
                Issue.record("accepted \(body)")
                continue
            }
            #expect(rejection.reason.contains(expected), "\(body) → \(rejection.reason)")
        }
        let many = "{\"sessions\": [" + (0..<101).map { _ in #"{"date":"2024-01-01","totalSeconds":1}"# }.joined(separator: ",") + "]}"
        #expect((try? parse(many).get()) == nil)
    }
}
