import DevTrackHTTP
import DevTrackStore
import Foundation
import Hummingbird
import HummingbirdAuth

/// The context of every API request: Hummingbird's core plus the user (and credential) `CredentialAuthenticator`
/// found for it. Its request decoder is the API's JSON decoding, configured here once.
public struct APIRequestContext: AuthRequestContext, RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: Authenticated?
    /// The peer's IP address (what the public routes' rate limit counts by); "unknown" when the channel has none.
    public let clientAddress: String

    public init(source: Source) {
        coreContext = .init(source: source)
        identity = nil
        clientAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    public var requestDecoder: APIRequestDecoder { APIRequestDecoder() }

    /// The signed-in user. Every route of `/api/v1` sits behind `CredentialAuthenticator`, which refuses
    /// the request before a handler runs when there is none.
    var user: UserRecord {
        get throws {
            guard let identity else { throw HubHTTPError.unauthorized("missing Authorization: Bearer <token> header") }
            return identity.user
        }
    }
}

/// JSON request bodies: at most 1 MB (413 beyond), and a body that does not decode is 400 `invalid_body`
/// naming the field.
public struct APIRequestDecoder: RequestDecoder {
    static let maxBodyBytes = 1 << 20

    public func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        var request = request
        let body = try await request.collectBody(upTo: Self.maxBodyBytes)
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: body))
        } catch let error as DecodingError {
            throw HubHTTPError.badRequest("invalid JSON body: \(Self.describe(error))", code: "invalid_body")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context): "missing field \(path(context.codingPath + [key]))"
        case .typeMismatch(_, let context) where context.codingPath.isEmpty, .valueNotFound(_, let context) where context.codingPath.isEmpty:
            "the body must be a JSON object"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): "field \(path(context.codingPath)) has the wrong type"
        case .dataCorrupted(let context) where !context.codingPath.isEmpty:
            "field \(path(context.codingPath)) has a value out of range or of the wrong form"
        case .dataCorrupted(let context): context.debugDescription
        @unknown default: "\(error)"
        }
    }

    /// `mapping.occurred_at`, `events[1]`: the field as the client wrote it.
    static func path(_ keys: [any CodingKey]) -> String {
        keys.reduce(into: "") { text, key in
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
    }
}
