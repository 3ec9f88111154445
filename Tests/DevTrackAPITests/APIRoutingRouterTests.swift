import Foundation
import Hummingbird
import Testing

/// What the API router does around the controllers (`Roles.api`): 405 with `Allow` for a served path asked
/// with another method, a JSON 404 for unknown paths, and the bearer scheme read case-insensitively.
@Suite(.timeLimit(.minutes(2)))
struct APIRoutingRouterTests {
    @Test func aServedPathWithAnotherMethodIs405WithAllow() async throws {
        try await APIRouterTest.run { api in
            let id = UUID().uuidString.lowercased()
            for (method, path, allow) in [
                (HTTPRequest.Method.put, "/api/v1/me", "DELETE, GET"), (.put, "/api/v1/goals/\(id)", "DELETE, GET, PATCH"),
                (.get, "/api/v1/notifications/read-all", "POST"), (.put, "/api/v1/settings", "GET, PATCH"),
                (.get, "/api/v1/webhooks/\(id)/test", "POST"), (.delete, "/api/v1/streak/freezes", "GET, POST"),
            ] {
                for authorization in [nil, "Bearer \(api.user.token)"] {
                    let response = try await api.send(method, path, authorization: authorization)
                    expectError(response, .methodNotAllowed, "method_not_allowed", naming: "\(method)", "\(method) \(path)")
                    #expect(response.headers[.allow] == allow, "\(method) \(path) → \(response.headers)")
                }
            }
        }
    }

    @Test func anUnknownPathIsAJSON404() async throws {
        try await APIRouterTest.run { api in
            for path in ["/api/v1/nothing-here", "/api/v1/goals/\(UUID().uuidString)/nothing", "/api/v2/me", "/"] {
                expectError(try await api.call(.get, path), .notFound, "not_found", "GET \(path)")
            }
        }
    }

    @Test func theBearerSchemeIsReadInAnyCase() async throws {
        try await APIRouterTest.run { api in
            for scheme in ["Bearer", "bearer", "BEARER"] {
                let response = try await api.send(.get, "/api/v1/me", authorization: "\(scheme) \(api.user.token)")
                #expect(response.status == .ok && response.value("login", as: String.self) == "Codertocat", "\(scheme) → \(response)")
            }
        }
    }
}
