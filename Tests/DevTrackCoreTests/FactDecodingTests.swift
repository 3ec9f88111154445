import DevTrackCore
import Foundation
import Testing

/// The hand-written fact reader must agree with `JSONDecoder` on every input: same fact when both read
/// it, and a fallback (never a different answer) for what it does not take.
@Suite struct FactDecodingTests {
    let decoder = FactCoding.decoder()

    func bothWays(_ json: String) -> (fast: ActivityFact?, reference: ActivityFact?) {
        let bytes = Array(json.utf8)
        let fast = FlatJSONObject(bytes).flatMap { _ in try? FactCoding.decodeFact(bytes, fallback: JSONDecoder()) }
        return (fast, try? decoder.decode(ActivityFact.self, from: Data(bytes)))
    }

    @Test func encodedFactsReadBackByHandAsJSONDecoderReadsThem() throws {
        let facts = [
            ActivityFact(
                id: "commit:abc", userID: UUID(), kind: .commit, occurredAt: Date(timeIntervalSince1970: 1_700_000_000.5),
                repo: "o/r", language: "Swift", source: "github-app"),
            ActivityFact(
                id: "review:\"quoted\" \\ back/slash\nnew line\tand 😀 é", userID: UUID(), kind: .review,
                occurredAt: Date(timeIntervalSince1970: 0), value: 2.25, repo: nil, language: nil, source: "custom:ci"),
            ActivityFact.codingDay(userID: UUID(), day: LocalDate("2024-03-31")!, zone: TimeZone(identifier: "Europe/Berlin")!),
        ]
        for fact in facts {
            let bytes = Array(try FactCoding.encoder().encode(fact))
            #expect(FlatJSONObject(bytes) != nil, "our own encoding takes the fast path")
            #expect(try FactCoding.decodeFact(bytes, fallback: JSONDecoder()) == fact)
        }
    }

    @Test func escapesNumbersAndNullsMatchJSONDecoder() {
        let user = UUID().uuidString
        let inputs: [String] = [
            #"{"id":"a\u00e9\ud83d\ude00\/","user_id":"\#(user)","kind":"commit","#
                + #""occurred_at":"2024-03-10T18:29:59Z","value":1e3,"repo":null,"source":"s"}"#,
            #" { "source" : "s" , "value" : -0.5 , "occurred_at" : "2024-03-10T18:29:59.123+05:30" , "#
                + #""kind" : "pr_merged" , "user_id" : "\#(user)" , "id" : "x" } "#,
            #"{"id":"x","user_id":"\#(user)","kind":"commit","occurred_at":"2024-03-10T18:29:59.000Z","value":0,"source":"s","extra":12}"#,
            #"{"id":"x","user_id":"\#(user)","kind":"commit","occurred_at":"2024-03-10T18:29:59Z","value":1,"source":"s","#
                + #""repo_private":false,"title":"t","url":"https://github.com/o/r"}"#,
            #"{"id":"x","user_id":"\#(user)","kind":"commit","occurred_at":"2024-03-10T18:29:59Z","value":1,"source":"s","#
                + #""repo_private":true,"title":null}"#,
        ]
        for json in inputs {
            let (fast, reference) = bothWays(json)
            #expect(reference != nil, "\(json)")
            #expect(fast == reference, "\(json)")
        }
    }

    @Test func whatTheReaderRefusesFallsBackToJSONDecoder() throws {
        let user = UUID().uuidString
        let base = #""id":"x","user_id":"\#(user)","kind":"commit","occurred_at":"2024-03-10T18:29:59.000Z","source":"s""#
        let outside = [
            "{\(base),\"value\":1,\"repo\":{\"name\":\"nested\"}}",  // nested value
            "{\(base),\"value\":1,\"flag\":tru}",  // a misspelt literal
            "{\(base),\"value\":01}",  // not a JSON number
            "{\(base),\"value\":3002563880013122808e33333}",  // beyond Double's range (found by the flat-json fuzz target)
            "{\(base),\"value\":1,\"id\":\"again\"}",  // duplicate key
            "{\(base),\"value\":1} trailing",
            "{\(base),\"value\":1,\"repo\":\"bad \\x escape\"}",
            "{\(base),\"value\":1,\"repo\":\"\\ud83d alone\"}",
            "[1, 2]",
            "",
        ]
        for json in outside {
            #expect(FlatJSONObject(Array(json.utf8)) == nil, "\(json)")
        }
        // A nested unknown member is fine for JSONDecoder; the fallback gives the same fact.
        let nested = Array("{\(base),\"value\":1,\"meta\":{\"a\":[1]}}".utf8)
        #expect(try FactCoding.decodeFact(nested, fallback: decoder).id == "x")
        // Not a fact at all: JSONDecoder's error names what is wrong.
        #expect(throws: DecodingError.self) { try FactCoding.decodeFact(Array("{\(base)}".utf8), fallback: decoder) }
        #expect(throws: DecodingError.self) { try FactCoding.decodeFact(Array("{\(base),\"value\":\"one\"}".utf8), fallback: decoder) }
        let unknownKind = base.replacingOccurrences(of: #""kind":"commit""#, with: #""kind":"dance""#)
        #expect(throws: DecodingError.self) { try FactCoding.decodeFact(Array("{\(unknownKind),\"value\":1}".utf8), fallback: decoder) }
    }
}

/// The hand-written writer of flat string objects (notification payloads) must give what `JSONEncoder` with
/// sorted keys and unescaped slashes gives.
@Suite struct FlatJSONWriterTests {
    @Test func writesTheBytesJSONEncoderWritesForAnyString() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let awkward = [
            "\"quoted\" \\ back/slash", "new\nline\ttab\rreturn", "bell \u{07} unit \u{1F} nul \u{00} del \u{7F}",
            "\u{08}\u{0C}", "😀 é ü 中文", "", "plain",
        ]
        let members = Dictionary(uniqueKeysWithValues: awkward.enumerated().map { ("k\($0.offset) \($0.element)", $0.element) })
        for object in [members, [:], ["z": "1", "a": "2", "M": "3"]] {
            let written = FlatJSONObject.text(object)
            #expect(try JSONDecoder().decode([String: String].self, from: Data(written.utf8)) == object, "\(written)")
            let reference = String(decoding: try encoder.encode(object), as: UTF8.self)
            // Control characters other than the named ones: JSONEncoder writes \u001f; both are the same JSON.
            #expect(written.lowercased() == reference.lowercased(), "\(written) vs \(reference)")
        }
        let envelope = WebhookEnvelope(event: "goal.created", timestamp: "2026-11-26T00:00:00Z", data: ["url": "https://x/y", "t": "a\"b"])
        #expect(envelope.json() == String(decoding: try encoder.encode(envelope), as: UTF8.self))
    }
}

@Suite struct CanonicalTextTests {
    @Test func userIDsParseAsUUIDInitParsesThem() throws {
        for _ in 0..<50 {
            let id = UUID()
            #expect(FlatJSONObject(Array(#"{"u":"\#(id.uuidString.lowercased())"}"#.utf8)) != nil)
            for text in [id.uuidString, id.uuidString.lowercased()] {
                let fact = #"{"id":"x","user_id":"\#(text)","kind":"commit","occurred_at":"2024-03-10T18:29:59.000Z","value":1,"source":"s"}"#
                #expect(try FactCoding.decodeFact(Array(fact.utf8), fallback: JSONDecoder()).userID == id)
            }
        }
        let good = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
        for bad in [
            String(good.dropLast()), good.replacingOccurrences(of: "-", with: "x"), good.replacingOccurrences(of: "b", with: "g"), good + "0",
        ] {
            let fact = #"{"id":"x","user_id":"\#(bad)","kind":"commit","occurred_at":"2024-03-10T18:29:59.000Z","value":1,"source":"s"}"#
            #expect(throws: DecodingError.self) { try FactCoding.decodeFact(Array(fact.utf8), fallback: JSONDecoder()) }
        }
    }

    @Test func datesParseByteByByte() {
        #expect(LocalDate("2024-02-29")?.description == "2024-02-29")
        for bad in ["2024-02-30", "2024-2-29", "2024/02/29", "2024-02-29 ", "+024-02-29", "２０２４-02-29", "2024-00-10", ""] {
            #expect(LocalDate(bad) == nil, "\(bad)")
        }
    }
}
