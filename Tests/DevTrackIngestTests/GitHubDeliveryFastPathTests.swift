import DevTrackCore
import DevTrackIngest
import DevTrackTestSupport
import Dispatch
import Foundation
import HTTPTypes
import Kafka
import Testing

/// `POST /webhooks/github` as `devtrack ingest` serves it over loopback, where `GitHubDeliveryFastPath` answers deliveries
/// before the router: what the client gets and what Kafka holds must be what the router's route gives, its refusals must
/// be the router's, and answers on one connection must keep the order of the requests, of its events (a half-close) and
/// of its errors (a malformed request). `test.fastPathAnswers` tells which requests the fast path answered itself.
@Suite struct GitHubDeliveryFastPathTests {
    let push = Array(#"{"ref":"refs/heads/main","commits":[],"sender":{"login":"Codertocat","id":21031067}}"#.utf8)

    func headers(
        _ body: [UInt8], event: String = "push", delivery: String = UUID().uuidString, secret: String = IngestRouterTest.hubSecret
    )
        -> HTTPFields
    {
        IngestRouterTest.gitHubHeaders(event: event, delivery: delivery, body: body, secret: secret)
    }

    /// A delivery of `push` as raw HTTP/1.1, for a connection written to by hand.
    func request(_ path: String, delivery: String, secret: String = IngestRouterTest.hubSecret, close: Bool = false) -> String {
        let fields = headers(push, delivery: delivery, secret: secret)
        let lines =
            fields.map { "\($0.name.rawName): \($0.value)" } + ["Host: 127.0.0.1", "Content-Length: \(push.count)"]
            + (close ? ["Connection: close"] : [])
        return "POST \(path) HTTP/1.1\r\n" + lines.joined(separator: "\r\n") + "\r\n\r\n" + String(decoding: push, as: UTF8.self)
    }

    /// The status codes of the answers in `text`, in order.
    func statuses(_ text: String) -> [String] {
        text.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) }
    }

    @Test func aDeliveryAnsweredBeforeTheRouterGetsTheRoutersAnswerAndMessage() async throws {
        try await IngestRouterTest.run(live: true) { test in
            let fast = UUID().uuidString
            let routed = UUID().uuidString
            // A query string is not the fast path's path, so the second goes through the router's route.
            let first = try await test.post("/webhooks/github", body: push, headers: headers(push, delivery: fast))
            let second = try await test.post("/webhooks/github?via=router", body: push, headers: headers(push, delivery: routed))
            for (response, id) in [(first, fast), (second, routed)] {
                #expect(response.status == .accepted, "\(response)")
                #expect(response.json?["delivery_id"] as? String == id)
                #expect(response.json?["status"] as? String == "accepted")
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                #expect(response.headers[.server] == IngestRouterTest.serverName)
                #expect(response.headers[.date].flatMap { HTTPDateParser.date(from: $0) } != nil, "an HTTP date: \(response.headers)")
            }
            let messages = try await test.messages(on: Topics.githubEvents, count: 2)
            #expect(messages.map { $0.header(RawEventHeaders.deliveryID)?.stringValue } == [fast, routed])
            #expect(messages[0].key == messages[1].key && messages[0].key == Array("21031067".utf8), "keyed by the sender id")
            #expect(messages[0].value == push && messages[1].value == push)
            func sameHeaders(_ message: KafkaMessage) -> [String] {
                message.headers.filter { $0.name != RawEventHeaders.deliveryID && $0.name != RawEventHeaders.receivedAt }
                    .map { "\($0.name)=\($0.stringValue)" }
            }
            #expect(sameHeaders(messages[0]) == sameHeaders(messages[1]))
            #expect(messages[0].headers.map(\.name) == messages[1].headers.map(\.name))
            #expect(try test.fastPathAnswers("202") == 1, "the first answered below the router, the second by it")
        }
    }

    @Test func refusalsAndPingsAreTheRoutersAnswers() async throws {
        try await IngestRouterTest.run(live: true) { test in
            let forged = try await test.post("/webhooks/github", body: push, headers: headers(push, secret: "not-the-secret"))
            #expect(forged.status == .unauthorized && forged.errorCode == "signature_mismatch", "\(forged)")
            let ping = Array(#"{"zen":"Keep it logically awesome.","hook_id":1}"#.utf8)
            let pong = try await test.post("/webhooks/github", body: ping, headers: headers(ping, event: "ping"))
            #expect(pong.status == .ok && pong.json?["status"] as? String == "pong", "\(pong)")
            var text = headers(push)
            text[.contentType] = "text/plain"
            let unsupported = try await test.post("/webhooks/github", body: push, headers: text)
            #expect(unsupported.status == .unsupportedMediaType && unsupported.errorCode == "unsupported_media_type", "\(unsupported)")
            let notJSON = Array("[1,2".utf8)
            let broken = try await test.post("/webhooks/github", body: notJSON, headers: headers(notJSON))
            #expect(broken.status == .badRequest && broken.errorCode == "invalid_body", "\(broken)")
            _ = try await test.messages(on: Topics.githubEvents, count: 0)
            #expect(try test.fastPathAnswers("202") == 0 && test.fastPathAnswers("503") == 0, "every refusal is the router's")
        }
    }

    @Test func answersOnOneConnectionKeepTheOrderOfItsRequests() async throws {
        try await IngestRouterTest.run(live: true) { test in
            let port = try #require(test.client.port)
            let ids = (0..<5).map { _ in UUID().uuidString }
            // All five in one write: two deliveries for the fast path (the second held while the first waits for Kafka), a
            // forged one for the router, one the router takes because it still owes the forged one's answer when it comes,
            // and one the router takes because it asks to close the connection after its answer.
            let pipelined =
                request("/webhooks/github", delivery: ids[0]) + request("/webhooks/github", delivery: ids[1])
                + request("/webhooks/github", delivery: ids[2], secret: "forged") + request("/webhooks/github", delivery: ids[3])
                + request("/webhooks/github", delivery: ids[4], close: true)
            let answer = try await LoopbackExchange.run(port: port, sending: pipelined)
            #expect(statuses(answer) == ["202", "202", "401", "202", "202"], "\(answer)")
            let accepted = [ids[0], ids[1], ids[3], ids[4]].compactMap { answer.range(of: $0)?.lowerBound }
            #expect(accepted.count == 4 && accepted == accepted.sorted(), "the accepted deliveries answered in order: \(answer)")
            let messages = try await test.messages(on: Topics.githubEvents, count: 4)
            #expect(messages.compactMap { $0.header(RawEventHeaders.deliveryID)?.stringValue } == [ids[0], ids[1], ids[3], ids[4]])
            let fast = try test.fastPathAnswers("202")
            #expect(fast == 2, "the first two below the router: \(fast)")
        }
    }

    @Test func manyPipelinedDeliveriesAreHeldInTurnAndAllAnsweredInOrder() async throws {
        try await IngestRouterTest.run(live: true) { test in
            // More than the handler holds while one waits (`maxHeldBytes`): reading stops, and starts again as they are taken.
            let ids = (0..<100).map { _ in UUID().uuidString }
            let pipelined = ids.enumerated().map { request("/webhooks/github", delivery: $1, close: $0 == ids.count - 1) }.joined()
            let answer = try await LoopbackExchange.run(port: try #require(test.client.port), sending: pipelined)
            #expect(statuses(answer) == Array(repeating: "202", count: ids.count), "\(answer.prefix(2000))")
            let positions = ids.compactMap { answer.range(of: $0)?.lowerBound }
            #expect(positions.count == ids.count && positions == positions.sorted(), "answered in the order they came")
            let messages = try await test.messages(on: Topics.githubEvents, count: ids.count)
            #expect(messages.compactMap { $0.header(RawEventHeaders.deliveryID)?.stringValue } == ids)
            let fast = try test.fastPathAnswers("202")
            #expect(fast == 99, "all but the last (Connection: close) below the router: \(fast)")
        }
    }

    @Test func aClientThatHalfClosesAfterItsDeliveryStillGetsItsAnswer() async throws {
        try await IngestRouterTest.run(live: true) { test in
            let id = UUID().uuidString
            // The end of the client's input reaches the server while Kafka has not answered yet: held, it must not end the
            // connection before the 202 (Hummingbird allows half-closed connections, and closes when its stream ends).
            let answer = try await LoopbackExchange.run(
                port: try #require(test.client.port), sending: request("/webhooks/github", delivery: id), halfClose: true)
            #expect(statuses(answer) == ["202"] && answer.contains(id), "\(answer)")
            #expect(try test.fastPathAnswers("202") == 1)
            _ = try await test.messages(on: Topics.githubEvents, count: 1)
        }
    }

    @Test func aMalformedRequestBehindADeliveryIsAnswered400AfterIt() async throws {
        try await IngestRouterTest.run(live: true) { test in
            let id = UUID().uuidString
            // The parser's error comes while the delivery waits for Kafka; the router answers it 400 and closes, after the 202.
            let answer = try await LoopbackExchange.run(
                port: try #require(test.client.port), sending: request("/webhooks/github", delivery: id) + "NOT HTTP AT ALL\r\n\r\n")
            #expect(statuses(answer) == ["202", "400"] && answer.contains(id), "\(answer)")
            #expect(try test.fastPathAnswers("202") == 1)
            _ = try await test.messages(on: Topics.githubEvents, count: 1)
        }
    }

    @Test func aDeliveryKafkaDoesNotTakeIsA503ToRetry() async throws {
        try await IngestRouterTest.run(live: true, producerSettings: ["message.timeout.ms": "1000"]) { test in
            let produce: Int16 = 0
            test.cluster.pushRequestErrors(apiKey: produce, errors: Array(repeating: 19, count: 10_000))  // NOT_ENOUGH_REPLICAS
            let refused = try await test.post("/webhooks/github", body: push, headers: headers(push))
            #expect(refused.status == .serviceUnavailable && refused.errorCode == "kafka_unavailable", "\(refused)")
            #expect(refused.headers[.retryAfter] == "5")
            #expect(try test.fastPathAnswers("503") == 1, "Kafka's refusal is answered below the router")
            test.cluster.clearRequestErrors(apiKey: produce)
            var accepted = false
            for _ in 0..<10 where !accepted {
                accepted = try await test.post("/webhooks/github", body: push, headers: headers(push)).status == .accepted
            }
            #expect(accepted, "deliveries are accepted again once Kafka takes them")
        }
    }
}

/// Parses an IMF-fixdate, to check that a `Date` header is one.
enum HTTPDateParser {
    static func date(from text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.date(from: text)
    }
}
