import DevTrackOps
import Logging
import Synchronization
import Testing

/// What a handler writes, line by line.
final class CapturedLines: TextOutputStream, Sendable {
    private let text = Mutex("")
    func write(_ string: String) { text.withLock { $0 += string } }
    var lines: [String] { text.withLock { $0.split(separator: "\n").map(String.init) } }
}

struct DeferredMetadataLogHandlerTests {
    /// The same line as `StreamLogHandler` with the same metadata, minus its leading timestamp.
    @Test func linesMatchStreamLogHandlersWithMetadataFromTheLoggerAndTheCall() {
        let deferred = CapturedLines()
        let stream = CapturedLines()
        var ours = Logger(label: "devtrack.test") { DeferredMetadataLogHandler(writingTo: StreamLogHandler(label: $0, stream: deferred)) }
        var theirs = Logger(label: "devtrack.test") { StreamLogHandler(label: $0, stream: stream) }
        ours[metadataKey: "hb.request.id"] = "1f"
        theirs[metadataKey: "hb.request.id"] = "1f"
        ours[metadataKey: "worker"] = "metrics"
        theirs[metadataKey: "worker"] = "metrics"
        ours.info("plain")
        theirs.info("plain")
        ours.warning("with more", metadata: ["worker": "normalize", "batch": "3"])
        theirs.warning("with more", metadata: ["worker": "normalize", "batch": "3"])
        ours.debug("below the level")
        func withoutTimestamp(_ line: String) -> String { String(line.drop { $0 != " " }) }
        #expect(deferred.lines.count == 2)
        #expect(deferred.lines.map(withoutTimestamp) == stream.lines.map(withoutTimestamp))
        #expect(deferred.lines.last?.contains("worker=normalize") == true, "the call's value wins: \(deferred.lines)")
        #expect(ours[metadataKey: "worker"] == "metrics" && ours.logLevel == .info)
    }
}
