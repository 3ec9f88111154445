import Logging

/// `StreamLogHandler`'s lines, with the logger's metadata rendered when a line is written instead of each time
/// it is set. Hummingbird copies the logger and sets a request id on it for every request; `StreamLogHandler`
/// renders its whole metadata on every such set, which cost ingest 5 µs per request for lines rarely written.
public struct DeferredMetadataLogHandler: LogHandler {
    private var lines: StreamLogHandler
    public var metadata: Logger.Metadata = [:]

    /// `lines` writes the output (with its metadata provider, if any); its own metadata is not used (set this handler's).
    public init(writingTo lines: StreamLogHandler) {
        self.lines = lines
    }

    public var logLevel: Logger.Level {
        get { lines.logLevel }
        set { lines.logLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty {
            event.metadata = metadata.merging(event.metadata ?? [:]) { _, atTheCall in atTheCall }
        }
        lines.log(event: event)
    }
}
