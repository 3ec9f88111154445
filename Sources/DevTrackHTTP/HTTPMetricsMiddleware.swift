import Dispatch
import Hummingbird
import Metrics
import Synchronization

/// Counts and times every answer (`http_server_requests_total`, `http_server_request_duration_seconds` by route, method
/// and status; `http_server_active_requests` by method), as Hummingbird's `MetricsMiddleware` does, but leaves an answer
/// of known length whole. Hummingbird's wraps every body in a post-write closure, and a closure body makes the server
/// write head, body and end one by one: two more hops to the connection's event loop and one more `write` to the
/// socket per answer (ingest: 2.29 writes per delivery with it, 1.26 without, `strace -c`; its CPU moved within noise,
/// docs/benchmarks.md). A body of known length is written right after the handler returns, so it is timed then; a
/// stream (no length: live events, exports) is still timed to its last byte.
public struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    private let metrics: HTTPRouteMetrics

    /// - Parameter factory: where the metrics go; the process's (`MetricsSystem`, bootstrapped before routers are built) by default.
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        metrics = HTTPRouteMetrics(factory: factory)
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = DispatchTime.now().uptimeNanoseconds
        let (metrics, active) = (self.metrics, self.metrics.active(request.method))
        active.increment()
        let finish: @Sendable (HTTPResponse.Status, String) -> Void = { status, fallback in
            metrics.answered(route: context.endpointPath ?? fallback, method: request.method, status: status, since: started)
            active.decrement()
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            finish((error as? any HTTPResponseError)?.status ?? .internalServerError, "NotFound")
            throw error
        }
        let status = response.status
        if response.body.contentLength != nil {
            finish(status, "Unknown")
        } else {
            let stream = response.body
            response.body = ResponseBody { writer in
                defer { finish(status, "Unknown") }
                try await stream.write(writer)
            }
        }
        return response
    }
}

/// The metrics of each route, method and status, made once: a lookup in the metrics factory takes its lock and builds
/// labels, which is too much for every request. Also used by a route answered below Hummingbird's handlers
/// (ingest's `GitHubDeliveryFastPath`), so that its answers are counted the same way.
public final class HTTPRouteMetrics: Sendable {
    struct Key: Hashable {
        let route: String
        let method: HTTPRequest.Method
        let status: Int
    }

    private let factory: any MetricsFactory
    private let answers = Mutex<[Key: Answers]>([:])
    private let inProgress = Mutex<[HTTPRequest.Method: Meter]>([:])

    public init(factory: any MetricsFactory = MetricsSystem.factory) { self.factory = factory }

    /// The in-progress gauge of `method`: incremented when a request starts, decremented when it is answered.
    public func active(_ method: HTTPRequest.Method) -> Meter {
        inProgress.withLock { meters in
            if let meter = meters[method] { return meter }
            let meter = Meter(label: "http_server_active_requests", dimensions: [("method", method.rawValue)], factory: factory)
            meters[method] = meter
            return meter
        }
    }

    /// Counts and times one answer; `started` is `DispatchTime.now().uptimeNanoseconds` when the request came.
    public func answered(route: String, method: HTTPRequest.Method, status: HTTPResponse.Status, since started: UInt64) {
        answers(route: route, method: method, status: status).record(since: started)
    }

    /// The counter and timer of one route, method and status, for a caller that answers the same way many times and
    /// so can skip the lookup (`GitHubDeliveryFastPath`).
    public func answers(route: String, method: HTTPRequest.Method, status: HTTPResponse.Status) -> Answers {
        let key = Key(route: route, method: method, status: status.code)
        return answers.withLock { answers in
            if let metrics = answers[key] { return metrics }
            let dimensions = [("route", key.route), ("method", key.method.rawValue), ("status", String(key.status))]
            let metrics = Answers(
                counter: Counter(label: "http_server_requests_total", dimensions: dimensions, factory: factory),
                timer: Timer(label: "http_server_request_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds, factory: factory))
            answers[key] = metrics
            return metrics
        }
    }

    public struct Answers: Sendable {
        let counter: Counter
        let timer: Timer

        public func record(since started: UInt64) {
            counter.increment()
            timer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
        }
    }
}
