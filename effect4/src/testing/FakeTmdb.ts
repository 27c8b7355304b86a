/**
 * FakeTmdb: a stateful simulator of TMDB's authentication API, for tests, demos and benchmarks.
 *
 * One implementation, two faces: `FakeTmdb.layer` provides an in-memory `HttpClient` whose time is Effect's
 * `Clock` (so `TestClock.adjust` moves token expiry, guest expiry and rate-limit windows), and `FakeTmdb.serve`
 * runs the same behaviour as a real HTTP server on 127.0.0.1 for any client.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as HttpMiddleware from "effect/http/HttpMiddleware"
import type * as HttpServerError from "effect/http/HttpServerError"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import * as NetAddress from "effect/net/NetAddress"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { RequestTokenV4 } from "../AccessToken.js"
import { AuthService } from "../AuthService.js"
import { controlApp, controlPrefix } from "../internal/fakeControl.js"
import type {
  FakeResponse,
  FakeRouteHandler,
  FakeRouteRequest,
  FakeState,
  FakeTmdbOptions,
  FakeUser,
  IncomingRequest,
  LiveGuestSession,
  LiveSession,
  LoggedRequest,
  RandomFaults,
  RouteCount
} from "../internal/fakeTmdb.js"
import { defaults, Engine, Fault, tmdbFailure } from "../internal/fakeTmdb.js"
import { nodeHttpServer } from "../internal/nodePlatform.js"
import { RequestToken } from "../RequestToken.js"
import type { TmdbClient } from "../TmdbClient.js"
import type { Secret, TmdbConfigSettings } from "../TmdbConfig.js"
import { TmdbConfig } from "../TmdbConfig.js"

export type {
  FakeResponse,
  FakeRouteHandler,
  FakeRouteRequest,
  FakeState,
  FakeTmdbOptions,
  FakeUser,
  LiveGuestSession,
  LiveSession,
  LoggedRequest,
  RandomFaults,
  RouteCount
}

/**
 * Faults to script with {@link FakeTmdbShape.fail}: `Fault.RateLimited({ retryAfter: 2 })`,
 * `Fault.Unavailable()`, `Fault.InternalError()`, `Fault.ConnectionReset()`, `Fault.Truncated()`,
 * `Fault.Delay({ duration: "5 seconds" })`.
 *
 * @since 0.1.0
 */
export { Fault }

/**
 * The fake's state and controls, the same on both faces.
 *
 * @since 0.1.0
 */
export interface FakeTmdbShape {
  /**
   * What the user does on TMDB's website: approve a request token (as `username`, default the first user). Dies
   * for a token the fake never issued, an unknown user, or a token already denied or used: a mistake in the test.
   */
  readonly approve: (requestToken: RequestToken | RequestTokenV4 | Secret, username?: string) => Effect.Effect<void>
  /** What the user does on TMDB's website: deny a request token; `session/new` then answers 17 (session denied). */
  readonly deny: (requestToken: RequestToken | RequestTokenV4 | Secret) => Effect.Effect<void>
  /**
   * Moves the fake's clock forward, on top of Effect's `Clock`: token and guest expiry, rate windows. (In memory,
   * `TestClock.adjust` does the same and also moves the client's time.)
   */
  readonly advanceClock: (duration: Duration.Input) => Effect.Effect<void>
  /** Back to the state the fake started in: its options' users and v4 tokens; no tokens, sessions, log or faults. */
  readonly reset: Effect.Effect<void>
  /** Adds (or replaces) an account. */
  readonly addUser: (user: FakeUser) => Effect.Effect<void>
  /** Makes `convert/4` accept a v4 user access token, for `username`. */
  readonly addV4AccessToken: (accessToken: string, username: string) => Effect.Effect<void>
  /**
   * The next answers to `route` (`"POST /3/authentication/session/new"`, or `"*"` for any route) are these
   * faults, one per request, in order.
   */
  readonly fail: (route: string, ...faults: ReadonlyArray<Fault>) => Effect.Effect<void>
  /** Every request received, in order: method, path, credential kind, body keys, status. Never a secret. */
  readonly requests: Effect.Effect<ReadonlyArray<LoggedRequest>>
  /** Answers per route and HTTP status (status 0: connection reset). */
  readonly counters: Effect.Effect<ReadonlyArray<RouteCount>>
  /** User sessions not deleted yet. */
  readonly sessions: Effect.Effect<ReadonlyArray<LiveSession>>
  /** Guest sessions whose `expires_at` is still ahead (by the fiber's `Clock`). */
  readonly guestSessions: Effect.Effect<ReadonlyArray<LiveGuestSession>>
  /** v4 user access tokens that work (configured or issued, not logged out). */
  readonly userAccessTokens: Effect.Effect<ReadonlyArray<{ readonly username: string; readonly accountId: string }>>
}

/**
 * A running fake server: its address plus the controls.
 *
 * @since 0.1.0
 */
export interface FakeTmdbServer extends FakeTmdbShape {
  /** The port it bound (a free one when asked for port 0). */
  readonly port: number
  /** `http://127.0.0.1:<port>`: use it as `baseUrl` and `webBaseUrl`. */
  readonly url: string
}

/**
 * Options of {@link FakeTmdb.serve}: the fake's options plus where to listen (default 127.0.0.1, a free port).
 *
 * @since 0.1.0
 */
export interface ServeOptions extends FakeTmdbOptions {
  readonly port?: number
  readonly host?: string
  /**
   * Serve the control API under `/__fake/` (approve, deny, users, faults, clock, reset, requests, sessions...:
   * docs/testing.md). It asks for no credential: anyone who can reach the port controls the fake. Default false
   * (`tmdb-auth fake-server` turns it on).
   */
  readonly control?: boolean
  /** Told of every request the fake answers, control requests included: never a secret (no query, no body values). */
  readonly onRequest?: (request: LoggedRequest) => void
}

const tokenText = (requestToken: RequestToken | RequestTokenV4 | Secret): string =>
  requestToken instanceof RequestToken || requestToken instanceof RequestTokenV4
    ? Redacted.value(requestToken.token)
    : Redacted.isRedacted(requestToken)
    ? Redacted.value(requestToken)
    : requestToken

const refusalMessages = {
  UnknownRequestToken: "unknown request token (create it through the fake first)",
  UnknownUser: "unknown user (add it with addUser first)",
  AlreadyDecided: "this request token was already denied or used"
} as const

const controls = (engine: Engine): FakeTmdbShape => ({
  approve: (requestToken, username) =>
    Effect.suspend(() => {
      const refusal = engine.approve(tokenText(requestToken), username)
      return refusal === undefined
        ? Effect.void
        : Effect.die(new Error(`FakeTmdb.approve: ${refusalMessages[refusal]}`))
    }),
  deny: (requestToken) =>
    Effect.suspend(() => {
      const refusal = engine.deny(tokenText(requestToken))
      return refusal === undefined ? Effect.void : Effect.die(new Error(`FakeTmdb.deny: ${refusalMessages[refusal]}`))
    }),
  advanceClock: (duration) => Effect.sync(() => void engine.advanceClock(Duration.fromInputUnsafe(duration))),
  reset: Effect.sync(() => engine.reset()),
  addUser: (user) => Effect.sync(() => engine.addUser(user)),
  addV4AccessToken: (accessToken, username) => Effect.sync(() => engine.addV4AccessToken(accessToken, username)),
  fail: (route, ...faults) => Effect.sync(() => engine.fail(route, faults)),
  requests: Effect.sync(() => engine.requests),
  counters: Effect.sync(() => engine.counters),
  sessions: Effect.sync(() => engine.liveSessions()),
  guestSessions: Effect.map(Clock.currentTimeMillis, (now) => engine.liveGuestSessions(now)),
  userAccessTokens: Effect.sync(() => engine.liveAccessTokens())
})

const decoder = new TextDecoder()

const requestBody = (body: { readonly _tag: string; readonly body?: unknown }): string =>
  body._tag === "Uint8Array" ? decoder.decode(body.body as Uint8Array) : body._tag === "Raw" ? String(body.body) : ""

/** The in-memory face: an HttpClient that hands each request to the engine in the caller's fiber. */
const inMemoryClient = (engine: Engine): HttpClient.HttpClient =>
  HttpClient.make((request, url) =>
    Effect.flatMap(
      engine.handle({ method: request.method, url, headers: request.headers, body: requestBody(request.body) }),
      (outcome) =>
        outcome._tag === "Reset"
          ? Effect.fail(
            new HttpClientError.HttpClientError({
              reason: new HttpClientError.TransportError({
                request,
                cause: Object.assign(new Error("socket hang up (FakeTmdb connection reset)"), { code: "ECONNRESET" })
              })
            })
          )
          : Effect.succeed(
            HttpClientResponse.fromWeb(
              request,
              new Response(outcome.status === 302 || outcome.body === "" ? null : outcome.body, {
                status: outcome.status,
                headers: outcome.headers
              })
            )
          )
    )
  )

/** The server face: the same engine behind a platform HttpServer app. */
const serverApp = (engine: Engine, destroySocket: (request: HttpServerRequest.HttpServerRequest) => void) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const body = request.method === "GET" ? "" : yield* Effect.orElseSucceed(request.text, () => "")
    const incoming: IncomingRequest = {
      method: request.method,
      url: new URL(request.url, "http://127.0.0.1"),
      headers: request.headers,
      body
    }
    const outcome = yield* engine.handle(incoming)
    if (outcome._tag === "Reset") {
      destroySocket(request)
      return HttpServerResponse.empty({ status: 499 })
    }
    return HttpServerResponse.text(outcome.body, {
      status: outcome.status,
      headers: outcome.headers,
      contentType: outcome.headers["content-type"] ?? "application/json"
    })
  })

const isControl = (url: string) =>
  url === controlPrefix || url.startsWith(`${controlPrefix}/`) || url.startsWith(`${controlPrefix}?`)

/** The control app, telling `onRequest` of each control request as the request log would show it. */
const loggedControl = <E, R>(
  engine: Engine,
  control: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
  onRequest: ServeOptions["onRequest"]
) =>
  onRequest === undefined ?
    control :
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.tap(control, (response) =>
          Effect.sync(() =>
            onRequest({
              method: request.method,
              path: new URL(request.url, "http://127.0.0.1").pathname,
              credential: "none",
              bodyKeys: [],
              status: response.status,
              statusCode: undefined,
              at: DateTime.makeUnsafe(engine.timeAt(now))
            })
          ))))

/**
 * The fake TMDB.
 *
 * @example
 * ```ts
 * import { FakeTmdb } from "effect-tmdb-auth/testing"
 *
 * it.effect("logs in", () =>
 *   Effect.gen(function*() {
 *     const auth = yield* AuthService
 *     const session = yield* auth.login({ username: "demo", password: "demo-password" })
 *     const fake = yield* FakeTmdb
 *     expect(yield* fake.sessions).toHaveLength(1)
 *   }).pipe(Effect.provide(FakeTmdb.layerAuthService())))
 * ```
 * @since 0.1.0
 */
export class FakeTmdb extends Context.Service<FakeTmdb, FakeTmdbShape>()("effect-tmdb-auth/testing/FakeTmdb") {
  /** Credentials the fake accepts by default, and its default user. */
  static readonly defaults = defaults

  /**
   * TMDB's error answer for a status code, for routes of the app's own: `FakeTmdb.failure(3)` is HTTP 401 with
   * `{"success":false,"status_code":3,"status_message":"Authentication failed: ..."}`, as TMDB answers a request
   * without a valid session.
   */
  static readonly failure: (statusCode: number) => FakeResponse = tmdbFailure

  /** The in-memory face: `HttpClient` plus the `FakeTmdb` controls; no sockets; time is Effect's `Clock`. */
  static layer(options: FakeTmdbOptions = {}): Layer.Layer<HttpClient.HttpClient | FakeTmdb> {
    return Layer.effectContext(Effect.sync(() => {
      const engine = new Engine(options)
      return Context.make(HttpClient.HttpClient, inMemoryClient(engine)).pipe(
        Context.add(FakeTmdb, controls(engine))
      )
    }))
  }

  /**
   * `AuthService` (with the `TmdbClient` it is built on) and `FakeTmdb` ready to use: `AuthService.layer` over
   * `FakeTmdb.layer(options)` with the fake's first accepted read access token (its first API key when
   * `accessTokens` is empty). `settings` adds timeout, retry and admission settings to `TmdbConfig`.
   */
  static layerAuthService(
    options: FakeTmdbOptions = {},
    settings: TmdbConfigSettings = {}
  ): Layer.Layer<AuthService | TmdbClient | TmdbConfig | HttpClient.HttpClient | FakeTmdb, Config.ConfigError> {
    return AuthService.layer.pipe(
      Layer.provideMerge(
        Layer.merge(
          FakeTmdb.layer(options),
          TmdbConfig.layer(
            options.accessTokens !== undefined && options.accessTokens.length === 0
              ? { ...settings, apiKey: options.apiKeys?.[0] ?? defaults.apiKey }
              : { ...settings, accessToken: options.accessTokens?.[0] ?? defaults.accessToken }
          )
        )
      )
    )
  }

  /**
   * The server face: the same fake on a real HTTP server (127.0.0.1 and a free port by default), until the
   * scope closes.
   */
  static serve(options: ServeOptions = {}): Effect.Effect<FakeTmdbServer, HttpServerError.ServeError, Scope.Scope> {
    return Effect.gen(function*() {
      const engine = new Engine(options)
      engine.onRequest = options.onRequest
      const { Http, NodeHttpServer, NodeHttpServerRequest } = yield* nodeHttpServer("FakeTmdb.serve")
      const server = yield* NodeHttpServer.make(() => Http.createServer(), {
        port: options.port ?? 0,
        host: options.host ?? "127.0.0.1",
        // Closing the scope waits for the requests in flight however long they take, as 0.x does (the platform
        // would interrupt them after 20 seconds).
        gracefulShutdownTimeout: Duration.infinity
      })
      const destroySocket = (request: HttpServerRequest.HttpServerRequest) =>
        NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()
      // The fake is not the user's service: no server spans (they would also record api_key from URLs).
      const tmdb = serverApp(engine, destroySocket)
      const control = options.control === true ? yield* controlApp(engine) : undefined
      const app = control === undefined ?
        tmdb :
        Effect.flatMap(
          HttpServerRequest.HttpServerRequest,
          (request) => isControl(request.url) ? loggedControl(engine, control, options.onRequest) : tmdb
        )
      // Interruptible (served uninterruptibly by default): a client that gives up stops a scripted delay at once.
      yield* server.serve(Effect.interruptible(app)).pipe(
        Effect.provideService(HttpMiddleware.TracerDisabledWhen, () => true)
      )
      const address = server.address as NetAddress.InetAddress
      return { ...controls(engine), port: address.port, url: `http://${NetAddress.formatInet(address)}` }
    })
  }
}
