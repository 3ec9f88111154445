import DevTrackCore
import DevTrackIngest
import Dispatch
import Foundation
import HTTPTypes
import Kafka
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `POST /webhooks/github` as `devtrack ingest` serves it over loopback, where `GitHubDeliveryFastPath` answers deliveries
/// before the router: what the client gets and what Kafka holds must be what the router's route gives, its refusals must
/// be the router's, and answers on one connection must keep the order of the requests.
@Suite struct GitHubDeliveryFastPathTests {
    let push = Array(#"{"ref":"refs/heads/main","commits":[],"sender":{"login":"Codertocat","id":21031067}}"#.utf8)

    func headers(
        _ body: [UInt8], event: String = "push", delivery: String = UUID().uuidString, secret: String = IngestRouterTest.hubSecret
    )
        -> HTTPFields
    {
        IngestRouterTest.gitHubHeaders(event: event, delivery: delivery, body: body, secret: secret)
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
                    .map { "\($0.name)=\($0.stringValue ?? "")" }
            }
            #expect(sameHeaders(messages[0]) == sameHeaders(messages[1]))
            #expect(messages[0].headers.map(\.name) == messages[1].headers.map(\.name))
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
        }
    }

    @Test func answersOnOneConnectionKeepTheOrderOfItsRequests() async throws {
        try await IngestRouterTest.run(live: true) { test in
            let port = try #require(test.client.port)
            let ids = (0..<4).map { _ in UUID().uuidString }
            func request(_ path: String, delivery: String, secret: String = IngestRouterTest.hubSecret, close: Bool = false) -> String {
                let fields = headers(push, delivery: delivery, secret: secret)
                let lines =
                    fields.map { "\($0.name.rawName): \($0.value)" } + ["Host: 127.0.0.1", "Content-Length: \(push.count)"]
                    + (close ? ["Connection: close"] : [])
                return "POST \(path) HTTP/1.1\r\n" + lines.joined(separator: "\r\n") + "\r\n\r\n" + String(decoding: push, as: UTF8.self)
            }
            // All four in one write: a delivery for the fast path, a forged one for the router, a fast one, and one the router
            // takes because it asks to close the connection after its answer.
            let pipelined =
                request("/webhooks/github", delivery: ids[0]) + request("/webhooks/github", delivery: ids[1], secret: "forged")
                + request("/webhooks/github", delivery: ids[2]) + request("/webhooks/github", delivery: ids[3], close: true)
            let answer = try await exchange(port: port, sending: pipelined)
            let statuses = answer.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) }
            #expect(statuses == ["202", "401", "202", "202"], "\(answer)")
            let accepted = [ids[0], ids[2], ids[3]].compactMap { answer.range(of: $0)?.lowerBound }
            #expect(accepted.count == 3 && accepted == accepted.sorted(), "the accepted deliveries answered in order: \(answer)")
            let messages = try await test.messages(on: Topics.githubEvents, count: 3)
            #expect(Set(messages.compactMap { $0.header(RawEventHeaders.deliveryID)?.stringValue }) == [ids[0], ids[2], ids[3]])
        }
    }

    @Test func aDeliveryKafkaDoesNotTakeIsA503ToRetry() async throws {
        try await IngestRouterTest.run(live: true, producerSettings: ["message.timeout.ms": "1000"]) { test in
            let produce: Int16 = 0
            test.cluster.pushRequestErrors(apiKey: produce, errors: Array(repeating: 19, count: 10_000))  // NOT_ENOUGH_REPLICAS
            let refused = try await test.post("/webhooks/github", body: push, headers: headers(push))
            #expect(refused.status == .serviceUnavailable && refused.errorCode == "kafka_unavailable", "\(refused)")
            #expect(refused.headers[.retryAfter] == "5")
            test.cluster.clearRequestErrors(apiKey: produce)
            var accepted = false
            for _ in 0..<10 where !accepted {
                accepted = try await test.post("/webhooks/github", body: push, headers: headers(push)).status == .accepted
            }
            #expect(accepted, "deliveries are accepted again once Kafka takes them")
        }
    }

    /// Sends `text` on a new connection and reads until the server closes it (on a thread of its own: the calls block).
    func exchange(port: Int, sending text: String) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try Self.blockingExchange(port: port, sending: Array(text.utf8)) })
            }
        }
    }

    static func blockingExchange(port: Int, sending bytes: [UInt8]) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketFailure(step: "socket") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw SocketFailure(step: "connect") }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, bytes.count, 0) }) == bytes.count else { throw SocketFailure(step: "send") }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 { return String(decoding: received, as: UTF8.self) }
            guard count > 0 else { throw SocketFailure(step: "recv (\(received.count) bytes so far)") }
            received += buffer[0..<count]
        }
    }

    struct SocketFailure: Error { let step: String }
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
