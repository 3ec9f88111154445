import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import Hummingbird
import HummingbirdAuth

/// The context of every ingest request: Hummingbird's core plus, on the heartbeat routes, the coding key and its user
/// that `CodingKeyAuthenticator` found. The webhook routes authenticate by signature over the body instead.
public struct IngestRequestContext: AuthRequestContext, RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: CodingKeyIdentity?

    public init(source: Source) {
        coreContext = .init(source: source)
        identity = nil
    }

    /// The coding key's user. Every heartbeat route sits behind `CodingKeyAuthenticator`, which refuses the request
    /// before a handler runs when there is none.
    var codingKey: CodingKeyIdentity {
        get throws {
            guard let identity else { throw HubHTTPError.unauthorized("a coding key is required") }
            return identity
        }
    }
}

/// A coding key that matched, and whose it is. The key is kept (lower-cased, without `waka_`) for the per-key rate limit.
public struct CodingKeyIdentity: Sendable {
    public let user: UserRecord
    public let key: String
}

/// Finds the coding key of a plugin's request — `Authorization: Basic base64(key)`, `Bearer key`, or `?api_key=key`, as
/// WakaTime's plugins send it — and refuses the request (401 with the documented body) before a handler runs, and before
/// any body is read, when there is none or it is unknown. Only the key's hash is compared (the original DevTrack also
/// accepted an 8-character prefix of the key, which let anyone with it in).
struct CodingKeyAuthenticator: AuthenticatorMiddleware {
    typealias Context = IngestRequestContext
    let codingKeys: CodingKeyRepository

    func authenticate(request: Request, context: IngestRequestContext) async throws -> CodingKeyIdentity? {
        guard let key = Self.presentedKey(request) else {
            throw HubHTTPError.unauthorized("a coding key is required: Authorization: Basic base64(key), Bearer <key>, or ?api_key=")
        }
        let codingKeys = self.codingKeys
        let found: UserRecord?
        do {
            found = try await Deadline.run(.seconds(2)) { try await codingKeys.user(codingKey: key) }
        } catch  where error is Deadline.Exceeded || StoreFailures.classify(error) == .transient {
            throw HubHTTPError.databaseUnavailable
        }
        guard let user = found else {
            throw HubHTTPError.unauthorized("unknown or revoked coding key", code: "invalid_key")
        }
        return CodingKeyIdentity(user: user, key: key)
    }

    static func presentedKey(_ request: Request) -> String? {
        var key: String?
        if let header = request.headers.value(of: .authorization) {
            let parts = header.split(separator: " ", maxSplits: 1).map(String.init)
            if parts.count == 2, parts[0].lowercased() == "basic" {
                let decoded = Data(base64Encoded: parts[1]).map { String(decoding: $0, as: UTF8.self) } ?? ""
                key = String(decoded.split(separator: ":", omittingEmptySubsequences: false).first ?? "")
            } else if parts.count == 2, parts[0].lowercased() == "bearer" {
                key = parts[1]
            }
        }
        key = key ?? request.uri.queryParameters["api_key"].map(String.init)
        key = key.map { ($0.hasPrefix("waka_") ? String($0.dropFirst(5)) : $0).lowercased() }
        guard let key, !key.isEmpty else { return nil }
        return key
    }
}
