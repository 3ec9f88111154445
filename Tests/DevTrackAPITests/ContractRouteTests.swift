import DevTrackAPI
import DevTrackCore
import DevTrackHTTP
import DevTrackStore
import DevTrackTestSupport
import Foundation
import Hummingbird
import Logging
import Testing

/// The contract in the other direction from schemathesis (which calls what the document declares): every route the API
/// server registers is an operation of docs/openapi.yaml on the API server, and every such operation is a route.
@Suite(.timeLimit(.minutes(1)))
struct ContractRouteTests {
    @Test func everyRouteOfTheAPIServerIsInTheDocumentAndBack() async throws {
        try await TestDatabase.shared.withFreshStore { store, _ in
            // As `devtrack api` assembles it (Roles.api).
            let router = Router(context: APIRequestContext.self)
            router.addHealthRoutes(checks: { [] })
            let limiter = PublicRateLimiter(
                limits: PublicRateLimits(profileRequests: 60, imageRequests: 3_000), windows: RequestWindowRepository(store.database),
                logger: Logger(label: "contract-tests"))
            try APIRoutes(
                database: store.database, secretBox: try SecretBox(base64Key: SecretBox.newBase64Key()), configuration: APIRouterTest.configuration(),
                live: LiveEventsHub(database: store.database, logger: Logger(label: "contract-tests")), rateLimiter: limiter
            ).addRoutes(to: router)
            let project = RepositoryPaths.root
            try OpenAPIDocumentRoutes(directory: "\(project)/docs").addRoutes(to: router)
            try DashboardRoutes(directory: "\(project)/web", settings: .init(signIn: "link", ingestURL: APIRouterTest.ingestURL))
                .addRoutes(to: router)
            var registered = Set(router.routes.map { "\($0.method) \($0.path)" })
            // The client's files are one catch-all route; the document names them by folder (DashboardRouterTests checks each file).
            for method in ["GET", "HEAD"] {
                #expect(registered.remove("\(method) /assets/**") != nil)
                registered.formUnion(["\(method) /assets/{file}", "\(method) /assets/pages/{file}"])
            }
            let documented = try OpenAPIContract.operations(onServer: "api_port")
            #expect(registered.subtracting(documented).sorted() == [], "routes the document does not declare")
            #expect(documented.subtracting(registered).sorted() == [], "operations no route serves")
        }
    }
}
