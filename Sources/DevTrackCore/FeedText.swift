import Foundation

/// What the activity feed keeps of a source's title and link. A feed line is never a reason to refuse a
/// delivery, so these clean rather than refuse: the title's first line without control characters, cut to
/// `maxTitleBytes`; a link only when it is an absolute `https` URL without spaces or control characters.
public enum FeedText {
    public static let maxTitleBytes = 200
    public static let maxURLBytes = 500

    /// `text`'s first non-empty line, cleaned and cut; nil when nothing is left.
    public static func title(_ text: String?) -> String? {
        guard let text else { return nil }
        let line = text.split(whereSeparator: \.isNewline).lazy.map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty } ?? ""
        var clean = String.UnicodeScalarView()
        for scalar in line.unicodeScalars where !InputText.isControl(scalar, lineBreaks: false) { clean.append(scalar) }
        let title = InputText.truncated(String(clean), maxBytes: maxTitleBytes)
        return title.isEmpty ? nil : title
    }

    /// `text` when it is a link the feed may show, else nil.
    public static func link(_ text: String?) -> String? {
        guard let text, text.utf8.count <= maxURLBytes, text.hasPrefix("https://"), text.utf8.count > 8,
            !text.unicodeScalars.contains(where: { $0 == " " || InputText.isControl($0, lineBreaks: false) })
        else { return nil }
        return text
    }
}
