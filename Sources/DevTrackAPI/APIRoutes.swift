import DevTrackCore
import DevTrackGitHub
import DevTrackHTTP
import DevTrackOutbound
import DevTrackStore
import Foundation
import HTTPTypes
import Hummingbird

/// The HTTP query API for web clients (`/api/v1/...`): one controller per resource, all behind bearer-token
/// authentication. A resource of another user is a 404, as one that does not exist.
public struct APIRoutes: Sendable {
    let database: Database
    let secretBox: SecretBox
    let configuration: APIConfiguration
    /// For `GET /api/v1/stream`; runs as a service beside the HTTP server.
    let live: LiveEventsHub

    /// For the public routes; runs as a service beside the HTTP server.
    let rateLimiter: PublicRateLimiter

    public init(database: Database, secretBox: SecretBox, configuration: APIConfiguration, live: LiveEventsHub, rateLimiter: PublicRateLimiter) {
        self.database = database
        self.secretBox = secretBox
        self.configuration = configuration
        self.live = live
        self.rateLimiter = rateLimiter
    }

    public func addRoutes(to router: Router<APIRequestContext>) throws {
        let v1 = router.group("/api/v1").add(
            middleware: CredentialAuthenticator(tokens: TokenRepository(database), sessions: SessionRepository(database)))
        let maxRangeDays = configuration.maxRangeDays
        let publicProfiles = PublicProfiles(database: database, lifetime: configuration.publicCacheLifetime)
        MetricsController(
            activity: ActivityRepository(database), codingTime: CodingTimeRepository(database), streakFreezes: StreakFreezeRepository(database),
            maxRangeDays: maxRangeDays
        ).addRoutes(to: v1)
        BreakdownsController(
            activity: ActivityRepository(database), codingTime: CodingTimeRepository(database), maxRangeDays: maxRangeDays,
            codingTimeout: Double(configuration.codingTimeout.components.seconds)
        ).addRoutes(to: v1)
        ActivityFeedController(activity: ActivityRepository(database)).addRoutes(to: v1)
        SourcesController(
            sources: SourceRepository(database), secretBox: secretBox, publicIngestURL: configuration.publicIngestURL,
            secretRotationGrace: configuration.secretRotationGrace,
            selfClient: try OutboundHTTPClient(
                allowList: Set([URLComponents(string: configuration.publicIngestURL)?.host].compactMap { $0 }), timeout: .seconds(10))
        ).addRoutes(to: v1)
        CodingController(codingKeys: CodingKeyRepository(database), codingTime: CodingTimeRepository(database), maxRangeDays: maxRangeDays)
            .addRoutes(to: v1)
        GoalsController(goals: GoalRepository(database)).addRoutes(to: v1)
        StreakFreezesController(streakFreezes: StreakFreezeRepository(database), freezesPerMonth: configuration.streakFreezesPerMonth)
            .addRoutes(to: v1)
        AchievementsController(achievements: AchievementRepository(database)).addRoutes(to: v1)
        NotificationsController(notifications: NotificationRepository(database)).addRoutes(to: v1)
        SettingsController(
            users: UserRepository(database), profiles: ProfileRepository(database), publicProfiles: publicProfiles,
            discord: DiscordSettingsRepository(database),
            secretBox: secretBox, outboundAllowHosts: configuration.outboundAllowHosts, codingTimeout: configuration.codingTimeout,
            profileURLTemplate: configuration.profileURLTemplate,
            outbound: try OutboundHTTPClient(allowList: configuration.outboundAllowHosts)
        ).addRoutes(to: v1)
        WebhooksController(
            webhookEndpoints: WebhookEndpointRepository(database), secretBox: secretBox, maxWebhooksPerUser: configuration.maxWebhooksPerUser,
            secretRotationGrace: configuration.secretRotationGrace, outboundAllowHosts: configuration.outboundAllowHosts
        )
        .addRoutes(to: v1)
        StreamController(
            live: live, tokens: TokenRepository(database), sessions: SessionRepository(database),
            recheckInterval: configuration.streamRecheckInterval
        ).addRoutes(to: v1)
        TokensController(tokens: TokenRepository(database), maxTokensPerUser: configuration.maxTokensPerUser).addRoutes(to: v1)
        AccountsController(accounts: GitHubAccountRepository(database), syncState: GitHubSyncRepository(database)).addRoutes(to: v1)
        ExportController(exports: ExportRepository(database)).addRoutes(to: v1)
        MeController(
            accounts: AccountRepository(database), publicProfiles: publicProfiles,
            secureCookies: configuration.signIn.secureCookies
        ).addRoutes(to: v1)
        // Without sign-in: what users made public, each request counted against its address's allowance.
        let open = router.group("/api/v1")
        let publicRoutes = PublicProfileController(
            profiles: publicProfiles, limiter: rateLimiter, maxAge: Int(configuration.publicCacheLifetime.components.seconds),
            clientAddressHeader: configuration.clientAddressHeader.flatMap { HTTPField.Name($0) })
        publicRoutes.addRoutes(to: open)
        CardsController(profiles: publicProfiles, publicRoutes: publicRoutes).addRoutes(to: open)
        // Open to anyone, with the caller's own place when a credential is presented (and checked).
        let signedInOrNot = router.group("/api/v1").add(
            middleware: CredentialAuthenticator(tokens: TokenRepository(database), sessions: SessionRepository(database), required: false))
        LeaderboardController(leaderboard: LeaderboardRepository(database), publicRoutes: publicRoutes).addRoutes(to: signedInOrNot)
        let signIn = configuration.signIn
        AuthController(
            sessions: SessionRepository(database), tokens: TokenRepository(database), accounts: GitHubAccountRepository(database),
            secretBox: secretBox, configuration: signIn,
            github: try signIn.github.map { try GitHubClient(webURL: $0.webURL, apiURL: $0.apiURL) }, publicRoutes: publicRoutes
        ).addRoutes(to: router)
    }
}
