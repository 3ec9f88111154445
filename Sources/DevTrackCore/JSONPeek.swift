import Foundation

/// Reads one integer out of a JSON object without decoding the document — what ingest needs (the GitHub
/// sender id, for the partition key) at a fraction of a full decode's cost. It checks structure (balanced
/// brackets, terminated strings, a top-level object) but not every token: the normalize worker decodes
/// the body fully and dead-letters what is not valid JSON.
public enum JSONPeek {
    public struct Malformed: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// The integer at `path` (object keys from the top level), nil when absent or not an integer.
    public static func integer(at path: [String], in bytes: some Collection<UInt8>) throws(Malformed) -> Int64? {
        let result: Result<Int64?, Malformed>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(Malformed) in try integer(at: path, in: buffer) }
        }
        if let result { return try result.get() }
        return try Array(bytes).withUnsafeBufferPointer { buffer throws(Malformed) in try integer(at: path, in: buffer) }
    }

    private static func integer(at path: [String], in buffer: UnsafeBufferPointer<UInt8>) throws(Malformed) -> Int64? {
        var reader = Reader(bytes: buffer)
        reader.skipWhitespace()
        guard reader.peek == UInt8(ascii: "{") else { throw Malformed(description: "not a JSON object") }
        return try reader.find(path[...])
    }

    struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipWhitespace() {
            while let byte = peek, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
        }

        /// At a `{`: walks its members; descends into the one named `path.first`, skips the rest.
        /// Always consumes the whole value, so the document's structure is checked to its end at the top.
        mutating func find(_ path: ArraySlice<String>) throws(Malformed) -> Int64? {
            index += 1  // {
            var result: Int64?
            skipWhitespace()
            if peek == UInt8(ascii: "}") { index += 1; return nil }
            while true {
                skipWhitespace()
                guard peek == UInt8(ascii: "\"") else { throw Malformed(description: "expected a key at byte \(index)") }
                let key = try string()
                skipWhitespace()
                guard peek == UInt8(ascii: ":") else { throw Malformed(description: "expected ':' at byte \(index)") }
                index += 1
                skipWhitespace()
                if result == nil, let first = path.first, key.elementsEqual(first.utf8) {
                    if path.count == 1 {
                        result = try integerOrSkip()
                    } else if peek == UInt8(ascii: "{") {
                        result = try find(path.dropFirst())
                    } else {
                        try skipValue()
                    }
                } else {
                    try skipValue()
                }
                skipWhitespace()
                switch peek {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "}"): index += 1; return result
                default: throw Malformed(description: "expected ',' or '}' at byte \(index)")
                }
            }
        }

        /// At a `"`: returns the raw bytes between the quotes (escapes left as they are).
        mutating func string() throws(Malformed) -> Slice<UnsafeBufferPointer<UInt8>> {
            let start = index + 1
            index = try Self.endOfString(bytes, from: start)
            return bytes[start..<(index - 1)]
        }

        /// The index just past the quote that closes a string whose contents begin at `start`, reading escapes left to
        /// right (a backslash takes the byte after it). Quotes and backslashes are found eight bytes at a time: strings are
        /// most of a webhook's bytes, mostly short (keys), and a byte-by-byte loop over them was 15 µs of ingest's CPU per
        /// 8.8 KB delivery, `memchr` per string still 4 µs (its set-up dominates a short string).
        static func endOfString(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) throws(Malformed) -> Int {
            guard let base = bytes.baseAddress else { throw Malformed(description: "unterminated string") }
            var index = start
            while true {
                index = quoteOrBackslash(base, from: index, count: bytes.count)
                guard index < bytes.count else { throw Malformed(description: "unterminated string") }
                if base[index] == UInt8(ascii: "\"") { return index + 1 }
                index += 2  // the backslash and the byte it escapes
            }
        }

        /// The index of the first quote or backslash at or after `from`, or `count`. Eight bytes per step: a byte equal to the
        /// wanted one is zero in `word ^ pattern`, and `(x - 0x01…) & ~x & 0x80…` sets the high bit of x's lowest zero
        /// byte (bits above it may be set by the borrow, so only the lowest one is read), little-endian.
        static func quoteOrBackslash(_ base: UnsafePointer<UInt8>, from: Int, count: Int) -> Int {
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            var index = from
            while index + 8 <= count {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
                let quotes = word ^ (ones &* UInt64(UInt8(ascii: "\"")))
                let backslashes = word ^ (ones &* UInt64(UInt8(ascii: "\\")))
                let found = ((quotes &- ones) & ~quotes | (backslashes &- ones) & ~backslashes) & highs
                if found != 0 { return index + found.trailingZeroBitCount / 8 }
                index += 8
            }
            while index < count, base[index] != UInt8(ascii: "\""), base[index] != UInt8(ascii: "\\") { index += 1 }
            return index
        }

        mutating func integerOrSkip() throws(Malformed) -> Int64? {
            let start = index
            try skipValue()
            var digits = bytes[start..<index]
            while let last = digits.last, last == 0x20 || last == 0x0A || last == 0x0D || last == 0x09 { digits.removeLast() }
            var negative = false
            if digits.first == UInt8(ascii: "-") { negative = true; digits.removeFirst() }
            guard !digits.isEmpty, digits.count <= 18 else { return nil }
            var value: Int64 = 0
            for digit in digits {
                guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int64(digit - UInt8(ascii: "0"))
            }
            return negative ? -value : value
        }

        /// False for the bytes `skipValue` must look at: quotes, brackets, braces and commas.
        static let isPlain: [Bool] = (0...255).map { !Array("\"{}[],".utf8).contains(UInt8($0)) }

        /// Skips one value of any kind, checking that brackets balance and strings end. Stops at the `,`, `}` or
        /// `]` after the value (or the end of a top-level document).
        mutating func skipValue() throws(Malformed) {
            guard index < bytes.count else { throw Malformed(description: "unexpected end of the document") }
            var depth = 0
            var position = index
            defer { index = position }
            while position < bytes.count {
                // Between strings: whitespace, digits, `:` and literals, passed over with one table lookup each.
                if Self.isPlain[Int(bytes[position])] {
                    position += 1
                    continue
                }
                switch bytes[position] {
                case UInt8(ascii: "\""): position = try Self.endOfString(bytes, from: position + 1)
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1; position += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth == 0 { return }  // the end of the enclosing container
                    depth -= 1; position += 1
                case UInt8(ascii: ","):
                    if depth == 0 { return }
                    position += 1
                default: position += 1
                }
            }
            if depth > 0 { throw Malformed(description: "unexpected end of the document") }
        }
    }
}
