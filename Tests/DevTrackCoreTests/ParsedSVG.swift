import Foundation
import Testing

@testable import DevTrackCore

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// One rendered SVG as an XML parser reads it: whether it parsed, the root's attributes, the style element's
/// text and every text element, so that tests check what a browser would get rather than the markup's spelling.
final class ParsedSVG: NSObject, XMLParserDelegate {
    struct TextElement {
        var attributes: [String: String]
        var content = ""

        var x: Double { Double(attributes["x"] ?? "") ?? .nan }
        var y: Double { Double(attributes["y"] ?? "") ?? .nan }

        /// Left and right edges, from the same estimate the cards are laid out with.
        var extent: ClosedRange<Double> {
            let width = TextWidth.estimate(
                content, fontSize: Double(attributes["font-size"] ?? "") ?? .nan, bold: attributes["font-weight"] == "bold")
            switch attributes["text-anchor"] {
            case "middle": return (x - width / 2)...(x + width / 2)
            case "end": return (x - width)...x
            default: return x...(x + width)
            }
        }
    }

    private(set) var error: Error?
    private(set) var root: [String: String] = [:]
    private(set) var elements: [String] = []
    private(set) var style = ""
    private(set) var title = ""
    private(set) var texts: [TextElement] = []
    private var open: [String] = []

    init(_ svg: String) {
        super.init()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = self
        if !parser.parse() && error == nil { error = parser.parserError ?? CocoaError(.coderReadCorrupt) }
    }

    var width: Double { Double(root["width"] ?? "") ?? .nan }

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]
    ) {
        if elements.isEmpty { root = attributes }
        elements.append(name)
        open.append(name)
        if name == "text" { texts.append(TextElement(attributes: attributes)) }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        open.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        switch open.last {
        case "text": texts[texts.count - 1].content += string
        case "style": style += string
        case "title": title += string
        default: break
        }
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
        error = parseError
    }
}

/// Well-formed, self-contained and accessible: what GitHub's image proxy and any browser need.
func expectSafeSVG(_ svg: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let parsed = ParsedSVG(svg)
    #expect(parsed.error == nil, "\(String(describing: parsed.error)) in \(svg)", sourceLocation: sourceLocation)
    #expect(parsed.elements.first == "svg", sourceLocation: sourceLocation)
    #expect(parsed.root["xmlns"] == "http://www.w3.org/2000/svg", sourceLocation: sourceLocation)
    #expect(parsed.root["role"] == "img", sourceLocation: sourceLocation)
    #expect(parsed.root["viewBox"] == "0 0 \(parsed.root["width"] ?? "?") \(parsed.root["height"] ?? "?")", sourceLocation: sourceLocation)
    #expect(parsed.root["aria-labelledby"]?.isEmpty == false, sourceLocation: sourceLocation)
    #expect(!parsed.title.isEmpty, sourceLocation: sourceLocation)
    #expect(parsed.elements.contains("style"), sourceLocation: sourceLocation)
    #expect(!parsed.elements.contains("script") && !parsed.elements.contains("image"), sourceLocation: sourceLocation)
    let lower = svg.lowercased()
    #expect(!lower.contains("<script") && !lower.contains("href") && !lower.contains("@import"), sourceLocation: sourceLocation)
    #expect(lower.components(separatedBy: "http").count == 2, "only the xmlns is a URL", sourceLocation: sourceLocation)
    #expect(lower.components(separatedBy: "url(").count == lower.components(separatedBy: "url(#").count, sourceLocation: sourceLocation)
}

/// Every text element inside the image, and no two on one baseline overlapping.
func expectTextFits(_ svg: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let parsed = ParsedSVG(svg)
    #expect(parsed.error == nil, sourceLocation: sourceLocation)
    for text in parsed.texts {
        #expect(text.extent.lowerBound >= 0 && text.extent.upperBound <= parsed.width, "\(text)", sourceLocation: sourceLocation)
    }
    for line in Dictionary(grouping: parsed.texts, by: \.y).values {
        let extents = line.map(\.extent).sorted { $0.lowerBound < $1.lowerBound }
        for (left, right) in zip(extents, extents.dropFirst()) {
            #expect(left.upperBound <= right.lowerBound, "\(line)", sourceLocation: sourceLocation)
        }
    }
}

let today = LocalDate("2024-05-10")!

func day(_ text: String) -> LocalDate { LocalDate(text)! }

func streakModel(active: [String], first: String? = nil, total: Int = 10, title: String? = nil) -> StreakCardModel {
    let days = active.map(day)
    return StreakCardModel(
        totalContributions: total, firstContribution: first.map(day) ?? days.min(), streak: .compute(activeDays: days, today: today),
        today: today, title: title)
}

func statsModel(name: String = "Ada", value: Int = 1234, caption: String? = "Last 30 days") -> StatsCardModel {
    StatsCardModel(
        displayName: name, commits: value, pullRequests: value, pullRequestsMerged: value, reviews: value, issues: value, codingSeconds: value,
        caption: caption)
}

let sampleLanguages: [(name: String, amount: Double)] = [("Swift", 600), ("Go", 250), ("Brainfuck", 100), ("Rust", 50)]

/// One of each card and badge, for the checks that hold for all of them.
func everyCard(theme: CardTheme) -> [String] {
    [
        StreakCard.render(streakModel(active: ["2024-05-08", "2024-05-09", "2024-05-10"], first: "2020-01-01"), theme: theme),
        StreakCard.render(streakModel(active: [], total: 0), theme: theme, hideBorder: true),
        StatsCard.render(statsModel(), theme: theme),
        StatsCard.render(statsModel(caption: nil), theme: theme, hideBorder: true, hide: [.reviews, .coding]),
        TopLanguagesCard.render(sampleLanguages, theme: theme),
        TopLanguagesCard.render([], theme: theme),
        UnavailableCard.render(theme: theme),
        Badge.render(label: "streak", message: "12 days", color: "orange"),
        Badge.renderUnavailable(),
    ]
}
