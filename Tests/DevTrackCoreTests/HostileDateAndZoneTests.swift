import DevTrackCore
import Foundation
import Testing

/// Zone names and dates that Foundation would take but PostgreSQL refuses (or reads differently) are refused
/// at the door, so whatever is accepted can be stored and read back.
struct HostileDateAndZoneTests {
    @Test func ianaNamesAndUTCAreAccepted() {
        for name in ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "America/Port-au-Prince", "Australia/Lord_Howe", "Etc/UTC"] {
            #expect(TimeZones.validatedInput(name) != nil, "\(name) is accepted")
        }
    }

    @Test func offsetsAndUnknownNamesAreRefused() {
        for name in [
            "UTC+0530", "UTC-0530", "UTC+05:30", "GMT+5", "GMT-5", "GMT+0", "utc+1", "gmt-12", "Etc/GMT+5", "Etc/GMT-14",
            "+05:30", "-0800", "Europe/Berlin+1", "UTC+", "GMT-", "", " ", "Mars/Olympus", "Europe/Berlin\u{0}", "\u{0}",
            "europe/berlin ", "../../etc/passwd", String(repeating: "A", count: 10_000),
        ] {
            #expect(TimeZones.validatedInput(name) == nil, "\(name.debugDescription)")
        }
    }

    @Test func theCheckIsStricterThanFoundation() {
        // Foundation takes these (so `TimeZones.named` alone let them through), PostgreSQL does not agree.
        #expect(TimeZones.named("GMT+5") != nil)
        #expect(TimeZones.validatedInput("GMT+5") == nil)
    }

    @Test func yearZeroIsNotADate() {
        #expect(LocalDate("0000-01-01") == nil, "PostgreSQL has no year 0")
        #expect(LocalDate("0000-12-31") == nil)
        #expect(LocalDate("0001-01-01")?.components.year == 1)
        #expect(LocalDate("9999-12-31")?.description == "9999-12-31")
        for text in ["10000-01-01", "-001-01-01", "2024-00-10", "2024-02-30", "２０２４-01-01", "2024-01-01\u{0}", "+024-01-01", ""] {
            #expect(LocalDate(text) == nil, "\(text.debugDescription)")
        }
        #expect((try? JSONDecoder().decode([LocalDate].self, from: Data(#"["0000-01-01"]"#.utf8))) == nil)
    }
}

/// A custom source's mapping is stored as `jsonb`: every string in it is short and free of control characters
/// (a NUL fails the `::jsonb` cast), and its lists are short — refused as `Invalid` (400 invalid_mapping).
struct HostileMappingTests {
    func problem(_ mapping: EventMapping) -> String? {
        do { try mapping.validate(); return nil } catch { return error.description }
    }

    @Test func controlCharactersAnywhereAreRefused() {
        let nul = "\u{0}"
        let mappings = [
            EventMapping(kind: "commit", occurredAt: "/t\(nul)"),
            EventMapping(events: "/commits\(nul)", kind: "commit", occurredAt: "/t"),
            EventMapping(kind: "commit", occurredAt: "/t", id: "/id\u{1B}"),
            EventMapping(kind: "commit", occurredAt: "/t", repo: "/r\u{7F}"),
            EventMapping(kind: "commit", occurredAt: "/t", author: "/a", authors: ["me", "you\(nul)"]),
            EventMapping(kindPointer: "/k", kinds: ["push\(nul)": "commit"], occurredAt: "/t"),
            EventMapping(kindPointer: "/k", kinds: ["push": "commit\(nul)"], occurredAt: "/t"),
            EventMapping(kind: "custom:deploy\(nul)", occurredAt: "/t"),
            EventMapping(kind: "commit", occurredAt: "/t", value: "/v\n"),
        ]
        for mapping in mappings {
            let message = problem(mapping)
            #expect(message?.hasPrefix("mapping.") == true, "\(mapping) → \(message ?? "accepted")")
        }
        #expect(problem(EventMapping(kind: "commit", occurredAt: "/t", author: "/a", authors: ["you\(nul)"]))?.contains("U+0000") == true)
    }

    @Test func longStringsAndListsAreRefused() {
        let long = "/" + String(repeating: "a", count: 256)
        #expect(problem(EventMapping(kind: "commit", occurredAt: long))?.contains("at most 256 bytes") == true)
        #expect(
            problem(EventMapping(kind: "commit", occurredAt: "/t", author: "/a", authors: [String(repeating: "é", count: 129)])) != nil,
            "bytes, not characters")
        let many = (0..<51).map { "user\($0)" }
        #expect(problem(EventMapping(kind: "commit", occurredAt: "/t", author: "/a", authors: many))?.contains("at most 50") == true)
        let kinds = Dictionary(uniqueKeysWithValues: (0..<51).map { ("k\($0)", "commit") })
        #expect(problem(EventMapping(kindPointer: "/k", kinds: kinds, occurredAt: "/t"))?.contains("at most 50") == true)
    }

    @Test func reasonableMappingsStillPass() {
        #expect(problem(EventMapping(kind: "commit", occurredAt: "/t", author: "/a", authors: (0..<50).map { "user\($0)" })) == nil)
        #expect(
            problem(EventMapping(kindPointer: "/k", kinds: Dictionary(uniqueKeysWithValues: (0..<50).map { ("k\($0)", "commit") }), occurredAt: "/t"))
                == nil)
        #expect(problem(EventMapping(kind: "commit", occurredAt: "/" + String(repeating: "a", count: 255))) == nil)
        for (name, preset) in EventMapping.presets { #expect(problem(preset) == nil, "\(name)") }
    }
}
