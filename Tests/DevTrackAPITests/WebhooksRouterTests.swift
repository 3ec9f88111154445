import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

/// `WebhooksController`: outbound endpoints (`/webhooks`, `/webhooks/{id}`), their secret, test send,
/// delivery log and retries.
@Suite(.timeLimit(.minutes(2)))
struct WebhooksRouterTests {
    static let routes = [
        APIRoute(.post, "/api/v1/webhooks"), APIRoute(.get, "/api/v1/webhooks"), APIRoute(.get, "/api/v1/webhooks/{id}"),
        APIRoute(.patch, "/api/v1/webhooks/{id}"), APIRoute(.delete, "/api/v1/webhooks/{id}"), APIRoute(.post, "/api/v1/webhooks/{id}/rotate-secret"),
        APIRoute(.post, "/api/v1/webhooks/{id}/test"), APIRoute(.get, "/api/v1/webhooks/{id}/deliveries"),
        APIRoute(.post, "/api/v1/webhooks/{id}/deliveries/{id}/retry"),
    ]
    static let valid = #"{"name": "hook", "url": "https://example.com/hook", "events": ["goal.completed"]}"#

    @Test func everyRouteRequiresAValidBearerToken() async throws {
        try await APIRouterTest.run { api in try await expectEveryRouteRequiresAToken(Self.routes, api) }
    }

    static let invalidURLs = [
        "not a url", "example.com/hook", "/hook", "http://example.com/hook", "ftp://example.com/hook", "https:///hook", "https://",
        "https://user:pw@example.com/hook", "https://user@example.com/hook", "https://127.0.0.1/hook", "https://10.1.2.3/hook",
        "https://192.168.0.1/hook", "https://172.16.0.1/hook", "https://169.254.169.254/latest/meta-data", "https://[::1]/hook",
        "https://[fe80::1]/hook", "https://[fd00::1]/hook", "https://[::ffff:127.0.0.1]/hook", "https://0.0.0.0/hook", "https://100.64.0.1/hook",
        "https://2130706433/hook", "https://0x7f000001/hook", "https://127.1/hook", "https://017700000001/hook", "https://10.1/hook",
        "https://example.com/\u{0}", "https://example.com/\u{7}", "https://example.com/\(String(repeating: "a", count: 2_048))", "",
    ]

    @Test func aNewEndpointIsRefusedNamingTheFieldThatIsWrong() async throws {
        try await APIRouterTest.run { api in
            func body(name: String? = #""hook""#, url: String? = #""https://example.com/hook""#, events: String? = #"["goal.completed"]"#) -> String {
                let fields = [("name", name), ("url", url), ("events", events)].compactMap { key, value in value.map { #""\#(key)": \#($0)"# } }
                return "{" + fields.joined(separator: ", ") + "}"
            }
            for name in [nil, "null", #""""#, #""   ""#, #""\#(String(repeating: "n", count: 101))""#, #""hook\u0007""#, #""a\u0000""#] {
                let request = body(name: name)
                expectBadRequest(try await api.call(.post, "/api/v1/webhooks", request), "invalid_name", naming: "name", request)
            }
            for url in Self.invalidURLs {
                let encoded = String(decoding: try JSONEncoder().encode(url), as: UTF8.self)
                let request = body(url: encoded)
                expectBadRequest(try await api.call(.post, "/api/v1/webhooks", request), "invalid_url", naming: "url", request)
            }
            expectBadRequest(try await api.call(.post, "/api/v1/webhooks", body(url: nil)), "invalid_url", naming: "url", "no url")
            for events in [nil, "[]", #"["nope"]"#, #"["goal.completed", "GOAL.COMPLETED"]"#, #"[""]"#] {
                let request = body(events: events)
                expectBadRequest(try await api.call(.post, "/api/v1/webhooks", request), "invalid_events", naming: "events", request)
            }
            for (request, field) in [
                (body(name: "5"), "name"), (body(url: "5"), "url"), (body(events: #""goal.completed""#), "events"), (body(events: "[1]"), "events"),
            ] {
                expectBadRequest(try await api.call(.post, "/api/v1/webhooks", request), "invalid_body", naming: field, request)
            }
            try await expectMalformedBodiesRefused(.post, "/api/v1/webhooks", api)
            try await expectBodyTooLarge(.post, "/api/v1/webhooks", api)
            let list = try await api.call(.get, "/api/v1/webhooks")
            #expect(list.value("webhooks", as: [Any].self)?.isEmpty == true, "nothing refused was stored: \(list)")
        }
    }

    @Test func aUserHasAtMostTheConfiguredNumberOfEndpoints() async throws {
        try await APIRouterTest.run(configuration: APIRouterTest.configuration(maxWebhooksPerUser: 2)) { api in
            for _ in 0..<2 { #expect(try await api.call(.post, "/api/v1/webhooks", Self.valid).status == .created) }
            let third = try await api.call(.post, "/api/v1/webhooks", Self.valid)
            expectError(third, .conflict, "webhook_limit_reached", naming: "2", "a third endpoint")
            let other = try await api.newUser("other")
            #expect(try await api.call(.post, "/api/v1/webhooks", Self.valid, token: other.token).status == .created, "the limit is per user")
            let list = try await api.call(.get, "/api/v1/webhooks")
            #expect(list.value("webhooks", as: [Any].self)?.count == 2, "\(list)")
        }
    }

    @Test func endpointsAreCreatedWithTheirSecretOnceAndChanged() async throws {
        try await APIRouterTest.run(configuration: APIRouterTest.configuration(allowHosts: ["hooks.internal"])) { api in
            let events = #"["streak.milestone", "goal.completed", "goal.completed", "test"]"#
            let created = try await api.call(
                .post, "/api/v1/webhooks", #"{"name": "  CI  ", "url": "https://example.com/hook?x=1", "events": \#(events)}"#)
            #expect(created.status == .created, "\(created)")
            #expect(
                created.keys() == ["id", "name", "url", "events", "enabled", "disabled_reason", "created_at", "updated_at", "secret"], "\(created)")
            let id = try #require(created.value("id", as: String.self))
            #expect(created.value("name", as: String.self) == "CI", "trimmed")
            #expect(created.value("url", as: String.self) == "https://example.com/hook?x=1")
            #expect(created.value("events", as: [String].self) == ["goal.completed", "streak.milestone", "test"], "deduplicated and sorted")
            #expect(created.value("enabled", as: Bool.self) == true && created.isNull("disabled_reason"))
            let secret = try #require(created.value("secret", as: String.self))
            #expect(secret.hasPrefix("whsec_"))
            let allowed = try await api.call(
                .post, "/api/v1/webhooks", #"{"name": "internal", "url": "http://hooks.internal:8080/h", "events": ["daily.summary"]}"#)
            #expect(allowed.status == .created, "http for an allow-listed host: \(allowed)")
            let names = try await api.call(
                .post, "/api/v1/webhooks", #"{"name": "\#(String(repeating: "n", count: 100))", "url": "https://localhost/h", "events": ["test"]}"#)
            #expect(names.status == .created, "names are checked at delivery, not here; 100 characters are accepted: \(names)")

            let list = try await api.call(.get, "/api/v1/webhooks")
            #expect(list.status == .ok && list.value("webhooks", as: [Any].self)?.count == 3, "\(list)")
            #expect(!list.text.contains(secret) && !list.keys("webhooks.0").contains("secret"), "never the secret: \(list)")
            let one = try await api.call(.get, "/api/v1/webhooks/\(id)")
            #expect(one.status == .ok && one.value("id", as: String.self) == id && !one.keys().contains("secret"), "\(one)")

            let path = "/api/v1/webhooks/\(id)"
            let disabled = try await api.call(.patch, path, #"{"enabled": false, "events": ["daily.summary"]}"#)
            #expect(disabled.status == .ok && disabled.value("enabled", as: Bool.self) == false, "\(disabled)")
            #expect(disabled.value("events", as: [String].self) == ["daily.summary"] && disabled.value("name", as: String.self) == "CI")
            let moved = try await api.call(.patch, path, #"{"url": "https://example.org/new", "name": "renamed"}"#)
            #expect(moved.value("url", as: String.self) == "https://example.org/new" && moved.value("name", as: String.self) == "renamed")
            #expect(moved.value("enabled", as: Bool.self) == false, "untouched: \(moved)")

            for (request, code, field) in [
                (#"{"name": ""}"#, "invalid_name", "name"), (#"{"name": "a\u0000"}"#, "invalid_name", "name"),
                (#"{"url": "http://example.com/h"}"#, "invalid_url", "url"), (#"{"url": "https://10.0.0.1/h"}"#, "invalid_url", "url"),
                (#"{"events": []}"#, "invalid_events", "events"), (#"{"events": ["nope"]}"#, "invalid_events", "events"),
                (#"{"enabled": "yes"}"#, "invalid_body", "enabled"), (#"{"events": "test"}"#, "invalid_body", "events"),
            ] {
                expectBadRequest(try await api.call(.patch, path, request), code, naming: field, request)
            }
            try await expectMalformedBodiesRefused(.patch, path, api)
            try await expectBodyTooLarge(.patch, path, api)
            let read = try await api.call(.get, path)
            #expect(read.value("name", as: String.self) == "renamed" && read.value("url", as: String.self) == "https://example.org/new", "\(read)")

            // An endpoint the deliverer disabled (it answered 410) shows why; enabling it again clears the reason.
            try await api.store.webhookEndpoints.disableWebhookEndpoint(
                id: try #require(UUID(uuidString: id)), reason: "the endpoint answered 410 Gone")
            let gone = try await api.call(.get, path)
            #expect(
                gone.value("enabled", as: Bool.self) == false && gone.value("disabled_reason", as: String.self)?.contains("410") == true, "\(gone)")
            let enabled = try await api.call(.patch, path, #"{"enabled": true}"#)
            #expect(enabled.value("enabled", as: Bool.self) == true && enabled.isNull("disabled_reason"), "\(enabled)")

            let rotated = try await api.call(.post, "\(path)/rotate-secret")
            #expect(rotated.status == .ok, "\(rotated)")
            let newSecret = try #require(rotated.value("secret", as: String.self))
            #expect(newSecret.hasPrefix("whsec_") && newSecret != secret)
            #expect(rotated.value("id", as: String.self) == id && rotated.value("name", as: String.self) == "renamed")

            let deleted = try await api.call(.delete, path)
            #expect(deleted.status == .noContent && deleted.body.isEmpty, "\(deleted)")
            expectError(try await api.call(.get, path), .notFound, "not_found", "a deleted endpoint")
            expectError(try await api.call(.delete, path), .notFound, "not_found", "deleted twice")
        }
    }

    @Test func aTestDeliveryIsQueuedLoggedAndRetried() async throws {
        try await APIRouterTest.run { api in
            let created = try await api.call(.post, "/api/v1/webhooks", Self.valid)
            let path = "/api/v1/webhooks/\(try #require(created.value("id", as: String.self)))"
            let queued = try await api.call(.post, "\(path)/test")
            #expect(queued.status == .accepted, "\(queued)")
            #expect(queued.keys() == ["delivery_id", "status"] && queued.value("status", as: String.self) == "pending", "\(queued)")
            let deliveryID = try #require(queued.value("delivery_id", as: String.self))
            #expect(UUID(uuidString: deliveryID) != nil && deliveryID == deliveryID.lowercased(), "\(queued)")

            for limit in ["0", "101", "-1", "abc", ""] {
                expectBadRequest(try await api.call(.get, "\(path)/deliveries?limit=\(limit)"), "invalid_limit", naming: "limit", "limit=\(limit)")
            }
            let log = try await api.call(.get, "\(path)/deliveries")
            #expect(log.status == .ok && log.keys() == ["deliveries"], "\(log)")
            #expect(log.value("deliveries", as: [Any].self)?.count == 1, "\(log)")
            #expect(
                log.keys("deliveries.0") == [
                    "id", "event", "status", "attempt_count", "response_code", "latency_ms", "error", "payload", "created_at", "attempts",
                ], "\(log)")
            #expect(log.value("deliveries.0.id", as: String.self) == deliveryID && log.value("deliveries.0.event", as: String.self) == "test")
            #expect(log.value("deliveries.0.status", as: String.self) == "pending" && log.value("deliveries.0.attempt_count", as: Int.self) == 0)
            #expect(log.isNull("deliveries.0.response_code") && log.isNull("deliveries.0.error"), "\(log)")
            #expect(log.value("deliveries.0.payload.event", as: String.self) == "test", "\(log)")
            #expect(log.value("deliveries.0.attempts", as: [Any].self)?.isEmpty == true)
            _ = try await api.call(.post, "\(path)/test")
            #expect(try await api.call(.get, "\(path)/deliveries?limit=1").value("deliveries", as: [Any].self)?.count == 1)

            let retried = try await api.call(.post, "\(path)/deliveries/\(deliveryID)/retry")
            #expect(retried.status == .accepted, "\(retried)")
            #expect(retried.value("delivery_id", as: String.self) == deliveryID && retried.value("status", as: String.self) == "pending")
            for unknown in [UUID().uuidString.lowercased(), "not-a-uuid", "1"] {
                let response = try await api.call(.post, "\(path)/deliveries/\(unknown)/retry")
                expectError(response, .notFound, "not_found", naming: "delivery", "delivery \(unknown)")
            }
            // A delivery of another of the user's endpoints is not one of this endpoint's.
            let second = try await api.call(.post, "/api/v1/webhooks", Self.valid)
            let secondPath = "/api/v1/webhooks/\(try #require(second.value("id", as: String.self)))"
            expectError(try await api.call(.post, "\(secondPath)/deliveries/\(deliveryID)/retry"), .notFound, "not_found", "another endpoint's")
        }
    }

    @Test func anotherUsersEndpointDoesNotExist() async throws {
        try await APIRouterTest.run { api in
            let other = try await api.newUser("other")
            let theirs = try await api.call(.post, "/api/v1/webhooks", Self.valid, token: other.token)
            let id = try #require(theirs.value("id", as: String.self))
            let queued = try await api.call(.post, "/api/v1/webhooks/\(id)/test", token: other.token)
            let deliveryID = try #require(queued.value("delivery_id", as: String.self))
            try await expectNotFound(.get, "/api/v1/webhooks/{id}", othersID: id, in: api)
            try await expectNotFound(.patch, "/api/v1/webhooks/{id}", othersID: id, body: #"{"enabled": false}"#, in: api)
            try await expectNotFound(.patch, "/api/v1/webhooks/{id}", othersID: id, body: #"{"url": "http://x"}"#, in: api)
            try await expectNotFound(.post, "/api/v1/webhooks/{id}/rotate-secret", othersID: id, in: api)
            try await expectNotFound(.post, "/api/v1/webhooks/{id}/test", othersID: id, in: api)
            try await expectNotFound(.get, "/api/v1/webhooks/{id}/deliveries", othersID: id, in: api)
            try await expectNotFound(.post, "/api/v1/webhooks/{id}/deliveries/\(deliveryID)/retry", othersID: id, in: api)
            try await expectNotFound(.delete, "/api/v1/webhooks/{id}", othersID: id, in: api)
            let still = try await api.call(.get, "/api/v1/webhooks/\(id)/deliveries", token: other.token)
            #expect(still.value("deliveries", as: [Any].self)?.count == 1, "untouched: \(still)")
            #expect(try await api.call(.get, "/api/v1/webhooks/\(id)", token: other.token).value("enabled", as: Bool.self) == true)
        }
    }
}
