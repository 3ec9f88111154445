import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import Foundation
import HTTPTypes
import Hummingbird

/// The signed-in user's account (`/api/v1/me`): who they are, and leaving. Deleting needs the login typed again
/// (`confirm_login`), so that no stray request, script or shared token removes an account by accident.
struct MeController: Sendable {
    let accounts: AccountRepository
    let publicProfiles: PublicProfiles
    let secureCookies: Bool

    func addRoutes(to v1: RouterGroup<APIRequestContext>) {
        v1.get("/me") { _, context in
            try JSONResponse.make(MeBody(try context.user))
        }
        v1.delete("/me") { request, context in
            let user = try context.user
            let body = try await request.decode(as: AccountDeletionRequest.self, context: context)
            guard let typed = body.confirmLogin, typed.lowercased() == user.login.lowercased() else {
                throw HubHTTPError.badRequest(
                    "confirm_login must be your login (\(user.login)) to delete the account and all of its data", code: "confirmation_mismatch")
            }
            guard let deletion = try await accounts.deleteAccount(userID: user.id) else {
                throw HubHTTPError.notFound("no user \(user.login)")
            }
            publicProfiles.forget(login: user.login)
            // A browser's session went with the account: its cookies go too.
            var response = try JSONResponse.make(deletion)
            response.headers.append(HTTPField(name: .setCookie, value: SessionCookies.clear(SessionCookies.session, secure: secureCookies)))
            response.headers.append(
                HTTPField(
                    name: .setCookie, value: SessionCookies.clear(SessionCookies.csrf, httpOnly: false, sameSite: "Strict", secure: secureCookies)))
            return response
        }
    }
}

struct AccountDeletionRequest: Decodable {
    let confirmLogin: String?

    enum CodingKeys: String, CodingKey {
        case confirmLogin = "confirm_login"
    }
}

struct MeBody: Encodable {
    let id: String
    let login: String
    let githubID: Int64?
    let timezone: String
    enum CodingKeys: String, CodingKey {
        case id, login, timezone
        case githubID = "github_id"
    }
    init(_ user: UserRecord) {
        id = user.id.uuidString.lowercased()
        login = user.login
        githubID = user.githubID
        timezone = user.timezone
    }
}
