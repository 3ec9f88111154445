import Foundation
import Hummingbird

/// An HTTP error with the documented JSON body `{"error": {"code", "message"}}`.
public struct HubHTTPError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try JSONResponse.make(ErrorBody(error: .init(code: code, message: message)), status: status)
        response.headers.append(contentsOf: headers)
        return response
    }

    /// The JSON body alone, for a route that writes its answer below Hummingbird's handlers.
    public func body() throws -> ByteBuffer {
        ByteBuffer(bytes: try JSONResponse.encode(ErrorBody(error: .init(code: code, message: message))))
    }

    struct ErrorBody: Encodable {
        struct Detail: Encodable {
            let code: String
            let message: String
        }
        let error: Detail
    }

    /// Kafka did not acknowledge in time: the sender should retry (GitHub redelivers, plugins requeue).
    public static let kafkaUnavailable = HubHTTPError(
        .serviceUnavailable, code: "kafka_unavailable", "the event stream is unavailable; retry later", headers: [.retryAfter: "5"])

    /// The embedded mock cluster's partition holds about as much unconsumed data as it keeps: wait for the workers.
    public static let kafkaBacklog = HubHTTPError(
        .serviceUnavailable, code: "kafka_backlog", "the event stream is full until the workers catch up; retry later",
        headers: [.retryAfter: "5"])

    /// PostgreSQL did not answer in time: the sender should retry.
    public static let databaseUnavailable = HubHTTPError(
        .serviceUnavailable, code: "database_unavailable", "the database is unavailable; retry later", headers: [.retryAfter: "5"])

    public static func badRequest(_ message: String, code: String = "bad_request") -> HubHTTPError {
        HubHTTPError(.badRequest, code: code, message)
    }

    public static func notFound(_ message: String) -> HubHTTPError {
        HubHTTPError(.notFound, code: "not_found", message)
    }

    public static func unauthorized(_ message: String, code: String = "unauthorized") -> HubHTTPError {
        HubHTTPError(.unauthorized, code: code, message)
    }

    public static func forbidden(_ message: String, code: String) -> HubHTTPError {
        HubHTTPError(.forbidden, code: code, message)
    }
}

public enum JSONResponse {
    /// `202 {"delivery_id":…,"status":"accepted"}`, written directly: it is ingest's hot path, and a
    /// JSONEncoder here cost 5% of its CPU.
    public static func accepted(deliveryID: String) -> Response {
        Response(
            status: .accepted, headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: acceptedBody(deliveryID: deliveryID)))
    }

    /// The body of `accepted(deliveryID:)`.
    public static func acceptedBody(deliveryID: String) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeString("{\"delivery_id\":")
        writeJSONString(deliveryID, to: &buffer)
        buffer.writeString(",\"status\":\"accepted\"}")
        return buffer
    }

    /// A JSON string literal (RFC 8259 escaping).
    public static func writeJSONString(_ text: String, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): buffer.writeString("\\\"")
            case UInt8(ascii: "\\"): buffer.writeString("\\\\")
            case 0x0A: buffer.writeString("\\n")
            case 0x0D: buffer.writeString("\\r")
            case 0x09: buffer.writeString("\\t")
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                buffer.writeString("\\u00")
                buffer.writeInteger(hex[Int(byte >> 4)])
                buffer.writeInteger(hex[Int(byte & 0xF)])
            default: buffer.writeInteger(byte)
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    /// The hub's JSON encoding, configured here once for every answer: keys sorted (stable bodies, so stable ETags),
    /// slashes as they are.
    public static func encode(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    public static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Turns unexpected errors into a JSON 500 (and logs them) and Hummingbird's own HTTP errors into the
/// same JSON shape, so every error a client sees has the documented body. It answers them itself rather than
/// rethrowing, so that the middleware outside it (metrics) sees every answer, refusals timed like the rest.
public struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let refusal: HubHTTPError
        do {
            return try await next(request, context)
        } catch let error as HubHTTPError {
            refusal = error
        } catch let error as HTTPError {
            refusal = HubHTTPError(error.status, code: Self.code(for: error.status), error.body ?? error.status.reasonPhrase, headers: error.headers)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            refusal = HubHTTPError(.contentTooLarge, code: "payload_too_large", "request body is larger than the configured limit")
        } catch {
            context.logger.error("unhandled error: \(error)", metadata: ["path": "\(request.uri.path)"])
            refusal = HubHTTPError(.internalServerError, code: "internal_error", "internal error")
        }
        return try refusal.response(from: request, context: context)
    }

    static func code(for status: HTTPResponse.Status) -> String {
        switch status {
        case .notFound: "not_found"
        case .methodNotAllowed: "method_not_allowed"
        case .badRequest: "bad_request"
        case .unauthorized: "unauthorized"
        case .contentTooLarge: "payload_too_large"
        default: "http_\(status.code)"
        }
    }
}

/// `/readyz`'s answer.
struct ReadinessBody: Encodable {
    let status: String
    let checks: [String: String]
}

/// One thing a role needs to do its work, as `/readyz` reports it: `problem` nil when it is fine.
public struct ReadinessCheck: Sendable, Equatable {
    public let name: String
    public let problem: String?

    public init(_ name: String, problem: String?) {
        self.name = name
        self.problem = problem
    }
}

extension Router {
    /// `/healthz` (the process is up) and `/readyz`: `{"status":"ready"|"not ready","checks":{name: "ok" or why}}`,
    /// 503 when any check has a problem, so a load balancer stops sending work the role cannot do.
    public func addHealthRoutes(checks: @escaping @Sendable () async -> [ReadinessCheck]) {
        get("/healthz") { _, _ in try JSONResponse.make(["status": "ok"]) }
        get("/readyz") { _, _ in
            let results = await checks()
            let ready = results.allSatisfy { $0.problem == nil }
            let body = ReadinessBody(
                status: ready ? "ready" : "not ready",
                checks: Dictionary(results.map { ($0.name, $0.problem ?? "ok") }, uniquingKeysWith: { first, _ in first }))
            return try JSONResponse.make(body, status: ready ? .ok : .serviceUnavailable)
        }
    }
}
