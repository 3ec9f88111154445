import DevTrackCore
import DevTrackTestSupport
import Foundation
import HTTPTypes
import Kafka
import Testing

/// The validation and error matrix of the ingest server's three doors, as a sender sees it: status and error code of
/// each refusal, and what an accepted request put on Kafka.
@Suite(.timeLimit(.minutes(3)))
struct IngestRouterTests {
    // MARK: GitHub webhooks

    @Test func aGitHubDeliveryIsRefusedForEachWrongHeaderSignatureOrBody() async throws {
        try await IngestRouterTest.run { ingest in
            let body = try Fixtures.push(sha: String(repeating: "a", count: 40))
            let secret = IngestRouterTest.hubSecret
            func post(_ headers: HTTPFields, _ bytes: [UInt8] = body) async throws -> IngestResponse {
                try await ingest.post("/webhooks/github", body: bytes, headers: headers)
            }
            var headers = IngestRouterTest.gitHubHeaders(body: body, secret: secret)
            headers[.gitHubEvent] = nil
            var expected: [(IngestResponse, HTTPResponse.Status, String)] = [(try await post(headers), .badRequest, "missing_header")]
            headers = IngestRouterTest.gitHubHeaders(body: body, secret: secret)
            headers[.gitHubDelivery] = nil
            expected.append((try await post(headers), .badRequest, "missing_header"))
            headers = IngestRouterTest.gitHubHeaders(delivery: "bad\u{1}id", body: body, secret: secret)
            expected.append((try await post(headers), .badRequest, "invalid_header"))
            headers = IngestRouterTest.gitHubHeaders(event: String(repeating: "e", count: 101), body: body, secret: secret)
            expected.append((try await post(headers), .badRequest, "invalid_header"))
            expected.append((try await post(IngestRouterTest.gitHubHeaders(body: body, secret: nil)), .unauthorized, "signature_missing"))
            headers = IngestRouterTest.gitHubHeaders(body: body, secret: nil)
            headers[.hubSignature256] = "sha1=0123"
            expected.append((try await post(headers), .unauthorized, "signature_malformed"))
            expected.append((try await post(IngestRouterTest.gitHubHeaders(body: body, secret: "other")), .unauthorized, "signature_mismatch"))
            headers = IngestRouterTest.gitHubHeaders(body: body, secret: secret)
            headers[.contentType] = "text/plain"
            expected.append((try await post(headers), .unsupportedMediaType, "unsupported_media_type"))
            let notJSON = Array("not json".utf8)
            expected.append((try await post(IngestRouterTest.gitHubHeaders(body: notJSON, secret: secret), notJSON), .badRequest, "invalid_body"))
            let form = Array("other=1".utf8)
            headers = IngestRouterTest.gitHubHeaders(body: form, secret: secret)
            headers[.contentType] = "application/x-www-form-urlencoded"
            expected.append((try await post(headers, form), .badRequest, "invalid_body"))
            let large = [UInt8](repeating: 0x20, count: IngestRouterTest.maxBodyBytes + 1)
            expected.append(
                (try await post(IngestRouterTest.gitHubHeaders(body: large, secret: secret), large), .contentTooLarge, "payload_too_large"))
            for (response, status, code) in expected {
                #expect(response.status == status && response.errorCode == code, "wanted \(status.code) \(code), got \(response)")
            }
            // Nothing refused reached Kafka: the one accepted delivery is the only message.
            let accepted = try await post(IngestRouterTest.gitHubHeaders(delivery: "the-one", body: body, secret: secret))
            #expect(accepted.status == .accepted && accepted.json?["delivery_id"] as? String == "the-one", "\(accepted)")
            let messages = try await ingest.messages(on: Topics.githubEvents, count: 1)
            #expect(messages.first?.value == body && messages.first?.header(RawEventHeaders.deliveryID)?.stringValue == "the-one")
        }
    }

    @Test func aPingIsAnsweredAndAFormEncodedPayloadIsAccepted() async throws {
        try await IngestRouterTest.run { ingest in
            let ping = try Fixtures.data("ping/repo-hook.json")
            let pong = try await ingest.post(
                "/webhooks/github", body: Array(ping),
                headers: IngestRouterTest.gitHubHeaders(event: "ping", delivery: "p-1", body: Array(ping), secret: IngestRouterTest.hubSecret))
            #expect(pong.status == .ok && pong.json?["status"] as? String == "pong", "\(pong)")
            let payload = try Fixtures.push(sha: String(repeating: "b", count: 40))
            let encoded = String(decoding: payload, as: UTF8.self).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let form = Array("payload=\(encoded)".utf8)
            var headers = IngestRouterTest.gitHubHeaders(delivery: "f-1", body: form, secret: IngestRouterTest.hubSecret)
            headers[.contentType] = "application/x-www-form-urlencoded"
            let accepted = try await ingest.post("/webhooks/github", body: form, headers: headers)
            #expect(accepted.status == .accepted, "\(accepted)")
            let messages = try await ingest.messages(on: Topics.githubEvents, count: 1)
            #expect(messages.first?.header(RawEventHeaders.deliveryID)?.stringValue == "f-1", "the ping is not produced")
        }
    }

    @Test func aSourcesURLNeedsAnEnabledGitHubSourceAndItsOwnSecret() async throws {
        try await IngestRouterTest.run(hubSecret: nil) { ingest in
            let body = try Fixtures.push(sha: String(repeating: "c", count: 40))
            let github = try await ingest.source(kind: "github")
            let disabled = try await ingest.source(kind: "github", enabled: false)
            let custom = try await ingest.source(kind: "custom")
            func post(_ path: String, secret: String) async throws -> IngestResponse {
                try await ingest.post(path, body: body, headers: IngestRouterTest.gitHubHeaders(body: body, secret: secret))
            }
            let hubWide = try await post("/webhooks/github", secret: IngestRouterTest.hubSecret)
            #expect(hubWide.status == .notFound && hubWide.errorCode == "not_found", "no GitHub App secret: \(hubWide)")
            #expect(try await post("/webhooks/github/not-a-uuid", secret: github.secret).status == .notFound)
            #expect(try await post("/webhooks/github/\(UUID())", secret: github.secret).status == .notFound)
            #expect(try await post("/webhooks/github/\(custom.id)", secret: custom.secret).status == .notFound, "a custom source's id")
            let gone = try await post("/webhooks/github/\(disabled.id)", secret: disabled.secret)
            #expect(gone.status == .gone && gone.errorCode == "source_disabled", "\(gone)")
            let otherSecret = try await post("/webhooks/github/\(github.id)", secret: disabled.secret)
            #expect(otherSecret.errorCode == "signature_mismatch", "\(otherSecret)")
            let accepted = try await post("/webhooks/github/\(github.id)", secret: github.secret)
            #expect(accepted.status == .accepted, "\(accepted)")
            let messages = try await ingest.messages(on: Topics.githubEvents, count: 1)
            #expect(messages.first?.header(RawEventHeaders.sourceID)?.stringValue == github.id.uuidString.lowercased())
        }
    }

    // MARK: Custom webhooks

    @Test func aCustomDeliveryIsCheckedForItsSignatureTimestampAndEvents() async throws {
        try await IngestRouterTest.run { ingest in
            let source = try await ingest.source(kind: "custom")
            let key = try #require(StandardWebhooks.key(of: source.secret))
            let body = Array(#"{"type": "deploy", "occurred_at": "\#(Timestamps.format(Date()))"}"#.utf8)
            func post(
                id: String = "msg-1", at timestamp: Int = Int(Date().timeIntervalSince1970), body: [UInt8] = body, key: [UInt8]
            ) async throws
                -> IngestResponse
            {
                let headers: HTTPFields = [
                    .init(StandardWebhooks.idHeader)!: id, .init(StandardWebhooks.timestampHeader)!: "\(timestamp)",
                    .init(StandardWebhooks.signatureHeader)!: StandardWebhooks.signature(id: id, timestamp: timestamp, body: body, key: key),
                    .contentType: "application/json",
                ]
                return try await ingest.post("/webhooks/custom/\(source.id)", body: body, headers: headers)
            }
            let unsigned = try await ingest.post("/webhooks/custom/\(source.id)", body: body, headers: [.contentType: "application/json"])
            #expect(unsigned.status == .unauthorized && unsigned.errorCode == "signature_missing", "\(unsigned)")
            let mismatch = try await post(key: Credentials.randomBytes(32))
            #expect(mismatch.errorCode == "signature_mismatch", "\(mismatch)")
            let stale = try await post(at: Int(Date().timeIntervalSince1970) - 3600, key: key)
            #expect(stale.status == .unauthorized && stale.errorCode == "timestamp_stale", "\(stale)")
            let badEvents = Array(#"{"type": "deploy"}"#.utf8)
            let invalid = try await post(body: badEvents, key: key)
            #expect(invalid.status == .badRequest && invalid.errorCode == "invalid_body", "\(invalid)")
            #expect(try await post(key: key).status == .accepted)
            let unknown = try await ingest.post("/webhooks/custom/\(UUID())", body: body, headers: [:])
            #expect(unknown.status == .notFound, "\(unknown)")
            let messages = try await ingest.messages(on: Topics.customEvents, count: 1)
            #expect(messages.first?.header(RawEventHeaders.webhookID)?.stringValue == "msg-1")
        }
    }

    // MARK: Heartbeats

    @Test func everyHeartbeatRouteNeedsAKnownCodingKeyInAnyOfItsThreeForms() async throws {
        try await IngestRouterTest.run { ingest in
            let routes: [(HTTPRequest.Method, String)] = [
                (.post, "/api/v1/heartbeats"), (.post, "/api/compat/wakatime/v1/users/current/heartbeats"),
                (.post, "/api/compat/wakatime/v1/users/current/heartbeats.bulk"), (.get, "/api/compat/wakatime/v1/users/current/statusbar/today"),
                (.get, "/api/compat/wakatime/v1/users/current/summaries"), (.post, "/api/local-coding/sync"), (.get, "/api/local-coding/sync"),
            ]
            for (method, path) in routes {
                let none = try await ingest.send(method, path, body: method == .post ? Array("[]".utf8) : nil)
                #expect(none.status == .unauthorized && none.errorCode == "unauthorized", "\(path): \(none)")
                let unknown = try await ingest.send(method, path, headers: [.authorization: "Bearer \(UUID())"])
                #expect(unknown.status == .unauthorized && unknown.errorCode == "invalid_key", "\(path): \(unknown)")
            }
            let key = ingest.codingKey
            let forms: [(String, HTTPFields)] = [
                ("?api_key=waka_\(key)", [:]), ("", [.authorization: "Bearer \(key.uppercased())"]),
                ("", [.authorization: "Basic \(Data("\(key):".utf8).base64EncodedString())"]),
            ]
            for (query, headers) in forms {
                let today = try await ingest.send(.get, "/api/compat/wakatime/v1/users/current/statusbar/today\(query)", headers: headers)
                #expect(today.status == .ok && today.json?["data"] != nil, "\(headers) \(query): \(today)")
            }
        }
    }

    @Test func heartbeatsAreValidatedItemByItemAndOnlyTheValidOnesProduced() async throws {
        try await IngestRouterTest.run { ingest in
            let auth: HTTPFields = [.authorization: "Bearer \(ingest.codingKey)", .contentType: "application/json"]
            let now = Date().timeIntervalSince1970
            func heartbeat(_ entity: String, time: Double) -> String { #"{"entity": "\#(entity)", "type": "file", "time": \#(time)}"# }
            let bulkPath = "/api/compat/wakatime/v1/users/current/heartbeats.bulk"
            let bulk = try await ingest.post(
                bulkPath,
                body: Array(
                    "[\(heartbeat("/a.swift", time: now)), \(heartbeat("", time: now)), \(heartbeat("/b.swift", time: now - 30 * 86_400))]".utf8),
                headers: auth)
            #expect(bulk.status == .created, "\(bulk)")
            let slots = (bulk.json?["responses"] as? [[Any]])?.map { $0.last as? Int }
            #expect(slots == [201, 400, 400], "the empty entity and the 30-day-old heartbeat are refused in their slots: \(bulk)")
            let single = try await ingest.post("/api/v1/heartbeats", body: Array(heartbeat("", time: now).utf8), headers: auth)
            #expect(single.status == .badRequest && single.errorCode == "invalid_heartbeat", "\(single)")
            let notHeartbeats = try await ingest.post("/api/v1/heartbeats", body: Array("not json".utf8), headers: auth)
            #expect(notHeartbeats.status == .badRequest && notHeartbeats.errorCode == "invalid_body", "\(notHeartbeats)")
            let four = "[" + (0..<4).map { heartbeat("/f\($0)", time: now) }.joined(separator: ",") + "]"
            let tooMany = try await ingest.post(bulkPath, body: Array(four.utf8), headers: auth)
            #expect(tooMany.status == .contentTooLarge && tooMany.errorCode == "batch_too_large", "\(tooMany)")
            let messages = try await ingest.messages(on: Topics.codingHeartbeats, count: 1)
            let batch = try JSONDecoder().decode(HeartbeatBatch.self, from: Data(messages[0].value ?? []))
            #expect(batch.userID == ingest.user.id && batch.heartbeats.map(\.entity) == ["/a.swift"])
        }
    }

    @Test func theOriginalPluginsSyncIsValidatedAndRateLimitedPerKey() async throws {
        try await IngestRouterTest.run { ingest in
            let auth: HTTPFields = [.authorization: "Bearer \(ingest.codingKey)", .contentType: "application/json"]
            let today = LocalDate(Date(), in: .gmt)
            let invalid = try await ingest.post("/api/local-coding/sync", body: Array(#"{"sessions": 3}"#.utf8), headers: auth)
            #expect(invalid.status == .badRequest && invalid.errorCode == "invalid_body", "\(invalid)")
            let day = #"{"sessions": [{"date": "\#(today)", "totalSeconds": 600}]}"#
            let synced = try await ingest.post("/api/local-coding/sync", body: Array(day.utf8), headers: auth)
            #expect(synced.status == .ok && synced.json?["synced"] as? Int == 1, "\(synced)")
            let limited = try await ingest.post("/api/local-coding/sync", body: Array(day.utf8), headers: auth)
            #expect(limited.status == .tooManyRequests && limited.errorCode == "rate_limited", "the third in a minute: \(limited)")
            #expect(limited.headers[.retryAfter] == "60")
            let days = try await ingest.send(.get, "/api/local-coding/sync?days=8", headers: auth)
            #expect(days.status == .badRequest && days.errorCode == "invalid_days", "\(days)")
            let summaries = try await ingest.send(
                .get, "/api/compat/wakatime/v1/users/current/summaries?start=yesterday&end=2026-13-01", headers: auth)
            #expect(summaries.status == .badRequest && summaries.errorCode == "invalid_date", "\(summaries)")
        }
    }
}
