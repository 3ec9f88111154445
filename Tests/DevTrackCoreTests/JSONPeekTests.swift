import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

struct JSONPeekTests {
    func peek(_ text: String) throws(JSONPeek.Malformed) -> Int64? {
        try JSONPeek.integer(at: ["sender", "id"], in: Array(text.utf8))
    }

    @Test func findsTheNestedIntegerPastDecoys() throws {
        let text = #"""
            {"a": "sender \"id\": 1 }", "list": [{"sender": {"id": 2}}, [3, {"x": "]}"}]],
             "nested": {"sender": {"id": 4}}, "sender" : { "login": "x{", "id" : -21031067 , "more": [1]}, "z": null}
            """#
        #expect(try peek(text) == -21031067)
    }

    @Test func absentNullOrNonIntegerIsNil() throws {
        #expect(try peek(#"{}"#) == nil)
        #expect(try peek(#"{"sender": null}"#) == nil)
        #expect(try peek(#"{"sender": {"id": "12"}}"#) == nil)
        #expect(try peek(#"{"sender": {"id": 1.5}}"#) == nil)
        #expect(try peek(#"{"sender": {"login": "octocat"}}"#) == nil)
        #expect(try peek(#"{"sender": [{"id": 7}]}"#) == nil)
    }

    /// A quote ends a string when an even number of backslashes come before it.
    @Test func backslashRunsBeforeAQuoteDecideWhetherTheStringEnds() throws {
        #expect(try peek(#"{"a": "x\\", "sender": {"id": 5}}"#) == 5, "x and an escaped backslash: the next quote closes")
        #expect(try peek(#"{"a": "x\\\\", "sender": {"id": 6}}"#) == 6)
        #expect(try peek(#"{"a": "x\\\"\"", "sender": {"id": 7}}"#) == 7, "a backslash, then an escaped quote")
        #expect(try peek(#"{"a": "\"sender\": {\"id\": 9}", "sender": {"id": 8}}"#) == 8, "escaped quotes hide a decoy")
        #expect(try peek(#"{"\\": 1, "sender": {"id": 3}}"#) == 3, "keys too")
        let long = String(repeating: "y", count: 21)  // past the eight-byte steps of the scan
        for text in [#"{"a": "x\"}"#, #"{"a": "x\\\"}"#, #"{"a": "\"#, #"{"a": ""# + long + #"\"}"#, #"{"a": ""# + long + #"\"#] {
            #expect(throws: JSONPeek.Malformed.self, "\(text)") { try peek(text) }
        }
    }

    /// Strings of quotes, backslashes and brackets, escaped or not and of every length around the eight-byte steps of the
    /// scan: wherever Foundation's full decode reads a document, the peek finds the same sender id.
    @Test func randomStringsAgreeWithAFullDecode() throws {
        var generator = SeededRandom(seed: 17)  // seeded, so that a failure can be reproduced
        let alphabet = Array(#"ab"\{}[],: "#.utf8)
        var decodedCount = 0
        for round in 0..<5_000 {
            let length = round % 41
            let content = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
            let id = Int.random(in: -1_000_000...1_000_000, using: &generator)
            let text = #"{"x": ""# + String(decoding: content, as: UTF8.self) + #"", "sender": {"id": \#(id)}}"#
            let data = Data(text.utf8)
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
            decodedCount += 1
            let decoded = (object["sender"] as? [String: Any])?["id"] as? Int
            #expect(try JSONPeek.integer(at: ["sender", "id"], in: Array(data)) == decoded.map(Int64.init), "\(text)")
        }
        #expect(decodedCount > 500, "enough documents were valid JSON to compare: \(decodedCount)")
    }

    /// Every vendored GitHub body: the same sender id as a full decode.
    @Test func everyFixtureAgreesWithAFullDecode() throws {
        for (_, path) in try Fixtures.all() {
            let data = try Fixtures.data(path)
            let decoded = ((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["sender"] as? [String: Any])?["id"] as? Int
            #expect(try JSONPeek.integer(at: ["sender", "id"], in: Array(data)) == decoded.map(Int64.init), "\(path)")
        }
    }

    @Test func malformedDocumentsAreRejected() {
        for text in ["", "[1,2]", "not json", #"{"sender": {"id": 1}"#, #"{"a": "unterminated}"#, #"{"a" 1}"#, #"{"a": [1, 2}"#, "{not: 1}"] {
            #expect(throws: JSONPeek.Malformed.self, "\(text)") { try peek(text) }
        }
    }
}
