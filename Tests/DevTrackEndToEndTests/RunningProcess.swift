import DevTrackTestSupport
import Foundation
import Synchronization

/// A child process of the test (the built `devtrack` binary), started with `posix_spawn`, its stdout and
/// stderr in a log file that tests can wait on.
final class RunningProcess: @unchecked Sendable {
    let name: String
    let pid: pid_t
    let logPath: String
    private let exitStatus = ExitBox()

    init(name: String, executable: String, arguments: [String], environment: [String: String], logPath: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard status == 0 else {
            throw HarnessError("cannot start \(executable): \(String(cString: strerror(status)))")
        }
        self.name = name
        self.pid = pid
        self.logPath = logPath
        let box = exitStatus
        let child = pid
        Thread {
            var status: Int32 = 0
            while waitpid(child, &status, 0) == -1 && errno == EINTR {}
            box.set(status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f))
        }.start()
    }

    var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    var exitCode: Int32? { exitStatus.value }

    /// Waits until the output has a line containing `text`; returns that line.
    @discardableResult
    func waitForLine(containing text: String, timeout seconds: Double = 60) async throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let line = output.split(separator: "\n").first(where: { $0.contains(text) }) { return String(line) }
            if let code = exitCode {
                throw HarnessError("\(name) exited (\(code)) before printing '\(text)':\n\(output.suffix(3000))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError("\(name) did not print '\(text)' within \(seconds)s:\n\(output.suffix(3000))")
    }

    func signal(_ signal: Int32) {
        if exitCode == nil { kill(pid, signal) }
    }

    /// Waits for the process to end; returns its exit code (128 + signal when killed).
    func waitForExit(timeout seconds: Double = 30) async throws -> Int32 {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let code = exitCode { return code }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError("\(name) did not exit within \(seconds)s:\n\(output.suffix(3000))")
    }

    /// SIGTERM, then SIGKILL if it lingers.
    func stop() async {
        signal(SIGTERM)
        if (try? await waitForExit(timeout: 15)) == nil {
            signal(SIGKILL)
            _ = try? await waitForExit(timeout: 5)
        }
    }
}

private final class ExitBox: @unchecked Sendable {
    private let lock = NSLock()
    private var code: Int32?
    var value: Int32? { lock.withLock { code } }
    func set(_ value: Int32) { lock.withLock { code = value } }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A TCP port that is free now, picked at random below the kernel's ephemeral range (32768+ here): a port the
/// kernel hands out itself can be handed again, between our probe and the server's bind, to a mock Kafka
/// broker or an outgoing connection of a test running in parallel ("Address already in use").
/// A port is handed out once per test process: two hubs starting at the same moment could otherwise draw
/// the same free port before either binds it (seen in a full run).
func freePort() throws -> Int {
    for _ in 0..<200 {
        let candidate = Int.random(in: 20_000..<32_000)
        guard handedOutPorts.withLock({ $0.insert(candidate).inserted }) else { continue }
        if try canBind(port: candidate) { return candidate }
    }
    throw HarnessError("no free port found in 20000..<32000")
}

private let handedOutPorts = Mutex<Set<Int>>([])

private func canBind(port: Int) throws -> Bool {
    try withLoopbackSocket(port: port) { fd, address, length in bind(fd, address, length) == 0 }
}
