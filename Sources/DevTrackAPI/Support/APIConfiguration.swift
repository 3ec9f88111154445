import Foundation

/// What the API's controllers are configured with (from `HubConfiguration`).
public struct APIConfiguration: Sendable {
    /// Base URL under which ingest is reachable from GitHub, used to show a source's webhook URL.
    public var publicIngestURL: String
    public var maxRangeDays: Int
    /// How long a rotated-out secret keeps verifying.
    public var secretRotationGrace: Duration
    /// WakaTime's keystroke timeout, to recompute coding time when the user's zone changes.
    public var codingTimeout: Duration
    /// Streak freezes a user may use per calendar month.
    public var streakFreezesPerMonth: Int

    /// Hosts that may stand in for Discord and skip the public-address check (`notify.allow_hosts`).
    public var outboundAllowHosts: Set<String>
    /// The link in Discord messages back to a user's profile, `{login}` replaced.
    public var profileURLTemplate: String?
    /// Outbound webhook endpoints a user may have.
    public var maxWebhooksPerUser: Int
    /// Live (neither revoked nor expired) API tokens a user may have.
    public var maxTokensPerUser: Int
    /// How often an open `/api/v1/stream` checks that its credential still authenticates.
    public var streamRecheckInterval: Duration
    public var signIn: SignInConfiguration
    /// How long public profiles, cards and badges are cached, in this process and by clients (`Cache-Control`).
    public var publicCacheLifetime: Duration
    /// The header a reverse proxy in front writes the client's address to (`X-Forwarded-For`), for the public routes'
    /// rate limit; nil counts by the connection's peer.
    public var clientAddressHeader: String?

    public init(
        publicIngestURL: String, maxRangeDays: Int, secretRotationGrace: Duration, codingTimeout: Duration, streakFreezesPerMonth: Int,
        outboundAllowHosts: Set<String>, profileURLTemplate: String?, maxWebhooksPerUser: Int, maxTokensPerUser: Int,
        streamRecheckInterval: Duration, signIn: SignInConfiguration, publicCacheLifetime: Duration
    ) {
        self.signIn = signIn
        self.publicCacheLifetime = publicCacheLifetime
        self.maxTokensPerUser = maxTokensPerUser
        self.streamRecheckInterval = streamRecheckInterval
        self.publicIngestURL = publicIngestURL
        self.maxRangeDays = maxRangeDays
        self.secretRotationGrace = secretRotationGrace
        self.codingTimeout = codingTimeout
        self.streakFreezesPerMonth = streakFreezesPerMonth
        self.outboundAllowHosts = outboundAllowHosts
        self.profileURLTemplate = profileURLTemplate
        self.maxWebhooksPerUser = maxWebhooksPerUser
    }
}
