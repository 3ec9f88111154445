import DevTrackCore
import DevTrackGitHub
import DevTrackStore
import DevTrackWorkers
import Foundation
import Kafka
import Logging
import ServiceLifecycle

/// How the sync runs (`github.sync.*` of the configuration).
public struct GitHubSyncConfiguration: Sendable {
    /// Between the end of one run of an account and the next (the original DevTrack refreshed by cron).
    public var interval: Duration
    /// The first run of an account reads this far back (at most a year: GraphQL's window).
    public var backfillDays: Int
    /// Later runs re-read this much before what is covered (pull requests merged since).
    public var overlapDays: Int
    /// Accounts synced at once by one process.
    public var concurrency: Int
    /// How often an idle process looks for a due account.
    public var pollInterval: Duration
    /// How long a claimed account stays with this process without a saved page: after a crash another
    /// process resumes it then.
    public var lease: Duration
    /// How long to wait when GitHub is away (no answer, 5xx) before trying the account again.
    public var unavailableRetry: Duration

    public init(
        interval: Duration, backfillDays: Int, overlapDays: Int, concurrency: Int, pollInterval: Duration, lease: Duration,
        unavailableRetry: Duration
    ) {
        self.interval = interval
        self.backfillDays = backfillDays
        self.overlapDays = overlapDays
        self.concurrency = concurrency
        self.pollInterval = pollInterval
        self.lease = lease
        self.unavailableRetry = unavailableRetry
    }
}

/// `devtrack github-sync`: for every linked GitHub account with a token, backfills its history on the first run,
/// then re-syncs on a schedule, producing activity facts to `devtrack.activity` (the same natural ids as the
/// webhooks, so the metrics worker counts a fact seen both ways once). Accounts are claimed under a lease in
/// PostgreSQL, so any number of sync processes share them and one account is never synced twice at once.
public struct GitHubSyncService: Service {
    let sync: AccountSync
    let syncState: GitHubSyncRepository
    let configuration: GitHubSyncConfiguration
    let owner: String
    let logger: Logger

    public init(
        database: Database, producer: KafkaProducer, github: GitHubClient, secretBox: SecretBox, configuration: GitHubSyncConfiguration,
        logger: Logger
    ) {
        let owner = "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
        self.syncState = GitHubSyncRepository(database)
        self.configuration = configuration
        self.owner = owner
        self.logger = logger
        self.sync = AccountSync(
            github: github, syncState: syncState, accounts: GitHubAccountRepository(database), facts: FactPublisher(producer: producer),
            intents: IntentPublisher(producer: producer), secretBox: secretBox, configuration: configuration, owner: owner, logger: logger)
    }

    public func run() async throws {
        logger.info("github sync \(owner) running: \(configuration.concurrency) account(s) at a time")
        await withDiscardingTaskGroup { group in
            for _ in 0..<max(1, configuration.concurrency) {
                group.addTask { await loop() }
            }
        }
        logger.info("github sync \(owner) stopped")
    }

    /// Claims due accounts one after the other; sleeps when none is due. Ends on graceful shutdown (a run in
    /// progress stops after its current page, which is saved).
    private func loop() async {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            let claim: SyncClaim?
            do {
                claim = try await syncState.claimDue(owner: owner, lease: configuration.lease)
            } catch {
                logger.warning("github sync: cannot look for due accounts (retried): \(StoreFailures.summary(error))")
                claim = nil
            }
            if let claim {
                await sync.run(claim)
            } else {
                do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: configuration.pollInterval) } } catch { return }
            }
        }
    }
}
