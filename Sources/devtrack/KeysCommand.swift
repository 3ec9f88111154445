import ArgumentParser
import DevTrackCore
import DevTrackStore
import Foundation

/// `devtrack keys`: the encryption keys that seal secrets at rest. Rotating, online: (1) make a key (`keys generate`);
/// (2) give every process `DEVTRACK_ENCRYPTION_KEYS=new,old` (or a key file, the new key first) and restart them one by
/// one — they seal with the new key and open both; (3) `keys rotate` re-seals everything stored under the new key;
/// (4) drop the old key from the configuration.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Encryption keys of sealed secrets: generate one, or re-seal every secret under the current key.",
        subcommands: [Generate.self, Rotate.self])

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a new random key (32 bytes, base64).")

        func run() {
            print(SecretBox.newBase64Key())
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-seal every stored secret under the current key (the first configured); prints a JSON line per column.",
            discussion: """
                Sources' and webhooks' secrets (and their previous ones), Discord URLs, GitHub tokens and pending sign-ins. \
                Run it after every process has the new key first; it exits 1 if a secret opens with none of the keys.
                """)
        @OptionGroup var options: CommonOptions

        func run() async throws {
            let configuration = try options.load()
            let box = try configuration.requireSecretBox()
            printLine("current key id \(box.currentKeyID)")
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            let reports = try await withDatabase(configuration.requireDatabaseURL(), logger: makeLogger("devtrack.keys")) { database in
                try await SealedSecretRepository(database).resealAll(with: box) { report in
                    printLine(String(decoding: (try? encoder.encode(report)) ?? Data(), as: UTF8.self))
                }
            }
            let unreadable = reports.reduce(0) { $0 + $1.unreadable }
            let resealed = reports.reduce(0) { $0 + $1.resealed }
            printLine("re-sealed \(resealed) secret(s); \(unreadable) open with none of the configured keys")
            if unreadable > 0 { throw ExitCode.failure }
        }
    }
}
