import DevTrackCore
import DevTrackGitHub
import DevTrackStore
import DevTrackWorkers
import Foundation
import Kafka
import Logging
import ServiceLifecycle

/// One run of one account: reads its window page by page and, per page, produces the page's facts (Kafka has
/// them before anything is saved), then saves the progress. A crash between the two re-reads that page; its
/// facts have natural ids, so nothing counts twice.
struct AccountSync: Sendable {
    let github: GitHubClient
    let syncState: GitHubSyncRepository
    let accounts: GitHubAccountRepository
    let facts: FactPublisher
    let intents: IntentPublisher
    let secretBox: SecretBox
    let configuration: GitHubSyncConfiguration
    let owner: String
    let logger: Logger

    /// Why a run stopped before its end.
    enum Stop: Error {
        case github(GitHubFailure)
        /// Another process holds the account (this one's lease ran out), or this one is shutting down.
        case leaseLost
        case shuttingDown
    }

    func run(_ claim: SyncClaim) async {
        let now = Date()
        var progress =
            claim.progress.flatMap(SyncProgress.from(json:))
            ?? SyncProgress.start(
                coveredTo: claim.coveredTo, now: now, backfillDays: configuration.backfillDays, overlapDays: configuration.overlapDays)
        let token: String
        do {
            token = try secretBox.open(claim.sealedToken)
        } catch {
            await pause(claim, progress, nextRunAt: nil, error: "the account's token cannot be opened with the hub's key: sign in again")
            return
        }
        logger.info("github sync of \(claim.login): \(progress.step.rawValue) of \(Timestamps.format(progress.windowFrom))…")
        var saved = (requests: progress.requests, facts: progress.facts)
        do {
            while progress.step != .done {
                if Task.isShuttingDownGracefully { throw Stop.shuttingDown }
                let page = try await readPage(&progress, claim: claim, token: token)
                try await publish(page.facts)
                progress.facts += page.facts.count
                progress.finishPage(next: page.next)
                try await save(claim, progress, since: &saved)
                if let limit = page.rateLimit, limit.remaining == 0, progress.step != .done {
                    throw Stop.github(.rateLimited(until: limit.resetAt, secondary: false))
                }
            }
            try await retryingStore {
                try await syncState.finish(
                    accountID: claim.accountID, owner: owner, windowFrom: progress.windowFrom, windowTo: progress.windowTo,
                    nextRunAt: Date().addingTimeInterval(Self.seconds(configuration.interval)), requests: progress.requests - saved.requests,
                    facts: progress.facts - saved.facts)
            }
            logger.info("github sync of \(claim.login) done: \(progress.requests) request(s), \(progress.facts) fact(s)")
        } catch Stop.github(let failure) {
            await stopped(claim, progress, by: failure, unsavedRequests: progress.requests - saved.requests)
        } catch {
            // Shutting down or the lease lost: the next claim resumes from the last saved page.
            logger.info("github sync of \(claim.login) stopped at \(progress.step.rawValue): \(error)")
        }
    }

    struct Page {
        let facts: [ActivityFact]
        let next: String?
        let rateLimit: GitHubRateLimit?
    }

    /// The current step's next page, as facts.
    private func readPage(_ progress: inout SyncProgress, claim: SyncClaim, token: String) async throws -> Page {
        let now = Date()
        do {
            switch progress.step {
            case .repositories:
                progress.requests += 1
                let answer = try await github.graphQL(
                    query: ContributionQueries.commitRepositories, variables: progress.graphQLVariables, token: token)
                progress.repositories = try ContributionAnswers.commitRepositories(answer.body)
                    .filter { $0.contributions.totalCount > 0 && InputText.problem($0.repository.nameWithOwner, maxBytes: 255) == nil }
                    .map {
                        SyncProgress.Repository(
                            nameWithOwner: $0.repository.nameWithOwner, language: $0.repository.primaryLanguage?.name,
                            commits: $0.contributions.totalCount, isPrivate: $0.repository.isPrivate)
                    }
                return Page(facts: [], next: nil, rateLimit: answer.rateLimit)
            case .commits:
                guard let first = progress.commitsPath(login: claim.login) else { return Page(facts: [], next: nil, rateLimit: nil) }
                let repository = progress.repositories[progress.repositoryIndex]
                let answer: GitHubAnswer
                progress.requests += 1
                do {
                    answer = try await github.get(progress.nextPage ?? first, token: token)
                } catch {
                    // Gone, empty or blocked since GitHub counted it: nothing to read there.
                    guard case .refused(let status, let message) = error, [404, 409, 451].contains(status) else { throw error }
                    logger.info("github sync of \(claim.login): \(repository.nameWithOwner) skipped (\(status): \(message))")
                    return Page(facts: [], next: nil, rateLimit: nil)
                }
                guard let items = try? JSONDecoder().decode([GitHubCommitItem].self, from: Data(answer.body)) else {
                    throw GitHubFailure.refused(status: answer.status, message: "the commits listing is not the documented JSON array")
                }
                let facts = SyncFacts.commits(items, repository: repository, userID: claim.userID, now: now)
                return Page(facts: facts, next: answer.nextPage, rateLimit: answer.rateLimit)
            case .pullRequests:
                return try await contributions(
                    ContributionQueries.pullRequests, &progress, token: token, page: ContributionAnswers.pullRequests,
                    facts: { SyncFacts.pullRequests($0, userID: claim.userID, now: now) })
            case .reviews:
                return try await contributions(
                    ContributionQueries.reviews, &progress, token: token, page: ContributionAnswers.reviews,
                    facts: { SyncFacts.reviews($0, userID: claim.userID, now: now) })
            case .issues:
                return try await contributions(
                    ContributionQueries.issues, &progress, token: token, page: ContributionAnswers.issues,
                    facts: { SyncFacts.issues($0, userID: claim.userID, now: now) })
            case .done:
                return Page(facts: [], next: nil, rateLimit: nil)
            }
        } catch let failure as GitHubFailure {
            throw Stop.github(failure)
        } catch let unreadable as PayloadError {
            throw Stop.github(.refused(status: 200, message: unreadable.description))
        }
    }

    /// One page of a paged contributions connection, as facts, and the cursor of the next one.
    private func contributions<Node>(
        _ query: String, _ progress: inout SyncProgress, token: String, page decode: ([UInt8]) throws -> ContributionPage<Node>,
        facts: ([Node]) -> [ActivityFact]
    ) async throws -> Page {
        progress.requests += 1
        let answer = try await github.graphQL(query: query, variables: progress.graphQLVariables, token: token)
        let page = try decode(answer.body)
        let next = page.pageInfo.hasNextPage ? page.pageInfo.endCursor.flatMap { InputText.problem($0, maxBytes: 500) == nil ? $0 : nil } : nil
        return Page(facts: facts(page.nodes), next: next, rateLimit: answer.rateLimit)
    }

    /// Kafka trouble is waited out (the page is not saved before its facts are acknowledged).
    private func publish(_ page: [ActivityFact]) async throws {
        var delay = Duration.milliseconds(200)
        while true {
            do {
                try await facts.publish(page)
                return
            } catch {
                if Task.isShuttingDownGracefully || Task.isCancelled { throw Stop.shuttingDown }
                logger.warning("github sync: facts wait for Kafka: \(error)")
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(10))
            }
        }
    }

    private func save(_ claim: SyncClaim, _ progress: SyncProgress, since saved: inout (requests: Int, facts: Int)) async throws {
        let (requests, facts) = (progress.requests - saved.requests, progress.facts - saved.facts)
        let kept = try await retryingStore {
            try await syncState.saveProgress(
                accountID: claim.accountID, owner: owner, progress: progress.json(), requests: requests, facts: facts, lease: configuration.lease)
        }
        guard kept else { throw Stop.leaseLost }
        saved = (progress.requests, progress.facts)
    }

    /// PostgreSQL trouble is waited out too.
    private func retryingStore<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        var delay = Duration.milliseconds(200)
        while true {
            do {
                return try await body()
            } catch  where StoreFailures.classify(error) == .transient {
                if Task.isShuttingDownGracefully || Task.isCancelled { throw Stop.shuttingDown }
                logger.warning("github sync: waiting for PostgreSQL: \(StoreFailures.summary(error))")
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(10))
            }
        }
    }

    /// A run GitHub stopped: resume after a limit's reset, retry later when GitHub is away, and stop (telling the
    /// user in-app) when GitHub refuses the token.
    /// `unsavedRequests`: what this run asked GitHub since its last saved page, the refused request included.
    private func stopped(_ claim: SyncClaim, _ progress: SyncProgress, by failure: GitHubFailure, unsavedRequests: Int) async {
        switch failure {
        case .rateLimited(let until, _):
            logger.info("github sync of \(claim.login) waits for GitHub's rate limit until \(Timestamps.format(until))")
            await pause(claim, progress, nextRunAt: max(until, Date()).addingTimeInterval(1), error: failure.description, requests: unsavedRequests)
        case .unavailable:
            logger.warning("github sync of \(claim.login): \(failure)")
            await pause(
                claim, progress, nextRunAt: Date().addingTimeInterval(Self.seconds(configuration.unavailableRetry)), error: failure.description,
                requests: unsavedRequests)
        case .badCredentials:
            logger.warning("github sync of \(claim.login): \(failure); the account needs signing in again")
            let intent = NotificationIntent(
                userID: claim.userID, type: "account.reauth_needed", title: "Sign in with GitHub again",
                body: "GitHub no longer accepts DevTrack's access to @\(claim.login): sign in with that account again to resume syncing its history.",
                data: ["account_id": claim.accountID.uuidString.lowercased(), "login": claim.login],
                dedupeKey: "account.reauth_needed:\(claim.accountID.uuidString.lowercased()):\(Int(Date().timeIntervalSince1970 / 86_400))")
            do {
                try await intents.publish([intent])
                try await retryingStore { try await accounts.markNeedsReauth(id: claim.accountID) }
            } catch {
                logger.warning("github sync of \(claim.login): cannot record the refused token yet (tried again next run): \(error)")
                await pause(
                    claim, progress, nextRunAt: Date().addingTimeInterval(Self.seconds(configuration.unavailableRetry)), error: failure.description,
                    requests: unsavedRequests)
                return
            }
            await pause(claim, progress, nextRunAt: nil, error: failure.description, requests: unsavedRequests)
        case .refused:
            logger.warning("github sync of \(claim.login): \(failure)")
            await pause(
                claim, nil, nextRunAt: Date().addingTimeInterval(Self.seconds(configuration.interval)), error: failure.description,
                requests: unsavedRequests)
        }
    }

    /// Records where the run stopped (nil progress: start afresh next time) and releases the account.
    private func pause(_ claim: SyncClaim, _ progress: SyncProgress?, nextRunAt: Date?, error: String, requests: Int = 0) async {
        let saved = progress.map { $0.json() }
        do {
            try await retryingStore {
                try await syncState.pause(
                    accountID: claim.accountID, owner: owner, progress: saved, nextRunAt: nextRunAt, error: error, requests: requests, facts: 0)
            }
        } catch {
            logger.warning("github sync of \(claim.login): cannot save the pause (the lease runs out instead): \(error)")
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
