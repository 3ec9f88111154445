import DevTrackHTTP
import Hummingbird
import HummingbirdTesting
import MetricsTestKit
import Testing

/// `HTTPMetricsMiddleware`: every answer counted and timed by route, method and status, refusals included; a stream is
/// timed to its last byte and stays in progress until then.
struct HTTPMetricsMiddlewareTests {
    @Test func answersAreCountedAndTimedAndAStreamUntilItsLastByte() async throws {
        let metrics = TestMetrics()
        let router = Router()
        router.middlewares.add(HTTPMetricsMiddleware(factory: metrics))
        router.get("/whole") { _, _ in Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "whole"))) }
        router.get("/stream") { _, _ in
            Response(
                status: .ok,
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: "part,"))
                    try await Task.sleep(for: .milliseconds(200))
                    try await writer.write(ByteBuffer(string: "rest"))
                    try await writer.finish(nil)
                })
        }
        router.get("/refused") { _, _ -> Response in throw HTTPError(.notFound) }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/whole", method: .get) { #expect(String(buffer: $0.body) == "whole") }
            try await client.execute(uri: "/whole", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/stream", method: .get) { #expect(String(buffer: $0.body) == "part,rest") }
            try await client.execute(uri: "/refused", method: .get) { #expect($0.status == .notFound) }
        }
        func labels(_ route: String, _ status: String) -> [(String, String)] { [("route", route), ("method", "GET"), ("status", status)] }
        #expect(try metrics.expectCounter("http_server_requests_total", labels("/whole", "200")).totalValue == 2)
        #expect(try metrics.expectTimer("http_server_request_duration_seconds", labels("/whole", "200")).values.count == 2)
        #expect(try metrics.expectCounter("http_server_requests_total", labels("/refused", "404")).totalValue == 1, "refusals count")
        let stream = try metrics.expectTimer("http_server_request_duration_seconds", labels("/stream", "200")).values
        #expect(stream.count == 1 && stream[0] >= 200_000_000, "a stream is timed to its last byte: \(stream)")
        #expect(try metrics.expectMeter("http_server_active_requests", [("method", "GET")]).lastValue == 0, "none left in progress")
    }
}
