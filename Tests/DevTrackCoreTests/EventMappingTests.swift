import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

/// Mappings read other systems' payloads: the presets on GitLab-shaped fixtures, and every way a mapping or
/// a payload can be wrong, named.
struct EventMappingTests {
    let received = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func gitLabPushesCountEachCommitAsACommit() throws {
        let events = try EventMapping.presets["gitlab-push"]!.events(in: try OtherFixtures.data("push.json"), receivedAt: received)
        #expect(events.map(\.kind) == [.commit, .commit])
        #expect(events.map(\.id) == ["b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327", "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"])
        #expect(events.allSatisfy { $0.repo == "acme/inventory" }, "read from the root with $/")
        #expect(events[0].occurredAt == Timestamps.parse("2026-11-20T08:12:40Z"))
        let fact = events[1].fact(userID: UUID(), source: "custom:s1", deliveryID: "d", index: 1)
        #expect(fact.id == "custom:s1:da1560886d4f094c3e6c9ef40349f7d38b5d27d7" && fact.kind == .commit)
    }

    @Test func withTheOwnersIdentitiesOnlyTheirEventsCount() throws {
        var mine = EventMapping.presets["gitlab-push"]!
        mine.authors = ["Jordan@Example.com"]
        #expect(try mine.events(in: try OtherFixtures.data("push.json"), receivedAt: received).count == 2, "case-insensitive")
        mine.authors = ["someone@else.org"]
        #expect(try mine.events(in: try OtherFixtures.data("push.json"), receivedAt: received).isEmpty)
        #expect(throws: EventMapping.Invalid.self) { try EventMapping(kind: "commit", occurredAt: "/t", authors: ["a"]).validate() }
    }

    @Test func gitLabMergeRequestsCountWhenOpenedOrMergedOnly() throws {
        let preset = EventMapping.presets["gitlab-merge-request"]!
        let merged = try preset.events(in: try OtherFixtures.data("merge-request-merged.json"), receivedAt: received)
        #expect(merged.map(\.kind) == [.prMerged])
        #expect(merged.first?.id == "99", "a numeric id is written out")
        #expect(merged.first?.occurredAt == Timestamps.parse("2026-11-20T11:30:45Z"), "GitLab's `… UTC` times")
        #expect(try preset.events(in: try OtherFixtures.data("merge-request-updated.json"), receivedAt: received).isEmpty, "an edit is no activity")
    }

    @Test func aFinishedPipelineIsOneCustomEvent() throws {
        let events = try EventMapping.presets["ci-pipeline"]!.events(in: try OtherFixtures.data("ci-pipeline.json"), receivedAt: received)
        #expect(
            events == [
                MappedEvent(
                    kind: ActivityKind.custom("pipeline")!, occurredAt: Timestamps.parse("2026-11-20T10:14:31Z")!, value: 1,
                    id: "pipeline-4711", repo: "acme/inventory")
            ])
    }

    @Test func aHandWrittenMappingReadsValuesAndTheReceiptTime() throws {
        let mapping = EventMapping(events: "/solved", kind: "custom:leetcode", occurredAt: "$received", value: "/points", id: "/slug")
        try mapping.validate()
        let events = try mapping.events(
            in: Array(#"{"solved": [{"slug": "two-sum", "points": 3}, {"slug": "a~1b", "points": 0}]}"#.utf8), receivedAt: received)
        #expect(events.map(\.value) == [3, 0])
        #expect(events.allSatisfy { $0.occurredAt == received })
        let escaped = try EventMapping(kind: "custom:x", occurredAt: "/a~1b/c~0d").events(
            in: Array(#"{"a/b": {"c~d": "2026-11-20T10:00:00Z"}}"#.utf8), receivedAt: received)
        #expect(escaped.first?.occurredAt == Timestamps.parse("2026-11-20T10:00:00Z"), "RFC 6901 escapes")
    }

    @Test func badMappingsAreRefusedNamingTheField() {
        func reason(_ mapping: EventMapping) -> String? {
            do { try mapping.validate(); return nil } catch { return error.description }
        }
        #expect(reason(EventMapping(kind: "commit", occurredAt: "timestamp")) == "mapping.occurred_at must be a JSON pointer or $received")
        #expect(reason(EventMapping(kind: "coding_day", occurredAt: "/t"))?.hasPrefix("mapping.kind 'coding_day' is not a kind") == true)
        #expect(reason(EventMapping(kind: "custom:Bad Type", occurredAt: "/t"))?.hasPrefix("mapping.kind") == true)
        #expect(reason(EventMapping(occurredAt: "/t")) == "mapping needs exactly one of kind and kind_pointer")
        #expect(reason(EventMapping(kindPointer: "/a", occurredAt: "/t")) == "mapping.kinds must list the values of kind_pointer that count")
        #expect(reason(EventMapping(kindPointer: "/a", kinds: ["x": "deploys"], occurredAt: "/t"))?.hasPrefix("mapping.kinds: 'deploys'") == true)
        #expect(reason(EventMapping(events: "commits", kind: "commit", occurredAt: "/t"))?.hasPrefix("mapping.events must be a JSON pointer") == true)
        for preset in EventMapping.presets.values { #expect(reason(preset) == nil) }
    }

    @Test func payloadsTheMappingCannotReadSayWhere() {
        func reason(_ mapping: EventMapping, _ json: String) -> String? {
            do { _ = try mapping.events(in: Array(json.utf8), receivedAt: received); return nil } catch { return error.description }
        }
        let push = EventMapping.presets["gitlab-push"]!
        #expect(reason(push, "nope") == "body is not JSON")
        #expect(reason(push, #"{"object_kind": "tag_push"}"#) == "mapping.events /commits is not an array in the payload")
        #expect(
            reason(push, #"{"commits": [{"id": "a", "timestamp": "2026-11-20T10:00:00Z"}, {"id": "b", "timestamp": "soon"}]}"#)
                == "mapping.occurred_at /commits/1/timestamp is not a time in the payload")
        #expect(
            reason(EventMapping(kind: "custom:x", occurredAt: "$received", value: "/n"), #"{"n": "3"}"#)
                == "mapping.value /n is not a number from 0 to 1e9 in the payload")
        let custom = EventMapping(kind: "custom:x", occurredAt: "/at", id: "/id", repo: "/repo")
        #expect(
            reason(custom, #"{"at": "2026-11-20T10:00:00Z", "id": "a\u0000"}"#)
                == "mapping.id /id contains the control character U+0000, which is not accepted")
        #expect(
            reason(custom, #"{"at": "2026-11-20T10:00:00Z", "repo": "\#(String(repeating: "r", count: 201))"}"#)
                == "mapping.repo /repo is 201 bytes long; at most 200 bytes are accepted")
        #expect(reason(custom, #"{"at": "0001-01-01T00:00:00Z"}"#) == "mapping.occurred_at /at is before 1970-01-01")
    }
}
