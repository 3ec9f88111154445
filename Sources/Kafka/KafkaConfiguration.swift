import CRdKafka
import Logging

/// librdkafka configuration properties (`bootstrap.servers`, `acks`, ...), validated when a client is built.
public struct KafkaConfiguration: Sendable {
    public var properties: [String: String]

    public init(_ properties: [String: String] = [:]) {
        self.properties = properties
    }

    public init(bootstrapServers: String, _ extra: [String: String] = [:]) {
        self.properties = extra
        self.properties["bootstrap.servers"] = bootstrapServers
    }

    public subscript(key: String) -> String? {
        get { properties[key] }
        set { properties[key] = newValue }
    }

    /// Builds an `rd_kafka_conf_t`; the caller owns it until it is handed to `rd_kafka_new`.
    func makeNativeConfiguration() throws(KafkaError) -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(.configuration, "rd_kafka_conf_new failed")
        }
        var errorBuffer = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            let result = rd_kafka_conf_set(conf, key, value, &errorBuffer, errorBuffer.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError(.configuration, "\(key): \(cString(errorBuffer))")
            }
        }
        return conf
    }
}

/// Per-handle state reachable from librdkafka's C callbacks through the handle's opaque pointer.
final class ClientContext: @unchecked Sendable {
    let logger: Logger
    let onRebalance: (@Sendable (OpaquePointer, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> Void)?

    init(
        logger: Logger,
        onRebalance: (@Sendable (OpaquePointer, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> Void)? = nil
    ) {
        self.logger = logger
        self.onRebalance = onRebalance
    }

    static func from(_ handle: OpaquePointer?) -> ClientContext? {
        guard let handle, let opaque = rd_kafka_opaque(handle) else { return nil }
        return Unmanaged<ClientContext>.fromOpaque(opaque).takeUnretainedValue()
    }
}

/// Creates an `rd_kafka_t` whose logs go to swift-log and whose opaque pointer is `context` (retained;
/// release it with `releaseContext` after `rd_kafka_destroy`).
func makeClient(
    type: rd_kafka_type_t,
    configuration: KafkaConfiguration,
    context: ClientContext,
    configure: (OpaquePointer) -> Void = { _ in }
) throws(KafkaError) -> OpaquePointer {
    let conf = try configuration.makeNativeConfiguration()
    let retainedContext = Unmanaged.passRetained(context)
    rd_kafka_conf_set_opaque(conf, retainedContext.toOpaque())
    rd_kafka_conf_set_log_cb(conf) { handle, level, facility, message in
        guard let context = ClientContext.from(handle) else { return }
        let text = "\(facility.map { String(cString: $0) } ?? "-"): \(message.map { String(cString: $0) } ?? "")"
        switch level {
        case 0...3: context.logger.error("librdkafka \(text)")
        case 4: context.logger.warning("librdkafka \(text)")
        case 5...6: context.logger.info("librdkafka \(text)")
        default: context.logger.debug("librdkafka \(text)")
        }
    }
    configure(conf)
    var errorBuffer = [CChar](repeating: 0, count: 512)
    guard let handle = rd_kafka_new(type, conf, &errorBuffer, errorBuffer.count) else {
        retainedContext.release()
        rd_kafka_conf_destroy(conf)
        throw KafkaError(.clientCreation, cString(errorBuffer))
    }
    return handle
}

/// Releases the context retained by `makeClient`; call after `rd_kafka_destroy`.
func releaseContext(_ pointer: UnsafeMutableRawPointer?) {
    guard let pointer else { return }
    Unmanaged<ClientContext>.fromOpaque(pointer).release()
}

func cString(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

func errorString(_ err: rd_kafka_resp_err_t) -> String {
    String(cString: rd_kafka_err2str(err))
}
