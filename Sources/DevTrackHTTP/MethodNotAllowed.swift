import Hummingbird

/// A request whose path is served, but not with its method, is answered 405 `method_not_allowed` with `Allow`
/// (RFC 9110), not 404: Hummingbird's router only knows "not found". Add it last, after every route: it wraps
/// only the router's not-found answer.
public struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Each route's path split into segments (nil: a parameter), with its methods.
    let routes: [(segments: [Substring?], methods: [String])]

    public init(routes: [(path: String, method: String)]) {
        var byPath: [String: [String]] = [:]
        for route in routes { byPath[route.path, default: []].append(route.method) }
        self.routes = byPath.map { path, methods in
            (Self.segments(path).map { $0.hasPrefix(":") || $0.hasPrefix("{") ? nil : $0 }, methods.sorted())
        }
    }

    static func segments(_ path: some StringProtocol) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true).map { Substring($0) }
    }

    /// Segment by segment, a parameter matching any; a trailing `**` matches one or more remaining segments.
    static func matches(_ route: [Substring?], _ path: [Substring]) -> Bool {
        if let last = route.last, last == "**" {
            let fixed = route.dropLast()
            return path.count > fixed.count && zip(fixed, path).allSatisfy { $0.0 == nil || $0.0 == $0.1 }
        }
        return route.count == path.count && zip(route, path).allSatisfy { $0.0 == nil || $0.0 == $0.1 }
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let path = Self.segments(request.uri.path)
            let allowed = routes.filter { Self.matches($0.segments, path) }.flatMap(\.methods)
            guard !allowed.isEmpty else { throw error }
            let methods = Array(Set(allowed)).sorted().joined(separator: ", ")
            throw HubHTTPError(
                .methodNotAllowed, code: "method_not_allowed", "\(request.method) is not served here; use \(methods)",
                headers: [.allow: methods])
        }
    }
}

extension Router {
    /// Answers 405 for known paths requested with another method (call after every route is added).
    public func addMethodNotAllowed() {
        middlewares.add(MethodNotAllowedMiddleware(routes: routes.map { ("\($0.path)", $0.method.rawValue) }))
    }
}
