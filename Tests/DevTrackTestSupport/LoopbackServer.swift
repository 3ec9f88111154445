import Hummingbird
import Logging
import Synchronization

/// Serves `router` on a free loopback port for as long as `body` runs, giving it the base URL: how the fakes of
/// outside services (Discord, GitHub) stand in for them.
func serveOnLoopback<T: Sendable>(
    _ router: Router<BasicRequestContext>, label: String, _ body: @Sendable (String) async throws -> T
) async throws -> T {
    let port = Mutex<Int?>(nil)
    var logger = Logger(label: label)
    logger.logLevel = .warning
    let app = Application(
        router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } }, logger: logger)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            try await app.runService()
            return nil
        }
        let bound = try await eventually(within: 10, { port.withLock { $0 } }, until: { $0 != nil })
        let result = try await body("http://127.0.0.1:\(bound!)")
        group.cancelAll()
        return result
    }
}
