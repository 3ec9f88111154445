import DevTrackCore
import Testing

struct GitHubSignatureTests {
    let secret = Array("It's a Secret to Everybody".utf8)
    let body = Array("Hello, World!".utf8)

    /// The example from GitHub's "Validating webhook deliveries" documentation.
    @Test func matchesGitHubsDocumentedExample() {
        let expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        #expect(GitHubSignature.sign(body: body, secret: secret) == expected)
        #expect(GitHubSignature.verify(body: body, header: expected, secrets: [secret]) == .valid)
    }

    @Test func rejectsATamperedBodyOrAnotherSecret() {
        let header = GitHubSignature.sign(body: body, secret: secret)
        #expect(GitHubSignature.verify(body: Array("Hello, World?".utf8), header: header, secrets: [secret]) == .mismatch)
        #expect(GitHubSignature.verify(body: body, header: header, secrets: [Array("other".utf8)]) == .mismatch)
    }

    @Test func missingHeaderIsMissing() {
        #expect(GitHubSignature.verify(body: body, header: nil, secrets: [secret]) == .missing)
        #expect(GitHubSignature.verify(body: body, header: "", secrets: [secret]) == .missing)
    }

    @Test func wrongAlgorithmPrefixOrShapeIsMalformed() {
        let sha1 = "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59"
        guard case .malformed(let reason) = GitHubSignature.verify(body: body, header: sha1, secrets: [secret]) else {
            Issue.record("sha1= must be refused as malformed")
            return
        }
        #expect(reason.contains("sha1"))
        #expect(
            GitHubSignature.verify(body: body, header: "sha256=zz", secrets: [secret]) == .malformed("signature is not 64 hexadecimal characters"))
        #expect(
            GitHubSignature.verify(body: body, header: "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", secrets: [secret])
                != .valid)
    }

    @Test func anyOfSeveralSecretsVerifiesDuringARotation() {
        let header = GitHubSignature.sign(body: body, secret: secret)
        #expect(GitHubSignature.verify(body: body, header: header, secrets: [Array("new".utf8), secret]) == .valid)
        #expect(
            GitHubSignature.verify(body: body, header: header.uppercased().replacingOccurrences(of: "SHA256=", with: "sha256="), secrets: [secret])
                == .valid)
    }
}

struct CredentialTests {
    @Test func sealedSecretsOpenOnlyWithTheirKey() throws {
        let box = try SecretBox(base64Key: SecretBox.newBase64Key())
        let sealed = box.seal("webhook secret")
        #expect(!String(decoding: sealed, as: UTF8.self).contains("webhook secret"))
        #expect(try box.open(sealed) == "webhook secret")
        let other = try SecretBox(base64Key: SecretBox.newBase64Key())
        #expect(throws: SecretBox.Failure.self) { try other.open(sealed) }
    }

    @Test func badKeysAreRefusedWithAReason() {
        #expect(throws: SecretBox.Failure.self) { try SecretBox(base64Key: "not base64!") }
        #expect(throws: SecretBox.Failure.self) { try SecretBox(base64Key: "c2hvcnQ=") }
    }

    @Test func tokensAreRandomAndStoredAsHashes() {
        let first = Credentials.newToken(prefix: "dtk_")
        let second = Credentials.newToken(prefix: "dtk_")
        #expect(first != second)
        #expect(first.hasPrefix("dtk_") && first.count == 4 + 64)
        #expect(Credentials.hash(first) == Credentials.hash(first))
        #expect(Credentials.hash(first) != first)
    }

    @Test func formBodiesYieldTheirPayloadField() {
        let body = Array("payload=%7B%22zen%22%3A%22Keep+it+logically+awesome.%22%7D&other=1".utf8)
        #expect(FormEncoding.field("payload", in: body).map { String(decoding: $0, as: UTF8.self) } == #"{"zen":"Keep it logically awesome."}"#)
        #expect(FormEncoding.field("missing", in: body) == nil)
        #expect(FormEncoding.field("payload", in: Array("payload=%7".utf8)) == nil)
    }
}
