import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A new TCP socket and the address 127.0.0.1:`port`, for `body`; the socket is closed after it. For tests that need
/// bytes no HTTP client sends: pipelined requests, half-closed connections, heads that never end.
public func withLoopbackSocket<T>(port: Int, _ body: (Int32, UnsafePointer<sockaddr>, socklen_t) throws -> T) throws -> T {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw LoopbackSocketError(step: "socket") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return try withUnsafePointer(to: &address) {
        try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}

/// A whole conversation on one connection, its calls blocking on a thread of their own.
public enum LoopbackExchange {
    /// Connects to 127.0.0.1:`port`, sends `text` in one write (then closes the sending side when `halfClose`), and reads
    /// until the server closes the connection. Throws when the server has not closed it within `timeout` seconds.
    public static func run(port: Int, sending text: String, halfClose: Bool = false, timeout: Int = 30) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(
                    with: Result { try blockingRun(port: port, sending: Array(text.utf8), halfClose: halfClose, timeout: timeout) })
            }
        }
    }

    static func blockingRun(port: Int, sending bytes: [UInt8], halfClose: Bool, timeout: Int) throws -> String {
        try withLoopbackSocket(port: port) { fd, address, length in
            guard connect(fd, address, length) == 0 else { throw LoopbackSocketError(step: "connect") }
            var limit = timeval(tv_sec: timeout, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, bytes.count, 0) }) == bytes.count else {
                throw LoopbackSocketError(step: "send")
            }
            if halfClose, shutdown(fd, Int32(SHUT_WR)) != 0 { throw LoopbackSocketError(step: "shutdown") }
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count == 0 { return String(decoding: received, as: UTF8.self) }
                guard count > 0 else {
                    throw LoopbackSocketError(step: "recv, not closed within \(timeout) s: \(String(decoding: received, as: UTF8.self))")
                }
                received += buffer[0..<count]
            }
        }
    }
}

public struct LoopbackSocketError: Error, CustomStringConvertible {
    public let step: String
    public var description: String { "loopback socket: \(step) failed" }
}
