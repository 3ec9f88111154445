import Crypto
import Foundation

/// Random credentials and their storage forms. Tokens and keys are stored only as SHA-256 hashes;
/// webhook secrets, which the hub must read back to verify signatures, are sealed with AES-GCM.
public enum Credentials {
    /// A random token such as `dtk_3f9a…` (32 random bytes, hex).
    public static func newToken(prefix: String) -> String {
        prefix + Hex.encode(randomBytes(32))
    }

    /// A random webhook secret (32 random bytes, hex), as GitHub's UI accepts and shows.
    public static func newWebhookSecret() -> String {
        Hex.encode(randomBytes(32))
    }

    /// What is stored for a bearer token or API key: hex SHA-256.
    public static func hash(_ token: String) -> String {
        Hex.encode(SHA256.hash(data: Array(token.utf8)))
    }

    /// Compares two hashes in time independent of where they differ.
    public static func sameHash(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// Random bytes in unpadded base64url: OAuth `state` values and PKCE verifiers (RFC 7636 §4.1).
    public static func newURLSafeToken(bytes: Int = 32) -> String {
        Base64URL.encode(randomBytes(bytes))
    }

    public static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}

/// Seals secrets at rest with AES-256-GCM under the operator's encryption key.
public struct SecretBox: Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case badKey(String)
        case cannotOpen

        public var description: String {
            switch self {
            case .badKey(let reason): "encryption key: \(reason)"
            case .cannotOpen: "sealed secret cannot be opened with the configured encryption key"
            }
        }
    }

    private let key: SymmetricKey

    /// `base64Key` must decode to 32 bytes (`openssl rand -base64 32`).
    public init(base64Key: String) throws(Failure) {
        guard let data = Data(base64Encoded: base64Key.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw .badKey("not valid base64")
        }
        guard data.count == 32 else { throw .badKey("decodes to \(data.count) bytes, expected 32") }
        self.key = SymmetricKey(data: data)
    }

    public static func newBase64Key() -> String {
        Data(Credentials.randomBytes(32)).base64EncodedString()
    }

    /// nonce ‖ ciphertext ‖ tag.
    public func seal(_ plaintext: String) -> [UInt8] {
        // AES-GCM sealing with a fresh random nonce cannot fail for in-memory input.
        let box = try! AES.GCM.seal(Array(plaintext.utf8), using: key)
        return Array(box.combined!)
    }

    public func open(_ sealed: [UInt8]) throws(Failure) -> String {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return String(decoding: try AES.GCM.open(box, using: key), as: UTF8.self)
        } catch {
            throw .cannotOpen
        }
    }
}

/// Unpadded base64url (RFC 4648 §5), as OAuth and PKCE write it.
public enum Base64URL {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The PKCE S256 challenge of a verifier: base64url(SHA-256(verifier)).
    public static func pkceChallenge(of verifier: String) -> String {
        encode(SHA256.hash(data: Array(verifier.utf8)))
    }
}
