import Subprocess

/// Runs a program to completion (swift-subprocess: spawned and awaited without blocking the cooperative pool,
/// which Foundation's `Process.waitUntilExit` would, and can hang on Linux). Standard output and error come
/// back together, for the messages of `initdb` and `pg_ctl` (and of the tests' own helper scripts).
public enum ChildProcess {
    public struct Outcome: Sendable {
        public let status: Int32
        public let output: String
    }

    /// What PostgreSQL's tools print stays far below this; more is cut, never an error.
    static let outputLimit = 1 << 20

    public static func run(_ executable: String, _ arguments: [String]) async -> Outcome {
        do {
            let result = try await Subprocess.run(
                .path(.init(executable)), arguments: Arguments(arguments), output: .string(limit: outputLimit), error: .combinedWithOutput)
            let status: Int32 =
                switch result.terminationStatus {
                case .exited(let code): code
                case .signaled(let signal): 128 + signal
                }
            return Outcome(status: status, output: result.standardOutput)
        } catch {
            return Outcome(status: -1, output: "cannot run \(executable): \(error)")
        }
    }
}
