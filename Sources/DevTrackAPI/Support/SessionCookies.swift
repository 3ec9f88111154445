import Foundation
import HTTPTypes
import Hummingbird

/// The cookies and header of browser sign-in, written in one place.
enum SessionCookies {
    /// The session (HttpOnly: no script reads it).
    static let session = "devtrack_session"
    /// The session's CSRF token, readable by the hub's own pages, which echo it in `X-CSRF-Token`.
    static let csrf = "devtrack_csrf"
    /// The nonce binding a started sign-in to this browser (only sent back to `/auth/github`).
    static let oauth = "devtrack_oauth"
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!

    /// A `Set-Cookie` value. `secure` follows the public URL's scheme (a cookie marked Secure is never sent
    /// over plain http, which a loopback development hub uses).
    static func set(
        _ name: String, _ value: String, maxAge: Int, path: String = "/", httpOnly: Bool = true, sameSite: String = "Lax", secure: Bool
    ) -> String {
        var parts = ["\(name)=\(value)", "Path=\(path)", "Max-Age=\(maxAge)", "SameSite=\(sameSite)"]
        if httpOnly { parts.append("HttpOnly") }
        if secure { parts.append("Secure") }
        return parts.joined(separator: "; ")
    }

    /// Removes a cookie (with the attributes it was set with, as browsers match them).
    static func clear(_ name: String, path: String = "/", httpOnly: Bool = true, sameSite: String = "Lax", secure: Bool) -> String {
        set(name, "", maxAge: 0, path: path, httpOnly: httpOnly, sameSite: sameSite, secure: secure)
    }
}
