import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// A fake Discord (or any webhook receiver) on loopback, at `/api/webhooks/{id}/{token}`: each webhook id
/// answers from its script (then 204), and every request is recorded with its arrival time and headers.
public final class FakeDiscord: Sendable {
    public struct Answer: Sendable {
        public var status: HTTPResponse.Status
        public var body: String
        public var headers: [(String, String)]
        public var delay: Duration

        public init(status: HTTPResponse.Status, body: String = "", headers: [(String, String)] = [], delay: Duration = .zero) {
            self.status = status
            self.body = body
            self.headers = headers
            self.delay = delay
        }
    }

    public struct Received: Sendable {
        public let webhookID: String
        public let at: ContinuousClock.Instant
        public let body: [UInt8]
        public let headers: [(String, String)]

        public func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    public let scripts = Mutex<[String: [Answer]]>([:])
    public let received = Mutex<[Received]>([])

    public init() {}

    public func requests(to webhookID: String) -> [Received] { received.withLock { $0.filter { $0.webhookID == webhookID } } }

    /// Runs the server for `body` and gives it the base URL.
    public func serving<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("/api/webhooks/{id}/{token}") { request, context -> Response in
            let id = context.parameters.get("id") ?? ""
            var request = request
            let bytes = Array((try await request.collectBody(upTo: 1 << 20)).readableBytesView)
            let sent = request.headers.map { ($0.name.rawName, $0.value) }
            self.received.withLock { $0.append(Received(webhookID: id, at: .now, body: bytes, headers: sent)) }
            let answer = self.scripts.withLock { scripts -> Answer in
                guard var script = scripts[id], !script.isEmpty else { return Answer(status: .noContent) }
                let next = script.removeFirst()
                scripts[id] = script
                return next
            }
            if answer.delay > .zero { try await Task.sleep(for: answer.delay) }
            var headers = HTTPFields()
            for (name, value) in answer.headers { headers[HTTPField.Name(name)!] = value }
            headers[.contentType] = "application/json"
            return Response(status: answer.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        return try await serveOnLoopback(router, label: "fake-discord", body)
    }
}
