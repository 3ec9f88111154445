import Crypto
import DevTrackCore
import Foundation
import Testing

/// Sealing under key ids, and opening with the current key and older ones: what an online key rotation relies on.
struct SecretBoxTests {
    let old = SecretBox.newBase64Key()
    let new = SecretBox.newBase64Key()

    /// A value sealed as the hub did before key ids: nonce ‖ ciphertext ‖ tag, under `key`.
    func legacySeal(_ text: String, key: String) throws -> [UInt8] {
        let box = try AES.GCM.seal(Array(text.utf8), using: SymmetricKey(data: Data(base64Encoded: key)!))
        return Array(box.combined!)
    }

    @Test func aRotationBoxSealsWithTheNewKeyAndOpensBoth() throws {
        let before = try SecretBox(base64Key: old)
        let during = try SecretBox(base64Keys: [new, old])
        let after = try SecretBox(base64Key: new)
        let sealedBefore = before.seal("whsec_before")
        #expect(try during.open(sealedBefore) == "whsec_before", "the old key still opens")
        #expect(during.needsResealing(sealedBefore) && !before.needsResealing(sealedBefore))
        let sealedDuring = during.seal("whsec_during")
        #expect(!during.needsResealing(sealedDuring))
        #expect(try after.open(sealedDuring) == "whsec_during", "sealed with the new key")
        #expect(throws: SecretBox.Failure.cannotOpen) { try after.open(sealedBefore) }
        #expect(throws: SecretBox.Failure.cannotOpen) { try before.open(sealedDuring) }
        #expect(Array(sealedDuring.prefix(4)) == Array("DTK1".utf8))
        #expect(during.currentKeyID == after.currentKeyID && during.currentKeyID != before.currentKeyID && during.currentKeyID.count == 16)
    }

    @Test func valuesSealedBeforeKeyIdsStillOpenAndAreResealed() throws {
        let box = try SecretBox(base64Keys: [new, old])
        for key in [old, new] {
            let legacy = try legacySeal("https://discord.com/api/webhooks/1/t", key: key)
            #expect(try box.open(legacy) == "https://discord.com/api/webhooks/1/t")
            #expect(box.needsResealing(legacy), "the old form is re-sealed even under the current key")
        }
        #expect(throws: SecretBox.Failure.cannotOpen) { try box.open(try legacySeal("x", key: SecretBox.newBase64Key())) }
    }

    @Test func damagedOrForeignValuesDoNotOpen() throws {
        let box = try SecretBox(base64Keys: [new, old])
        var sealed = box.seal("secret")
        sealed[sealed.count - 1] ^= 1
        #expect(throws: SecretBox.Failure.cannotOpen) { try box.open(sealed) }
        for bytes in [[], Array("DTK1".utf8), Array("DTK1".utf8) + [UInt8](repeating: 0, count: 40), [UInt8](repeating: 7, count: 5)] {
            #expect(throws: SecretBox.Failure.cannotOpen) { try box.open(bytes) }
            #expect(box.needsResealing(bytes))
        }
    }

    @Test func keysAreChecked() {
        #expect(throws: SecretBox.Failure.badKey("no key given")) { try SecretBox(base64Keys: []) }
        #expect(throws: SecretBox.Failure.badKey("key 2 is given twice")) { try SecretBox(base64Keys: [new, new]) }
        #expect(throws: SecretBox.Failure.badKey("key 2 is not valid base64")) { try SecretBox(base64Keys: [new, "%%%"]) }
        #expect(throws: SecretBox.Failure.badKey("key 1 decodes to 3 bytes, expected 32")) { try SecretBox(base64Keys: ["AAAA"]) }
    }
}
