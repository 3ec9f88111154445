/// A JSON object whose members are all strings, numbers, booleans or nulls — the shape of every activity fact —
/// read by hand. Workers decode every fact on `devtrack.activity`, and `JSONDecoder` spent more time on
/// them than the rest of the goals worker's in-memory work; this reader is several times faster.
///
/// It answers nil for anything outside that shape or not valid JSON (nested values, duplicate
/// keys, bad escapes or numbers, trailing bytes): callers then fall back to `JSONDecoder`, which has the
/// final say and the error messages.
public struct FlatJSONObject: Equatable {
    public enum Value: Equatable {
        case string(String)
        case number(Double)
        case bool(Bool)
        case null
    }

    public let members: [String: Value]

    public init?(_ bytes: [UInt8]) {
        let parsed: [String: Value]? = bytes.withUnsafeBufferPointer { buffer in
            var reader = FlatReader(bytes: buffer)
            return reader.object()
        }
        guard let parsed else { return nil }
        members = parsed
    }

    public subscript(key: String) -> Value? { members[key] }

    /// One flat object or an array of them (nil for anything else, as above).
    public static func objects(_ bytes: [UInt8]) -> [[String: Value]]? {
        bytes.withUnsafeBufferPointer { buffer in
            var reader = FlatReader(bytes: buffer)
            return reader.objects()
        }
    }
}

private struct FlatReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let byte = peek, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard peek == byte else { return false }
        index += 1
        return true
    }

    mutating func object() -> [String: FlatJSONObject.Value]? {
        guard let members = objectMembers() else { return nil }
        return finished(members)
    }

    /// One flat object, or an array of them, and nothing after.
    mutating func objects() -> [[String: FlatJSONObject.Value]]? {
        guard consume(UInt8(ascii: "[")) else { return object().map { [$0] } }
        var objects: [[String: FlatJSONObject.Value]] = []
        if consume(UInt8(ascii: "]")) { return finished(objects) }
        while true {
            guard let members = objectMembers() else { return nil }
            objects.append(members)
            if consume(UInt8(ascii: ",")) { continue }
            guard consume(UInt8(ascii: "]")) else { return nil }
            return finished(objects)
        }
    }

    private mutating func objectMembers() -> [String: FlatJSONObject.Value]? {
        guard consume(UInt8(ascii: "{")) else { return nil }
        var members: [String: FlatJSONObject.Value] = [:]
        members.reserveCapacity(8)
        if consume(UInt8(ascii: "}")) { return members }
        while true {
            skipWhitespace()
            guard let key = string(), consume(UInt8(ascii: ":")), let value = value(), members.updateValue(value, forKey: key) == nil else {
                return nil
            }
            if consume(UInt8(ascii: ",")) { continue }
            guard consume(UInt8(ascii: "}")) else { return nil }
            return members
        }
    }

    private mutating func finished<T>(_ result: T) -> T? {
        skipWhitespace()
        return index == bytes.count ? result : nil
    }

    private mutating func value() -> FlatJSONObject.Value? {
        skipWhitespace()
        guard let first = peek else { return nil }
        switch first {
        case UInt8(ascii: "\""): return string().map { .string($0) }
        case UInt8(ascii: "n"): return literal("null") ? .null : nil
        case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
        case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number().map { .number($0) }
        default: return nil
        }
    }

    /// Consumes `word` when the bytes at the index spell it.
    private mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
        index += count
        return true
    }

    /// At a `"`: the string, unescaped; nil for control characters, bad escapes or invalid UTF-8.
    private mutating func string() -> String? {
        guard peek == UInt8(ascii: "\"") else { return nil }
        index += 1
        let start = index
        // The common case: no escapes, so the bytes between the quotes are the string.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return String(validating: UnsafeBufferPointer(rebasing: bytes[start..<(index - 1)]), as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { return nil }
            index += 1
        }
        var utf8 = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""): return String(validating: utf8, as: UTF8.self)
            case ..<0x20: return nil
            case UInt8(ascii: "\\"):
                guard let escaped = peek else { return nil }
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escaped)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    guard let scalar = unicodeEscape() else { return nil }
                    utf8.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: return nil
                }
            default: utf8.append(byte)
            }
        }
        return nil
    }

    /// After `\u`: one scalar, joining a surrogate pair written as two escapes.
    private mutating func unicodeEscape() -> Unicode.Scalar? {
        guard let high = hex4() else { return nil }
        guard (0xD800...0xDBFF).contains(high) else { return Unicode.Scalar(high) }
        guard index + 2 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else { return nil }
        index += 2
        guard let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
        return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    }

    private mutating func hex4() -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, as a Double.
    private mutating func number() -> Double? {
        let start = index
        func digits() -> Int {
            let from = index
            while let byte = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
            return index - from
        }
        if peek == UInt8(ascii: "-") { index += 1 }
        if peek == UInt8(ascii: "0") {
            index += 1
        } else if digits() == 0 {
            return nil
        }
        if peek == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { return nil }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            index += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { return nil }
        }
        guard let text = String(validating: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self),
            let value = Double(text), value.isFinite
        else { return nil }
        // A number beyond Double's range (1e400) is not JSON JSONSerialization reads: leave it to the fallback.
        return value
    }
}

extension FlatJSONObject {
    /// An object of string members as JSON text, keys sorted so the same members always give the same bytes
    /// (what `JSONEncoder` with `.sortedKeys` and `.withoutEscapingSlashes` writes). The notify worker writes
    /// several such payloads per intent, and `JSONEncoder` was its largest cost.
    public static func text(_ members: [String: String]) -> String {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(256)
        for (index, key) in members.keys.sorted().enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            appendQuoted(key, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            appendQuoted(members[key]!, to: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A JSON string literal.
    public static func quoted(_ string: String) -> String {
        var bytes: [UInt8] = []
        appendQuoted(string, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Copies the UTF-8 bytes in runs, escaping only quotes, backslashes and control characters.
    static func appendQuoted(_ string: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { utf8 in
            var runStart = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                switch byte {
                case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
                case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
                case 0x0A: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                case 0x0D: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
                case 0x09: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
                case 0x08: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
                case 0x0C: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
                default: bytes += Array("\\u00".utf8) + [hexDigit(byte >> 4), hexDigit(byte & 0x0F)]
                }
                runStart = index + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
