import DevTrackCore
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

    @Test func malformedDocumentsAreRejected() {
        for text in ["", "[1,2]", "not json", #"{"sender": {"id": 1}"#, #"{"a": "unterminated}"#, #"{"a" 1}"#, #"{"a": [1, 2}"#, "{not: 1}"] {
            #expect(throws: JSONPeek.Malformed.self, "\(text)") { try peek(text) }
        }
    }
}
