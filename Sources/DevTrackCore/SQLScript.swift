import Foundation

/// Splits a SQL script into statements at top-level semicolons, ignoring those inside quotes,
/// dollar-quoted bodies and comments (PostgreSQL's extended protocol takes one statement at a time).
public enum SQLScript {
    public static func statements(_ script: String) -> [String] {
        let characters = Array(script.unicodeScalars)
        var statements: [String] = []
        var current = String.UnicodeScalarView()
        var index = 0
        func flush() {
            let text = String(current).trimmingWhitespace
            if !text.isEmpty && !text.isOnlyComments { statements.append(text) }
            current.removeAll()
        }
        while index < characters.count {
            let c = characters[index]
            let next: Unicode.Scalar? = index + 1 < characters.count ? characters[index + 1] : nil
            if c == "-" && next == "-" {
                while index < characters.count && characters[index] != "\n" {
                    current.append(characters[index])
                    index += 1
                }
                continue
            }
            if c == "/" && next == "*" {
                while index < characters.count && !(characters[index] == "*" && index + 1 < characters.count && characters[index + 1] == "/") {
                    current.append(characters[index])
                    index += 1
                }
                if index < characters.count { current.append("*"); current.append("/"); index += 2 }
                continue
            }
            if c == "'" || c == "\"" {
                current.append(c)
                index += 1
                while index < characters.count {
                    current.append(characters[index])
                    if characters[index] == c {
                        index += 1
                        break
                    }
                    index += 1
                }
                continue
            }
            if c == "$", let tagEnd = dollarTagEnd(characters, from: index) {
                let tag = Array(characters[index...tagEnd])
                for scalar in tag { current.append(scalar) }
                index = tagEnd + 1
                while index < characters.count {
                    if characters[index] == "$", index + tag.count <= characters.count,
                        Array(characters[index..<index + tag.count]) == tag
                    {
                        for scalar in tag { current.append(scalar) }
                        index += tag.count
                        break
                    }
                    current.append(characters[index])
                    index += 1
                }
                continue
            }
            if c == ";" {
                flush()
                index += 1
                continue
            }
            current.append(c)
            index += 1
        }
        flush()
        return statements
    }

    /// `$$` or `$tag$` starting at `start`: the index of its closing `$`.
    private static func dollarTagEnd(_ characters: [Unicode.Scalar], from start: Int) -> Int? {
        var index = start + 1
        while index < characters.count {
            let c = characters[index]
            if c == "$" { return index }
            guard c == "_" || c.properties.isAlphabetic || (index > start + 1 && ("0"..."9").contains(c)) else { return nil }
            index += 1
        }
        return nil
    }
}

extension String {
    var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }

    var isOnlyComments: Bool {
        split(separator: "\n").allSatisfy {
            $0.trimmingCharacters(in: .whitespaces).isEmpty || $0.trimmingCharacters(in: .whitespaces).hasPrefix("--")
        }
    }
}
