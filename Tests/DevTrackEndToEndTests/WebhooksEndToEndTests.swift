import DevTrackCore
import DevTrackTestSupport
import Foundation
import Testing

/// Outbound webhooks through the built binary, to a receiver on loopback that checks both signature schemes.
@Suite(.timeLimit(.minutes(5)))
struct WebhooksEndToEndTests {
    @Test func endpointsAreValidatedLimitedSignedRotatedRetriedAndLogged() async throws {
        let receiver = FakeDiscord()
        try await receiver.serving { base in
            try await withHub { hub in
                let user = try await hub.createUser(login: "Codertocat", githubID: 21031067)
                let other = try await hub.createUser(login: "other", githubID: 5)
                func call(_ method: String, _ path: String, _ body: String? = nil, token: String? = nil) async throws -> HubUnderTest.Response {
                    try await hub.api(method, path, body, token: token ?? user.token)
                }
                let hook = "200000000000000001"
                let url = "\(base)/api/webhooks/\(hook)/t"
                for (body, code) in [
                    (#"{"url": "\#(url)", "events": ["test"]}"#, "invalid_name"),
                    (#"{"name": "x", "url": "http://example.com/hook", "events": ["test"]}"#, "invalid_url"),
                    (#"{"name": "x", "url": "https://10.0.0.1/hook", "events": ["test"]}"#, "invalid_url"),
                    (#"{"name": "x", "url": "https://169.254.169.254/latest", "events": ["test"]}"#, "invalid_url"),
                    (#"{"name": "x", "url": "\#(url)", "events": []}"#, "invalid_events"),
                    (#"{"name": "x", "url": "\#(url)", "events": ["spam"]}"#, "invalid_events"),
                ] {
                    let response = try await call("POST", "/api/v1/webhooks", body)
                    #expect(response.status == 400, "\(body)")
                    #expect((response.json?["error"] as? [String: Any])?["code"] as? String == code, "\(body) → \(response.text)")
                }

                let created = try await call(
                    "POST", "/api/v1/webhooks", #"{"name": "CI", "url": "\#(url)", "events": ["achievement.unlocked", "test"]}"#)
                #expect(created.status == 201, "\(created.text)")
                let id = try #require(created.json?["id"] as? String)
                let secret = try #require(created.json?["secret"] as? String)
                #expect(secret.hasPrefix("whsec_"))
                #expect(try await call("GET", "/api/v1/webhooks/\(id)").json?["secret"] == nil, "the secret is shown once")
                #expect(try await call("GET", "/api/v1/webhooks/\(id)", token: other.token).status == 404, "someone else's")

                // At most five per user.
                var extra: [String] = []
                for index in 2...5 {
                    let more = try await call(
                        "POST", "/api/v1/webhooks", #"{"name": "n\#(index)", "url": "\#(base)/api/webhooks/3\#(index)/t", "events": ["test"]}"#)
                    extra.append(try #require(more.json?["id"] as? String))
                }
                let sixth = try await call("POST", "/api/v1/webhooks", #"{"name": "six", "url": "\#(url)", "events": ["test"]}"#)
                #expect(sixth.status == 409)
                #expect((sixth.json?["error"] as? [String: Any])?["code"] as? String == "webhook_limit_reached")
                for other in extra { #expect(try await call("DELETE", "/api/v1/webhooks/\(other)").status == 204) }
                #expect((try await call("GET", "/api/v1/webhooks").json?["webhooks"] as? [Any])?.count == 1)

                // A test delivery: signed both ways, one id for Standard Webhooks and the original's header.
                let test = try await call("POST", "/api/v1/webhooks/\(id)/test")
                #expect(test.status == 202)
                let deliveryID = try #require(test.json?["delivery_id"] as? String)
                let first = try #require(try await eventually({ receiver.requests(to: hook) }, until: { !$0.isEmpty }).first)
                func verify(_ request: FakeDiscord.Received, secrets: [String]) -> Bool {
                    guard let id = request.header("webhook-id"), let timestamp = request.header("webhook-timestamp").flatMap(Int.init),
                        let signatures = request.header("webhook-signature")?.split(separator: " ").map(String.init)
                    else { return false }
                    return secrets.allSatisfy { secret in
                        signatures.contains(
                            StandardWebhooks.signature(id: id, timestamp: timestamp, body: request.body, key: StandardWebhooks.key(of: secret)!))
                    }
                }
                #expect(verify(first, secrets: [secret]))
                #expect(first.header("webhook-id") == deliveryID)
                #expect(first.header("X-Webhook-Delivery-Id") == deliveryID, "a real per-delivery id")
                #expect(first.header("X-Webhook-Event") == "test")
                #expect(first.header("X-Webhook-Signature") == GitHubSignature.sign(body: first.body, secret: Array(secret.utf8)))
                let envelope = try JSONDecoder().decode(WebhookEnvelope.self, from: Data(first.body))
                #expect(envelope.event == "test")
                #expect(envelope.data["endpoint_id"] == id)

                // A subscribed notification arrives once; an unsubscribed one (the streak milestone) does not.
                let push = String(decoding: try Fixtures.push(sha: Hex.encode(Credentials.randomBytes(20))), as: UTF8.self)
                    .replacingOccurrences(of: "2019-05-15T15:19:25Z", with: Timestamps.format(Date()))
                #expect(try await hub.postGitHub("push", Array(push.utf8), delivery: "w-1").status == 202)
                func events() -> [String] {
                    receiver.requests(to: hook).compactMap { try? JSONDecoder().decode(WebhookEnvelope.self, from: Data($0.body)).event }
                }
                let seen = try await eventually(within: 60, { events() }, until: { $0.contains("achievement.unlocked") })
                #expect(seen.filter { $0 == "achievement.unlocked" }.count == 1, "\(seen)")
                let unlocked = try #require(
                    receiver.requests(to: hook).first {
                        (try? JSONDecoder().decode(WebhookEnvelope.self, from: Data($0.body)))?.event == "achievement.unlocked"
                    })
                #expect(try JSONDecoder().decode(WebhookEnvelope.self, from: Data(unlocked.body)).data["achievement_id"] == "first_commit")

                // Rotation: both secrets sign while the old one is in its grace period.
                let rotated = try await call("POST", "/api/v1/webhooks/\(id)/rotate-secret")
                let newSecret = try #require(rotated.json?["secret"] as? String)
                #expect(newSecret != secret)
                // The receiver fails once: the delivery is retried with backoff and logged attempt by attempt.
                receiver.scripts.withLock { $0[hook] = [FakeDiscord.Answer(status: .internalServerError)] }
                let before = receiver.requests(to: hook).count
                let failing = try await call("POST", "/api/v1/webhooks/\(id)/test")
                let failingID = try #require(failing.json?["delivery_id"] as? String)
                let retried = try await eventually(within: 30, { receiver.requests(to: hook) }, until: { $0.count >= before + 2 })
                #expect(retried.count == before + 2)
                #expect(verify(retried[before + 1], secrets: [newSecret, secret]), "signed with the new and the old secret")
                #expect(retried[before].header("webhook-id") == retried[before + 1].header("webhook-id"), "the same id on a retry")
                let log = try await eventually(
                    { try await call("GET", "/api/v1/webhooks/\(id)/deliveries") },
                    until: { response in
                        ((response.json?["deliveries"] as? [[String: Any]])?.first { $0["id"] as? String == failingID })?["status"] as? String
                            == "delivered"
                    })
                let entry = try #require((log.json?["deliveries"] as? [[String: Any]])?.first { $0["id"] as? String == failingID })
                #expect((entry["attempts"] as? [[String: Any]])?.compactMap { $0["status_code"] as? Int } == [500, 204])
                #expect(entry["response_code"] as? Int == 204)
                #expect((entry["payload"] as? [String: Any])?["event"] as? String == "test")

                // Re-sending a delivery sends the original payload again, not a wrapped copy.
                let again = try await call("POST", "/api/v1/webhooks/\(id)/deliveries/\(deliveryID)/retry")
                #expect(again.status == 202)
                let resent = try await eventually(
                    { receiver.requests(to: hook).filter { $0.header("webhook-id") == deliveryID } }, until: { $0.count == 2 })
                #expect(resent.count == 2)
                #expect(resent.map(\.body).allSatisfy { $0 == first.body })
                #expect(try await call("POST", "/api/v1/webhooks/\(id)/deliveries/\(UUID().uuidString)/retry").status == 404)
                #expect(try await call("DELETE", "/api/v1/webhooks/\(id)", token: other.token).status == 404)
            }
        }
    }

    @Test func goalCreatedAndMetricsUpdatedFireOncePerOccurrence() async throws {
        let receiver = FakeDiscord()
        try await receiver.serving { base in
            try await withHub { hub in
                let user = try await hub.createUser(login: "Codertocat", githubID: 21031067)
                func call(_ method: String, _ path: String, _ body: String? = nil) async throws -> HubUnderTest.Response {
                    try await hub.api(method, path, body, token: user.token)
                }
                let hook = "200000000000000002"
                let created = try await call(
                    "POST", "/api/v1/webhooks",
                    #"{"name": "Dashboard", "url": "\#(base)/api/webhooks/\#(hook)/t", "events": ["goal.created", "metrics.updated"]}"#)
                #expect(created.status == 201, "\(created.text)")
                func envelopes() -> [WebhookEnvelope] {
                    receiver.requests(to: hook).compactMap { try? JSONDecoder().decode(WebhookEnvelope.self, from: Data($0.body)) }
                }

                let goal = try await call("POST", "/api/v1/goals", #"{"title": "Ship it", "target": 3, "unit": "commits", "period": "weekly"}"#)
                let goalID = try #require(goal.json?["id"] as? String)
                let goalEvent = try #require(try await eventually({ envelopes() }, until: { !$0.isEmpty }).first)
                #expect(goalEvent.event == "goal.created")
                #expect(goalEvent.data["goal_id"] == goalID)
                #expect(goalEvent.data["title"] == "Ship it" && goalEvent.data["target"] == "3" && goalEvent.data["unit"] == "commits")

                // New facts fire metrics.updated once; the same commit again (another delivery) is not new.
                let push = String(decoding: try Fixtures.push(sha: Hex.encode(Credentials.randomBytes(20))), as: UTF8.self)
                    .replacingOccurrences(of: "2019-05-15T15:19:25Z", with: Timestamps.format(Date()))
                #expect(try await hub.postGitHub("push", Array(push.utf8), delivery: "m-1").status == 202)
                let updated = try await eventually(within: 60, { envelopes().filter { $0.event == "metrics.updated" } }, until: { !$0.isEmpty })
                #expect(updated.first?.data["new_facts"] == "1")
                #expect(updated.first?.data["user_id"] == user.id)
                #expect(try await hub.postGitHub("push", Array(push.utf8), delivery: "m-2").status == 202)
                // A third push, new: once its event is in, the second (same partition, before it) was seen too.
                let next = String(decoding: try Fixtures.push(sha: Hex.encode(Credentials.randomBytes(20))), as: UTF8.self)
                    .replacingOccurrences(of: "2019-05-15T15:19:25Z", with: Timestamps.format(Date()))
                #expect(try await hub.postGitHub("push", Array(next.utf8), delivery: "m-3").status == 202)
                _ = try await eventually(within: 60, { envelopes().filter { $0.event == "metrics.updated" } }, until: { $0.count >= 2 })
                try await hub.deliveriesSettled(endpoint: try #require(created.json?["id"] as? String), token: user.token)
                // Deliveries are at least once: an attempt that timed out on a loaded machine is sent again with the same
                // `webhook-id` and body, which is how a receiver tells an occurrence from a retry. Once per occurrence
                // means once per `webhook-id`.
                var occurrences: [String: Data] = [:]
                for request in receiver.requests(to: hook) {
                    let id = try #require(request.header("webhook-id"))
                    #expect(occurrences[id].map { $0 == Data(request.body) } ?? true, "a retry of \(id) carries the same body")
                    occurrences[id] = Data(request.body)
                }
                let events = occurrences.values.compactMap { try? JSONDecoder().decode(WebhookEnvelope.self, from: $0) }
                #expect(events.map(\.event).sorted() == ["goal.created", "metrics.updated", "metrics.updated"], "\(events.map(\.event))")
                #expect(events.filter { $0.event == "metrics.updated" }.allSatisfy { $0.data["new_facts"] == "1" })
            }
        }
    }

    @Test func aWorkerKilledMidDeliveryResumesWithoutLosingOrRepeatingADelivery() async throws {
        let receiver = FakeDiscord()
        try await receiver.serving { base in
            try await withHub { hub in
                let user = try await hub.createUser(login: "Codertocat", githubID: 21031067)
                func call(_ method: String, _ path: String, _ body: String? = nil) async throws -> HubUnderTest.Response {
                    try await hub.api(method, path, body, token: user.token)
                }
                let hook = "200000000000000003"
                let created = try await call(
                    "POST", "/api/v1/webhooks",
                    #"{"name": "Ops", "url": "\#(base)/api/webhooks/\#(hook)/t", "events": ["test", "achievement.unlocked"]}"#)
                let endpoint = try #require(created.json?["id"] as? String)
                // The first request gets no answer: the worker is killed while it waits.
                receiver.scripts.withLock { $0[hook] = [FakeDiscord.Answer(status: .noContent, delay: .seconds(20))] }
                func queueTest() async throws -> String {
                    try #require(try await call("POST", "/api/v1/webhooks/\(endpoint)/test").json?["delivery_id"] as? String)
                }
                let inFlight = try await queueTest()
                _ = try await eventually({ receiver.requests(to: hook) }, until: { $0.count == 1 })
                let waiting = [try await queueTest(), try await queueTest()]  // behind it: one request at a time per endpoint
                hub.worker.signal(SIGKILL)
                #expect(try await hub.worker.waitForExit() == 128 + SIGKILL)

                // Accepted while no worker runs: delivered once one runs again.
                let push = String(decoding: try Fixtures.push(sha: Hex.encode(Credentials.randomBytes(20))), as: UTF8.self)
                    .replacingOccurrences(of: "2019-05-15T15:19:25Z", with: Timestamps.format(Date()))
                #expect(try await hub.postGitHub("push", Array(push.utf8), delivery: "k-1").status == 202)
                try await hub.startWorker()

                func ids() -> [String] { receiver.requests(to: hook).compactMap { $0.header("webhook-id") } }
                func events() -> [String] {
                    receiver.requests(to: hook).compactMap { try? JSONDecoder().decode(WebhookEnvelope.self, from: Data($0.body)).event }
                }
                _ = try await eventually(within: 60, { receiver.requests(to: hook).count }, until: { $0 >= 5 })
                try await hub.deliveriesSettled(endpoint: endpoint, token: user.token)  // nothing more comes
                let received = ids()
                let log = try await eventually(
                    { try await call("GET", "/api/v1/webhooks/\(endpoint)/deliveries") },
                    until: { response in
                        (response.json?["deliveries"] as? [[String: Any]])?.allSatisfy { $0["status"] as? String == "delivered" } == true
                    })
                let deliveries = log.json?["deliveries"] as? [[String: Any]] ?? []
                #expect(deliveries.count == 4)
                // A delivery goes again only after an attempt the log shows failed (on a loaded machine a 204 can come
                // later than the 3 s timeout): at least once, each repeat with the same webhook-id.
                func failedAttempts(_ id: String) -> Int {
                    let attempts = deliveries.first { $0["id"] as? String == id }?["attempts"] as? [[String: Any]] ?? []
                    return attempts.filter { $0["error"] is String }.count
                }
                #expect(received.filter { $0 == inFlight }.count == 2, "the request cut by the kill is sent again, with the same webhook-id")
                for id in waiting {
                    #expect(received.filter { $0 == id }.count == 1 + failedAttempts(id), "\(id): \(received), \(log.text.prefix(2000))")
                }
                #expect(received.count == 5 + waiting.map(failedAttempts).reduce(0, +), "\(received)")
                #expect(events().filter { $0 == "achievement.unlocked" }.count == 1)
            }
        }
    }
}
