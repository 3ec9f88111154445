import Crypto
import Foundation

/// Outcome of checking a webhook signature header against the raw request body.
public enum SignatureVerdict: Equatable, Sendable {
    case valid
    case missing
    /// The header is present but unusable (wrong algorithm prefix, not hex, wrong length).
    case malformed(String)
    case mismatch
}

/// GitHub's `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`.
public enum GitHubSignature {
    public static let headerName = "X-Hub-Signature-256"

    /// Checks `header` against each secret (several during a rotation), comparing MACs in constant time.
    public static func verify<Body: DataProtocol>(body: Body, header: String?, secrets: [[UInt8]]) -> SignatureVerdict {
        guard let header, !header.isEmpty else { return .missing }
        guard header.hasPrefix("sha256=") else {
            let algorithm = header.split(separator: "=", maxSplits: 1).first.map(String.init) ?? header
            return .malformed("unsupported signature algorithm '\(algorithm)', expected sha256=")
        }
        let hex = header.dropFirst("sha256=".count)
        guard let mac = Hex.decode(hex), mac.count == SHA256.byteCount else {
            return .malformed("signature is not 64 hexadecimal characters")
        }
        for secret in secrets where HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: body, using: SymmetricKey(data: secret)) {
            return .valid
        }
        return .mismatch
    }

    /// The header value GitHub would send for `body` signed with `secret`.
    public static func sign<Body: DataProtocol>(body: Body, secret: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: secret))
        return "sha256=" + Hex.encode(Array(mac))
    }
}

/// Byte comparison whose time does not depend on where the inputs differ (only on their lengths).
public enum ConstantTime {
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

public enum Hex {
    /// The SHA-256 of `bytes`, in lower-case hex.
    public static func sha256(_ bytes: [UInt8]) -> String {
        encode(SHA256.hash(data: bytes))
    }

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
