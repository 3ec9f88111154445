import DevTrackCore
import Testing

struct InputTextTests {
    @Test func limitsAreInBytesNotCharacters() {
        #expect(InputText.problem(String(repeating: "a", count: 200), maxBytes: 200) == nil)
        // 100 characters, 400 bytes.
        let emoji = String(repeating: "🚀", count: 100)
        #expect(emoji.count == 100)
        #expect(InputText.problem(emoji, maxBytes: 200) == "is 400 bytes long; at most 200 bytes are accepted")
    }

    @Test func controlCharactersAreRefusedLineBreaksOnlyWhereAllowed() {
        #expect(InputText.problem("a\u{0}b", maxBytes: 10) == "contains the control character U+0000, which is not accepted")
        #expect(InputText.problem("a\u{1B}b", maxBytes: 10) != nil)
        #expect(InputText.problem("a\u{7F}", maxBytes: 10) != nil)
        #expect(InputText.problem("a\u{85}", maxBytes: 10) != nil)
        #expect(InputText.problem("line\nnext", maxBytes: 20) != nil)
        #expect(InputText.problem("line\nnext\ttab\r", maxBytes: 20, lineBreaks: true) == nil)
        #expect(InputText.problem("a\u{0}b", maxBytes: 10, lineBreaks: true) != nil)
        #expect(InputText.problem("Grüße, 世界", maxBytes: 40) == nil)
    }

    @Test func truncationCutsOnCharacterBoundaries() {
        #expect(InputText.truncated("short", maxBytes: 10) == "short")
        let cut = InputText.truncated(String(repeating: "é", count: 10), maxBytes: 10)
        #expect(cut == "ééé...")
        #expect(cut.utf8.count <= 10)
        #expect(InputText.sanitized("id\u{0}x", maxBytes: 50) == "id\u{FFFD}x")
    }

    /// Delivery ids come from headers, where bytes that are not UTF-8 arrive replaced by U+FFFD.
    @Test func deliveryIDsAreShortVisibleASCII() {
        #expect(DeliveryIDs.problem("72d3162e-cc78-11e3-81ab-4c9367dc0958") == nil)
        #expect(DeliveryIDs.problem("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W") == nil)
        #expect(DeliveryIDs.problem("\u{FFFD}\u{FFFD}") != nil)
        #expect(DeliveryIDs.problem("Grüße") != nil)
        #expect(DeliveryIDs.problem("a b") != nil)
        #expect(DeliveryIDs.problem("id\u{0}") != nil)
        #expect(DeliveryIDs.problem(String(repeating: "a", count: DeliveryIDs.maxBytes + 1)) != nil)
    }
}
