import CRdKafka
import Dispatch
import Logging
import Metrics
import Synchronization

/// A message to produce. `key` and `value` are raw bytes; `value == nil` produces a tombstone.
public struct KafkaOutgoingMessage: Sendable {
    public var topic: String
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [KafkaHeader]
    public var partition: Int32?

    public init(topic: String, key: [UInt8]? = nil, value: [UInt8]?, headers: [KafkaHeader] = [], partition: Int32? = nil) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.partition = partition
    }
}

public struct KafkaHeader: Sendable, Equatable {
    public var name: String
    public var value: [UInt8]

    public init(_ name: String, _ value: [UInt8]) {
        self.name = name
        self.value = value
    }

    public init(_ name: String, _ value: String) {
        self.init(name, Array(value.utf8))
    }

    public var stringValue: String { String(decoding: value, as: UTF8.self) }
}

/// Where the broker stored an acknowledged message.
public struct KafkaDeliveryReport: Sendable, Equatable {
    public let topic: String
    public let partition: Int32
    public let offset: Int64

    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}

/// An idempotent producer (`enable.idempotence=true`, `acks=all`) whose `send` returns only once the
/// broker has acknowledged the message, so callers can acknowledge their own clients safely.
///
/// librdkafka is polled on a dedicated thread; delivery reports resume the awaiting tasks.
public final class KafkaProducer: Sendable {
    private let handle: SendableHandle
    private let executor: BlockingExecutor
    private let state = ProducerState()
    private let metrics = ProduceMetrics()
    private let logger: Logger

    private final class ProducerState: Sendable {
        struct Counts {
            var closed = false
            var inFlight = 0
        }
        let counts = Mutex(Counts())
        func withLock<R>(_ body: (inout Counts) -> R) -> R { counts.withLock { body(&$0) } }
    }

    /// Defaults that make `send`'s acknowledgement meaningful; caller-supplied properties win.
    public static let safeDefaults: [String: String] = [
        "enable.idempotence": "true",
        "acks": "all",
        "linger.ms": "2",
        "message.timeout.ms": "8000",
        // Callers wait for each acknowledgement: Nagle's algorithm would hold small produce requests back
        // (it put a 40 ms tail on ingest's latency).
        "socket.nagle.disable": "true",
        // JSON bodies shrink 5-10x: less broker storage (the mock keeps ~5 MB per partition), fast to pack.
        "compression.type": "lz4",
    ]

    public init(configuration: KafkaConfiguration, logger: Logger) throws(KafkaError) {
        var configuration = configuration
        for (key, value) in Self.safeDefaults where configuration[key] == nil {
            configuration[key] = value
        }
        self.logger = logger
        let context = ClientContext(logger: logger)
        let raw = try makeClient(type: RD_KAFKA_PRODUCER, configuration: configuration, context: context) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
                guard let message, let opaque = message.pointee._private else { return }
                let box = Unmanaged<DeliveryBox>.fromOpaque(opaque).takeRetainedValue()
                let err = message.pointee.err
                if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    box.complete(
                        .success(KafkaDeliveryReport(topic: box.topic, partition: message.pointee.partition, offset: message.pointee.offset)))
                } else {
                    let kind: KafkaError.Kind = err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT ? .timedOut : .deliveryFailed
                    box.complete(.failure(KafkaError(kind, err: err, context: "delivery to \(box.topic)")))
                }
            }
        }
        self.handle = SendableHandle(raw)
        self.executor = BlockingExecutor(name: "kafka-producer-poll")
        startPolling()
    }

    private func startPolling() {
        let handle = self.handle
        executor.submit { [state] in
            while !state.withLock({ $0.closed && $0.inFlight == 0 }) {
                rd_kafka_poll(handle.raw, 50)
            }
        }
    }

    /// Messages handed to `send` and not yet acknowledged or refused.
    public var messagesInFlight: Int { state.withLock { $0.inFlight } }

    /// Produces one message and waits for the broker's acknowledgement.
    /// - Throws: `KafkaError` with kind `.timedOut` when no broker acknowledged it within
    ///   `message.timeout.ms`, `.produce` when librdkafka refused it at once (queue full, unknown
    ///   partition...), `.closed` after `shutdown()`.
    @discardableResult
    public func send(_ message: KafkaOutgoingMessage) async throws(KafkaError) -> KafkaDeliveryReport {
        let result = await withCheckedContinuation { continuation in
            send(message) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Produces one message and calls `completion` once with the broker's answer, on librdkafka's poll thread (so it
    /// must be quick and must not block): for callers outside Swift concurrency, such as a NIO channel handler, that would
    /// otherwise pay a task's suspension and resumption per message. Errors as for the `async` form.
    public func send(_ message: KafkaOutgoingMessage, completion: @escaping @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void) {
        let accepted = state.withLock { state -> Bool in
            if state.closed { return false }
            state.inFlight += 1
            return true
        }
        guard accepted else { return completion(.failure(KafkaError(.closed, "producer is shut down"))) }
        let started = DispatchTime.now().uptimeNanoseconds
        let (duration, errors) = metrics.of(topic: message.topic)
        let box = DeliveryBox(topic: message.topic) { [state] result in
            state.withLock { $0.inFlight -= 1 }
            switch result {
            case .success: duration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
            case .failure: errors.increment()
            }
            completion(result)
        }
        if let error = enqueue(message, box: box) {
            box.complete(.failure(error))
        }
    }

    /// Hands the message to librdkafka (which copies it). Returns an error when librdkafka refused it;
    /// then the delivery callback will never fire and the box is released here.
    private func enqueue(_ message: KafkaOutgoingMessage, box: DeliveryBox) -> KafkaError? {
        let opaque = Unmanaged.passRetained(box).toOpaque()
        // An app-owned header list: librdkafka takes it only when produceva succeeds (see docs/kafka-notes.md).
        let headers: OpaquePointer? = message.headers.isEmpty ? nil : rd_kafka_headers_new(message.headers.count)
        for header in message.headers {
            header.value.withUnsafeBytes { bytes in
                _ = rd_kafka_header_add(headers, header.name, -1, bytes.baseAddress, bytes.count)
            }
        }
        let error: OpaquePointer? = message.topic.withCString { topic in
            withOptionalBytes(message.key) { keyPointer, keyCount in
                withOptionalBytes(message.value) { valuePointer, valueCount in
                    var fields = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 6)
                    fields[0].vtype = RD_KAFKA_VTYPE_TOPIC
                    fields[0].u.cstr = topic
                    fields[1].vtype = RD_KAFKA_VTYPE_VALUE
                    fields[1].u.mem.ptr = UnsafeMutableRawPointer(mutating: valuePointer)
                    fields[1].u.mem.size = valueCount
                    fields[2].vtype = RD_KAFKA_VTYPE_KEY
                    fields[2].u.mem.ptr = UnsafeMutableRawPointer(mutating: keyPointer)
                    fields[2].u.mem.size = keyCount
                    fields[3].vtype = RD_KAFKA_VTYPE_OPAQUE
                    fields[3].u.ptr = opaque
                    fields[4].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                    fields[4].u.i = RD_KAFKA_MSG_F_COPY
                    var count = 5
                    if let headers {
                        fields[count].vtype = RD_KAFKA_VTYPE_HEADERS
                        fields[count].u.headers = headers
                        count += 1
                    }
                    if let partition = message.partition {
                        fields.append(rd_kafka_vu_t())
                        fields[count].vtype = RD_KAFKA_VTYPE_PARTITION
                        fields[count].u.i32 = partition
                        count += 1
                    }
                    return rd_kafka_produceva(handle.raw, fields, count)
                }
            }
        }
        guard let error else { return nil }
        let code = rd_kafka_error_code(error)
        let reason = String(cString: rd_kafka_error_string(error))
        rd_kafka_error_destroy(error)
        if let headers { rd_kafka_headers_destroy(headers) }
        Unmanaged<DeliveryBox>.fromOpaque(opaque).release()
        return KafkaError(.produce, code: code.rawValue, "produce to \(message.topic): \(reason)")
    }

    /// Stops accepting messages, waits up to `timeout` for in-flight ones to be acknowledged, then
    /// destroys the client. Runs the blocking parts on the producer's own thread.
    public func shutdown(timeout: Duration = .seconds(10)) async {
        let alreadyClosed = state.withLock { state -> Bool in
            defer { state.closed = true }
            return state.closed
        }
        guard !alreadyClosed else { return }
        let handle = self.handle
        let milliseconds = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let logger = self.logger
        await executor.run {
            let err = rd_kafka_flush(handle.raw, milliseconds)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                logger.error("producer flush incomplete: \(errorString(err)), \(rd_kafka_outq_len(handle.raw)) messages not acknowledged")
            }
            let opaque = rd_kafka_opaque(handle.raw)
            rd_kafka_destroy(handle.raw)
            releaseContext(opaque)
        }
        executor.stop()
    }

    deinit {
        if !state.withLock({ $0.closed }) {
            logger.warning("KafkaProducer deinitialised without shutdown(); its client leaks")
        }
    }
}

/// Carries a message's completion through librdkafka's per-message opaque pointer.
final class DeliveryBox: Sendable {
    let topic: String
    let complete: @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void

    init(topic: String, complete: @escaping @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void) {
        self.topic = topic
        self.complete = complete
    }
}

/// An `rd_kafka_t` pointer that may cross concurrency domains: librdkafka's handle API is thread-safe.
struct SendableHandle: @unchecked Sendable {
    let raw: OpaquePointer
    init(_ raw: OpaquePointer) { self.raw = raw }
}

func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawPointer?, Int) -> R) -> R {
    guard let bytes else { return body(nil, 0) }
    return bytes.withUnsafeBytes { body($0.baseAddress, $0.count) }
}

/// Produce latency (until the broker's acknowledgement) and failures per topic: `kafka_produce_duration_seconds`,
/// `kafka_produce_errors_total`. The metrics of a topic are made once and kept (topics are a small fixed set).
private final class ProduceMetrics: Sendable {
    private let byTopic = Mutex<[String: (duration: Timer, errors: Counter)]>([:])

    func of(topic: String) -> (duration: Timer, errors: Counter) {
        byTopic.withLock { byTopic in
            if let metrics = byTopic[topic] { return metrics }
            let metrics = (
                Timer(label: "kafka_produce_duration_seconds", dimensions: [("topic", topic)], preferredDisplayUnit: .seconds),
                Counter(label: "kafka_produce_errors_total", dimensions: [("topic", topic)])
            )
            byTopic[topic] = metrics
            return metrics
        }
    }
}
