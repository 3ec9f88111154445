import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A keep-alive HTTP/1.1 connection to a server on 127.0.0.1, with blocking calls, for the freshness load
/// generators. They share the two cores with the hub they measure, so they must cost little: URLSession took
/// ~900 µs of CPU per delivery at 500 deliveries/s (almost half a core); this takes a few µs. Use it only on a
/// thread of its own (`LoopbackThreads`), never on Swift's cooperative pool.
final class LoopbackConnection {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let port: UInt16
    private var socket: Int32 = -1
    private var pending: [UInt8] = []
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)

    init(port: UInt16) {
        self.port = port
    }

    deinit {
        if socket >= 0 { close(socket) }
    }

    /// The bytes of one request; `Host` and `Content-Length` are added here.
    static func request(method: String, path: String, headers: [(String, String)], body: [UInt8] = []) -> [UInt8] {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + body
    }

    /// Sends `request` and reads the answer; reconnects once when the server had closed the kept connection.
    func send(_ request: [UInt8]) throws -> (status: Int, body: [UInt8]) {
        do {
            return try exchange(request)
        } catch {
            disconnect()
            return try exchange(request)
        }
    }

    private func exchange(_ request: [UInt8]) throws -> (status: Int, body: [UInt8]) {
        if socket < 0 { try connect() }
        var sent = 0
        try request.withUnsafeBytes { bytes in
            while sent < bytes.count {
                let written = Glibc.send(socket, bytes.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
                guard written > 0 else { throw Failure(description: "send: errno \(errno)") }
                sent += written
            }
        }
        let headEnd = try readUntilHeadEnd()
        let head = String(decoding: pending[..<headEnd], as: UTF8.self)
        pending.removeFirst(headEnd + 4)
        let lines = head.split(separator: "\r\n")
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1.1 "), let status = Int(statusLine.dropFirst(9).prefix(3)) else {
            throw Failure(description: "not an HTTP/1.1 answer: \(head.prefix(80))")
        }
        var length: Int?
        var chunked = false
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let name = parts[0].lowercased()
            let value = parts[1].trimmingCharacters(in: .whitespaces)
            if name == "content-length" { length = Int(value) }
            if name == "transfer-encoding" && value.lowercased().contains("chunked") { chunked = true }
        }
        if chunked { return (status, try readChunkedBody()) }
        let bodyLength = length ?? 0
        guard bodyLength >= 0 else { throw Failure(description: "bad Content-Length") }
        return (status, try take(bodyLength))
    }

    private func connect() throws {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var noDelay: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw Failure(description: "connect to port \(port): errno \(errno)")
        }
        socket = fd
        pending = []
    }

    private func disconnect() {
        if socket >= 0 { close(socket) }
        socket = -1
        pending = []
    }

    /// Reads more bytes into `pending`; throws when the server closed the connection.
    private func fill() throws {
        let count = readBuffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw Failure(description: count == 0 ? "connection closed" : "recv: errno \(errno)") }
        pending.append(contentsOf: readBuffer[..<count])
    }

    private func readUntilHeadEnd() throws -> Int {
        var searchFrom = 0
        while true {
            if pending.count >= 4 {
                for index in searchFrom...(pending.count - 4)
                where pending[index] == 13 && pending[index + 1] == 10 && pending[index + 2] == 13 && pending[index + 3] == 10 {
                    return index
                }
                searchFrom = pending.count - 3
            }
            try fill()
        }
    }

    private func take(_ count: Int) throws -> [UInt8] {
        while pending.count < count { try fill() }
        let bytes = Array(pending[..<count])
        pending.removeFirst(count)
        return bytes
    }

    private func readLine() throws -> String {
        while true {
            if let end = pending.firstIndex(of: 10), end > 0, pending[end - 1] == 13 {
                let line = String(decoding: pending[..<(end - 1)], as: UTF8.self)
                pending.removeFirst(end + 1)
                return line
            }
            try fill()
        }
    }

    private func readChunkedBody() throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            guard let size = Int(try readLine().split(separator: ";").first ?? "", radix: 16), size >= 0 else {
                throw Failure(description: "bad chunk size")
            }
            if size == 0 {
                while try !readLine().isEmpty {}  // trailers, then the blank line
                return body
            }
            body += try take(size)
            _ = try take(2)
        }
    }
}

/// Runs blocking work on threads of its own and lets async code wait for their results.
enum LoopbackThreads {
    static func run<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async -> Result {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: work()) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }
}
