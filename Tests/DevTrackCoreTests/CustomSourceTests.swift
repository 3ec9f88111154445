import DevTrackCore
import Foundation
import Testing

/// Inbound Standard Webhooks verification (the specification's published example as the vector) and the
/// native custom event format.
struct CustomSourceTests {
    let key = StandardWebhooks.key(of: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")!
    let id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    let body = Array(#"{"test": 2432232314}"#.utf8)
    let signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    let sent = Date(timeIntervalSince1970: 1614265330)

    func verify(
        id: String? = "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: String? = "1614265330", signatures: String?, body: [UInt8]? = nil,
        keys: [[UInt8]]? = nil, now: Date? = nil
    ) -> StandardWebhooks.Verdict {
        StandardWebhooks.verify(id: id, timestamp: timestamp, signatures: signatures, body: body ?? self.body, keys: keys ?? [key], now: now ?? sent)
    }

    @Test func theSpecificationsExampleVerifies() {
        #expect(verify(signatures: signature) == .valid)
        #expect(verify(signatures: signature, now: sent.addingTimeInterval(299)) == .valid, "within five minutes")
    }

    @Test func aTamperedBodyIdOrTimestampIsAMismatch() {
        #expect(verify(signatures: signature, body: Array(#"{"test": 2432232315}"#.utf8)) == .mismatch)
        #expect(verify(id: "msg_other", signatures: signature) == .mismatch)
        #expect(verify(timestamp: "1614265331", signatures: signature, now: sent) == .mismatch)
    }

    @Test func anOldOrFutureTimestampIsStaleEvenWithAValidSignature() {
        #expect(verify(signatures: signature, now: sent.addingTimeInterval(301)) == .stale(secondsOff: 301))
        #expect(verify(signatures: signature, now: sent.addingTimeInterval(-400)) == .stale(secondsOff: -400))
    }

    @Test func anyOfSeveralSignaturesAndAnyOfTheSecretsWillDo() {
        let other = StandardWebhooks.key(of: StandardWebhooks.newSecret())!
        #expect(verify(signatures: "v1,AAAA v1,bm90IGl0 \(signature)") == .valid, "several signatures, one right")
        #expect(verify(signatures: signature, keys: [other, key]) == .valid, "rotated: the previous secret still verifies")
        #expect(verify(signatures: signature, keys: [other]) == .mismatch)
        #expect(verify(signatures: "v2,\(signature.dropFirst(3))") == .malformed("webhook-signature has no v1,<base64> signature"))
    }

    @Test func missingOrMalformedHeadersAreNamed() {
        #expect(verify(id: nil, signatures: signature) == .missing("missing webhook-id header"))
        #expect(verify(timestamp: nil, signatures: signature) == .missing("missing webhook-timestamp header"))
        #expect(verify(signatures: nil) == .missing("missing webhook-signature header"))
        #expect(verify(timestamp: "yesterday", signatures: signature) == .malformed("webhook-timestamp must be Unix seconds"))
    }

    @Test func nativeEventsParseAloneOrAsAnArray() throws {
        let one = try CustomEvent.parse(Array(#"{"type": "deploy", "occurred_at": "2026-11-25T10:00:00Z"}"#.utf8))
        #expect(one == [CustomEvent(type: "deploy", occurredAt: Date(timeIntervalSince1970: 1_795_600_800))])
        let many = try CustomEvent.parse(
            Array(
                """
                [{"type": "leetcode.solved", "occurred_at": "2026-11-25T10:00:00+01:00", "value": 3, "id": "lc-1"},
                 {"type": "deploy", "occurred_at": "2026-11-25T10:00:00.250Z", "repo": "acme/api"}]
                """.utf8))
        #expect(many.map(\.type) == ["leetcode.solved", "deploy"])
        #expect(many[0].value == 3 && many[0].id == "lc-1" && many[0].occurredAt == Date(timeIntervalSince1970: 1_795_597_200))
        #expect(many[1].repo == "acme/api" && many[1].value == 1)
        // 0 and 1 are numbers, not booleans (JSONSerialization hands both out as NSNumber).
        let small = try CustomEvent.parse(
            Array(
                (#"[{"type": "a", "occurred_at": "2026-11-25T10:00:00Z", "value": 1}, "#
                    + #"{"type": "a", "occurred_at": "2026-11-25T10:00:00Z", "value": 0}, "#
                    + #"{"type": "a", "occurred_at": "2026-11-25T10:00:00Z", "value": 2.5}]"#)
                    .utf8))
        #expect(small.map(\.value) == [1, 0, 2.5])
        // Flat events take a hand-written reader, others the general one: both read the same events.
        let nested = try CustomEvent.parse(
            Array(#"{"type": "deploy", "occurred_at": "2026-11-25T10:00:00Z", "meta": {"by": "ci"}, "ok": true, "id": "caf\u00e9"}"#.utf8))
        let flat = try CustomEvent.parse(Array(#"{"type": "deploy", "occurred_at": "2026-11-25T10:00:00Z", "id": "caf\u00e9", "repo": null}"#.utf8))
        #expect(nested == flat && flat.first?.id == "café")
    }

    @Test func badEventsAreRefusedNamingTheField() {
        func reason(_ json: String) -> String? {
            do {
                _ = try CustomEvent.parse(Array(json.utf8))
                return nil
            } catch {
                return error.description
            }
        }
        #expect(reason("not json") == "body is not JSON")
        #expect(reason("[]") == "the array holds no event")
        #expect(reason("3") == "body must be an event object")
        #expect(reason(#"{"occurred_at": "2026-11-25T10:00:00Z"}"#) == "type is required (a string)")
        #expect(reason(#"{"type": "Deploy!", "occurred_at": "2026-11-25T10:00:00Z"}"#)?.hasPrefix("type must be") == true)
        #expect(
            reason(#"[{"type": "deploy", "occurred_at": "2026-11-25T10:00:00Z"}, {"type": "deploy"}]"#) == "[1].occurred_at is required (ISO 8601)")
        #expect(reason(#"{"type": "deploy", "occurred_at": "yesterday"}"#) == "occurred_at must be an ISO 8601 instant with a zone")
        #expect(reason(#"{"type": "deploy", "occurred_at": "2026-11-25T10:00:00Z", "value": -1}"#) == "value must be a number from 0 to 1e9")
        #expect(reason(#"{"type": "deploy", "occurred_at": "2026-11-25T10:00:00Z", "value": true}"#) == "value must be a number from 0 to 1e9")
        #expect(reason(#"{"type": "deploy", "occurred_at": "2026-11-25T10:00:00Z", "value": false}"#) == "value must be a number from 0 to 1e9")
        #expect(reason(#"{"type": "deploy", "occurred_at": "2026-11-25T10:00:00Z", "value": null}"#) == "value must be a number from 0 to 1e9")
        #expect(
            reason(#"{"type": "deploy", "type": "x", "occurred_at": "2026-11-25T10:00:00Z"}"#) == nil, "a duplicate key: the general reader decides")
        #expect(reason(#"{"type": "deploy", "occurred_at": "2026-11-25T10:00:00Z", "id": 7}"#) == "id must be a non-empty string")
    }

    @Test func whatCannotBeStoredIsRefusedAtTheEdge() {
        func reason(_ json: String) -> String? {
            do { _ = try CustomEvent.parse(Array(json.utf8), now: sent); return nil } catch { return error.description }
        }
        #expect(
            reason(#"{"type": "deploy", "occurred_at": "2021-02-25T10:00:00Z", "repo": "a\u0000b"}"#)
                == "repo contains the control character U+0000, which is not accepted")
        #expect(
            reason(#"[{"type": "deploy", "occurred_at": "2021-02-25T10:00:00Z", "id": "\#(String(repeating: "é", count: 101))"}]"#)
                == "[0].id is 202 bytes long; at most 200 bytes are accepted")
        #expect(reason(#"{"type": "deploy", "occurred_at": "2021-02-25T10:00:00Z", "value": 1e300}"#) == "value must be a number from 0 to 1e9")
        #expect(reason(#"{"type": "deploy", "occurred_at": "1969-12-31T23:59:59Z"}"#) == "occurred_at is before 1970-01-01")
        #expect(reason(#"{"type": "deploy", "occurred_at": "2021-02-27T10:00:00Z"}"#) == "occurred_at is more than a day ahead of the hub's clock")
        #expect(reason(#"{"type": "deploy", "occurred_at": "2021-02-26T10:00:00Z", "value": 1e9, "repo": "ok/ok"}"#) == nil)
    }

    @Test func anEventsFactIsNamedByItsIdOrByTheDeliveryAndPosition() {
        let user = UUID()
        let event = CustomEvent(type: "deploy", occurredAt: sent)
        let fact = event.mapped.fact(userID: user, source: "custom:s1", deliveryID: "msg_1", index: 2)
        #expect(fact.id == "custom:s1:msg_1#2")
        #expect(fact.kind == ActivityKind.custom("deploy") && fact.kind.rawValue == "custom:deploy")
        #expect(GoalUnit.affected(by: fact.kind) == [.custom("deploy")])
        #expect(
            CustomEvent(type: "deploy", occurredAt: sent, id: "d-9").mapped.fact(userID: user, source: "custom:s1", deliveryID: "msg_1", index: 0).id
                == "custom:s1:d-9")
    }
}

/// Hostile Standard Webhooks headers: answered without a crash and with bounded work.
struct HostileStandardWebhooksTests {
    let key = StandardWebhooks.key(of: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")!
    let now = Date(timeIntervalSince1970: 1614265330)

    func verify(timestamp: String = "1614265330", signatures: String, id: String = "msg_1") -> StandardWebhooks.Verdict {
        StandardWebhooks.verify(id: id, timestamp: timestamp, signatures: signatures, body: [], keys: [key], now: now)
    }

    @Test func extremeTimestampsAreStaleNotACrash() {
        for timestamp in ["-9223372036854775808", "9223372036854775807", "-9223372036854775807", "0", "-1"] {
            guard case .stale = verify(timestamp: timestamp, signatures: "v1,AAAA") else {
                Issue.record("\(timestamp) should be stale")
                continue
            }
        }
        #expect(verify(timestamp: "99999999999999999999999", signatures: "v1,AAAA") == .malformed("webhook-timestamp must be Unix seconds"))
        #expect(verify(timestamp: "1e9", signatures: "v1,AAAA") == .malformed("webhook-timestamp must be Unix seconds"))
    }

    @Test func manySignatureCandidatesAreRefusedBeforeAnyHMAC() {
        let candidates = Array(repeating: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", count: 9).joined(separator: " ")
        #expect(verify(signatures: candidates) == .malformed("webhook-signature has 9 signatures; at most 8 are accepted"))
        let long = "v1," + String(repeating: "A", count: 2000)
        #expect(verify(signatures: long) == .malformed("webhook-signature is longer than 1024 bytes"))
    }

    @Test func anOverlongOrControlCharacterIdIsMalformed() {
        guard case .malformed = verify(signatures: "v1,AAAA", id: String(repeating: "x", count: 201)) else {
            Issue.record("a 201-byte webhook-id should be malformed")
            return
        }
        guard case .malformed = verify(signatures: "v1,AAAA", id: "msg\u{0}1") else {
            Issue.record("a NUL in webhook-id should be malformed")
            return
        }
    }
}
