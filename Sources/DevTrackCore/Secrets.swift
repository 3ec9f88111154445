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

/// Seals secrets at rest with AES-256-GCM under the operator's current key, and opens what any of its keys sealed, so
/// that keys can be rotated online: every process is given the new key first and the old ones after it, `devtrack keys
/// rotate` re-seals every stored secret under the new key, and then the old keys can go.
///
/// A sealed value is `DTK1 ‖ key id (8 bytes) ‖ nonce ‖ ciphertext ‖ tag`, the key id being the first 8 bytes of the
/// key's SHA-256. Values sealed before key ids (`nonce ‖ ciphertext ‖ tag`) still open: each key is tried (the tag tells
/// the right one), and a rotation re-seals them in the new form.
public struct SecretBox: Sendable {
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case badKey(String)
        case cannotOpen

        public var description: String {
            switch self {
            case .badKey(let reason): "encryption key: \(reason)"
            case .cannotOpen: "sealed secret cannot be opened with any configured encryption key"
            }
        }
    }

    struct Key: Sendable {
        let id: [UInt8]
        let symmetric: SymmetricKey
    }

    /// The first seals; all open.
    private let keys: [Key]
    static let marker = Array("DTK1".utf8)
    static let keyIDBytes = 8

    /// `base64Key` must decode to 32 bytes (`openssl rand -base64 32`).
    public init(base64Key: String) throws(Failure) {
        try self.init(base64Keys: [base64Key])
    }

    /// The current key first, then older ones still to be opened (at least one; no two alike).
    public init(base64Keys: [String]) throws(Failure) {
        var keys: [Key] = []
        for (index, text) in base64Keys.enumerated() {
            guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw .badKey("key \(index + 1) is not valid base64")
            }
            guard data.count == 32 else { throw .badKey("key \(index + 1) decodes to \(data.count) bytes, expected 32") }
            let id = Array(SHA256.hash(data: data).prefix(Self.keyIDBytes))
            guard !keys.contains(where: { $0.id == id }) else { throw .badKey("key \(index + 1) is given twice") }
            keys.append(Key(id: id, symmetric: SymmetricKey(data: data)))
        }
        guard !keys.isEmpty else { throw .badKey("no key given") }
        self.keys = keys
    }

    public static func newBase64Key() -> String {
        Data(Credentials.randomBytes(32)).base64EncodedString()
    }

    /// The current key's id in hex (what `devtrack keys` prints; never the key).
    public var currentKeyID: String { Hex.encode(keys[0].id) }

    public func seal(_ plaintext: String) -> [UInt8] {
        // AES-GCM sealing with a fresh random nonce cannot fail for in-memory input.
        let box = try! AES.GCM.seal(Array(plaintext.utf8), using: keys[0].symmetric)
        return Self.marker + keys[0].id + Array(box.combined!)
    }

    public func open(_ sealed: [UInt8]) throws(Failure) -> String {
        if sealed.count > Self.marker.count + Self.keyIDBytes, sealed.starts(with: Self.marker) {
            let id = Array(sealed[Self.marker.count..<Self.marker.count + Self.keyIDBytes])
            if let key = keys.first(where: { $0.id == id }),
                let text = Self.open(Array(sealed[(Self.marker.count + Self.keyIDBytes)...]), with: key.symmetric)
            {
                return text
            }
        }
        // Sealed before key ids (or by chance starting like the marker): the tag tells which key, if any, sealed it.
        for key in keys {
            if let text = Self.open(sealed, with: key.symmetric) { return text }
        }
        throw .cannotOpen
    }

    /// Whether `sealed` is not yet under the current key in the current form (a rotation re-seals it).
    public func needsResealing(_ sealed: [UInt8]) -> Bool {
        !(sealed.count > Self.marker.count + Self.keyIDBytes && sealed.starts(with: Self.marker + keys[0].id)
            && Self.open(Array(sealed[(Self.marker.count + Self.keyIDBytes)...]), with: keys[0].symmetric) != nil)
    }

    private static func open(_ combined: [UInt8], with key: SymmetricKey) -> String? {
        guard let box = try? AES.GCM.SealedBox(combined: combined), let plain = try? AES.GCM.open(box, using: key) else { return nil }
        return String(decoding: plain, as: UTF8.self)
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
