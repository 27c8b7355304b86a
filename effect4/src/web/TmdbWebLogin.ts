/**
 * "Sign in with TMDB" for `effect/http` HttpServer apps: login, callback and logout routes (layers of the app's
 * `HttpRouter`, or an `HttpApiGroup` with its handlers: see `TmdbAuthGroup`), a session middleware, server-side
 * sessions, and the security headers the app's pages should carry.
 *
 * @since 0.5.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpEffect from "effect/http/HttpEffect"
import * as HttpMiddleware from "effect/http/HttpMiddleware"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as RateLimiter from "effect/persistence/RateLimiter"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Types from "effect/Types"
import { AuthService } from "../AuthService.js"
import { withSecurityHeaders } from "../internal/web/headers.js"
import { deriveAesKeys, makeSigner } from "../internal/web/keys.js"
import { checkOptions, checkSigningKeys, type Settings } from "../internal/web/options.js"
import { makeRoutes } from "../internal/web/routes.js"
import { makeSessions } from "../internal/web/sessions.js"
import {
  CurrentAccount,
  forgetEndedWith,
  isSessionNotFound,
  type RequireSignInOptions,
  sessionForgottenMessage,
  SignedIn,
  type SignedInShape,
  signedInWith
} from "../internal/web/signIn.js"
import { TmdbClient } from "../TmdbClient.js"
import type { SessionNotFound } from "../TmdbError.js"
import { UserSession } from "../UserSession.js"
import type { SessionStoreUnavailable } from "./WebSessionStore.js"
import { WebSessionStore } from "./WebSessionStore.js"

/**
 * The session cookie's name over http (local development): an opaque random id, signed; never the TMDB session id.
 * Over https it is `__Host-tmdb_session`. `cookieName` changes both.
 */
export const sessionCookieName = "tmdb_session"
/** The login cookie's name over http: binds a request token to the browser that started the login (`__Host-` on https). */
export const loginCookieName = "tmdb_login"

// Who signed in, and the middlewares' options: declared with the middleware's code (internal/web/signIn.ts).
export { CurrentAccount, type RequireSignInOptions, SignedIn, type SignedInShape } from "../internal/web/signIn.js"

/**
 * Options of {@link TmdbWebLogin.layer}.
 *
 * @since 0.5.0
 */
export interface TmdbWebLoginOptions {
  /**
   * The app's public URL (`https://app.example`): TMDB sends the browser back to it. On https the cookies are `Secure`
   * with the `__Host-` prefix (no sibling subdomain can set or shadow them); over http (local development) they are not.
   */
  readonly publicUrl: string
  /**
   * The secret the cookies' keys are derived from: at least 32 random characters (`openssl rand -base64 32`), the same
   * on every instance. A list rotates keys: the first signs, every one is accepted.
   */
  readonly signingKey:
    | Redacted.Redacted<string>
    | string
    | ReadonlyArray<Redacted.Redacted<string> | string>
  /** Where the routes live. Default `/auth/tmdb`. */
  readonly prefix?: string | undefined
  /**
   * The session cookie's name, default `tmdb_session` (`__Host-` is added on https); the login cookie's name follows
   * it (`x_session` → `x_login`). Set it for an app under a path (`https://x/app`) or several apps on one origin:
   * `__Host-` cookies are for the whole origin.
   *
   * @since 0.6.0
   */
  readonly cookieName?: string | undefined
  /** A session not used for this long ends. Default 7 days. */
  readonly idleTimeout?: Duration.Input | undefined
  /** A session ends this long after sign-in, used or not (the cookie's Max-Age). Default 30 days. */
  readonly absoluteTimeout?: Duration.Input | undefined
  /** How long the user has to approve on TMDB's page (the login cookie's Max-Age). Default 15 minutes. */
  readonly loginTimeout?: Duration.Input | undefined
  /** A stored session is checked with TMDB (`GET /3/account`) when last checked longer ago. Default 5 minutes. */
  readonly revalidateAfter?: Duration.Input | undefined
  /**
   * At most this many sessions per account; a new sign-in beyond it ends the oldest (here and at TMDB). Default 10.
   *
   * @since 0.6.0
   */
  readonly maxSessionsPerAccount?: number | undefined
  /**
   * How often sessions whose end has come (idle, absolute) are swept: removed here and deleted at TMDB. Default 1 minute.
   *
   * @since 0.6.0
   */
  readonly sweepInterval?: Duration.Input | undefined
  /**
   * The limit on `GET {prefix}/login` (each one spends a TMDB request token): `limit` per `window` per `key`, by
   * default 10 per minute per client address (IPv6 grouped by /64). Behind a proxy, `key` reads the client from your
   * proxy's header. Counted on the session store's Redis when it is one, else in memory. `false`: no limit. Over it:
   * 429 with `Retry-After` and a page.
   *
   * @since 0.6.0
   */
  readonly loginRateLimit?:
    | {
      /** Logins per `window` per client. */
      readonly limit: number
      /** E.g. `"1 minute"`. */
      readonly window: Duration.Input
      /** Who the client is; default its address (IPv6 grouped by /64). Behind a proxy, read the proxy's header. */
      readonly key?: ((request: HttpServerRequest.HttpServerRequest) => string) | undefined
    }
    | false
    | undefined
}

/**
 * A request without a valid session cookie (HTTP 401, JSON).
 *
 * @since 0.5.0
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  { message: Schema.String },
  { httpApiStatus: 401 }
) {}

/**
 * The web login's routes and session lookups.
 *
 * @since 0.5.0
 */
export interface TmdbWebLoginShape {
  /** Where the routes live, e.g. `/auth/tmdb`. */
  readonly prefix: string
  /**
   * The login's path as browsers reach it: the public URL's path and the prefix (`/app/auth/tmdb/login` for an app at
   * `https://x/app`). Where `requireSignIn` sends a browser to sign in.
   *
   * @since 0.6.0
   */
  readonly loginPath: string
  /** The session cookie's name as browsers hold it: `__Host-tmdb_session` on https, `tmdb_session` over http. */
  readonly cookieName: string
  /**
   * `GET {prefix}/login?returnTo=/path`. With the `request`, `loginRateLimit` applies (the routes always pass it).
   */
  readonly login: (
    returnTo: string | undefined,
    request?: HttpServerRequest.HttpServerRequest | undefined
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse>
  /** `GET {prefix}/callback?request_token=...&approved=true`. */
  readonly callback: (
    request: HttpServerRequest.HttpServerRequest
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse>
  /** `POST {prefix}/logout` (`?everywhere=true`: every session of the account). */
  readonly logout: (
    request: HttpServerRequest.HttpServerRequest
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse>
  /**
   * The signed-in user of a request (its session cookie), if any and still valid. A store that cannot be read is
   * `SessionStoreUnavailable` (answer 503), never "not signed in".
   */
  readonly current: (
    request: HttpServerRequest.HttpServerRequest
  ) => Effect.Effect<Option.Option<SignedInShape>, SessionStoreUnavailable>
  /** The same, from the session cookie's value. */
  readonly fromCookie: (value: string) => Effect.Effect<Option.Option<SignedInShape>, SessionStoreUnavailable>
  /** Forgets the request's session locally (e.g. after TMDB answered 401/3 for it). */
  readonly forget: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<void>
  /**
   * Signs an account out everywhere: every stored session of the account is removed, and deleted at TMDB (waited for
   * at most 3 seconds, then in the background). How many sessions ended.
   *
   * @since 0.6.0
   */
  readonly forgetAccount: (accountId: number) => Effect.Effect<number, SessionStoreUnavailable>
  /** The three routes, for the app's `HttpRouter` (`TmdbWebLogin.router` adds them). */
  readonly routes: ReadonlyArray<HttpRouter.Route<never, never>>
}

const make = (settings: Settings) =>
  Effect.gen(function*() {
    const auth = yield* AuthService
    const store = yield* WebSessionStore
    const sessions = makeSessions(
      settings,
      auth,
      store,
      yield* makeSigner(settings.signingKeys, "session-cookie"),
      yield* deriveAesKeys(settings.signingKeys, "at-rest")
    )
    const binding = yield* makeSigner(settings.signingKeys, "login-binding")
    const loginLimiter = settings.loginRateLimit === undefined ? undefined : yield* RateLimiter.make.pipe(
      Effect.provide(
        store.rateLimiterStore === undefined
          ? RateLimiter.layerStoreMemory
          : Layer.succeed(RateLimiter.RateLimiterStore, store.rateLimiterStore)
      )
    )
    const client = yield* Effect.serviceOption(TmdbClient)
    // Sessions nobody comes back for end too, here and at TMDB: swept in the layer's scope.
    yield* Effect.forkScoped(
      Effect.forever(Effect.andThen(sessions.sweep, Effect.sleep(Duration.millis(settings.sweepMillis))))
    )
    const cookieOf = (request: HttpServerRequest.HttpServerRequest) => {
      const value = request.cookies[settings.cookies.session]
      return value === undefined || value === "" ? undefined : value
    }
    const current = (request: HttpServerRequest.HttpServerRequest) => {
      const cookie = cookieOf(request)
      return cookie === undefined ? Effect.succeedNone : sessions.lookup(cookie)
    }
    const forgetAccount = (accountId: number) =>
      Effect.flatMap(sessions.forgetAccount(accountId), (ended) =>
        Effect.as(
          Effect.forEach(ended, (session) => auth.endSession(session), { concurrency: "unbounded", discard: true }),
          ended.length
        ))
    const routes = makeRoutes({
      settings,
      auth,
      sessions,
      binding,
      current,
      forgetAccount,
      loginLimiter,
      admissionWait: Option.map(client, (c) => c.admissionWait)
    })
    const forget = (request: HttpServerRequest.HttpServerRequest) => {
      const cookie = cookieOf(request)
      return cookie === undefined ? Effect.void : sessions.forget(cookie).pipe(
        Effect.asVoid,
        Effect.catch((error) => Effect.logWarning(`TmdbWebLogin: session not removed: ${error.message}`))
      )
    }
    return {
      prefix: settings.prefix,
      loginPath: `${settings.base}${settings.prefix}/login`,
      cookieName: settings.cookies.session,
      login: routes.login,
      callback: routes.callback,
      logout: routes.logout,
      current,
      fromCookie: (value: string) => value === "" ? Effect.succeedNone : sessions.lookup(value),
      forget,
      forgetAccount,
      routes: routes.routes
    } satisfies TmdbWebLoginShape
  })

const forgetEnded = Effect.gen(function*() {
  yield* forgetEndedWith(yield* TmdbWebLogin, yield* HttpServerRequest.HttpServerRequest)
})

/**
 * Adds the security headers every page of the app should carry, where a response does not set them itself:
 * `X-Frame-Options: DENY` and `Content-Security-Policy: frame-ancestors 'none'` (no framing: clickjacking), and
 * `X-Content-Type-Options: nosniff`. The web login's own pages carry them already.
 *
 * @example
 * ```ts
 * HttpRouter.serve(routes, { middleware: TmdbWebLogin.securityHeaders })
 * ```
 * @since 0.6.0
 */
export const securityHeaders: <E, R>(
  httpApp: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> = HttpMiddleware
  .make(
    // A pre-response handler, not a map of the app's result: as a server middleware the response is already being
    // sent when the app's effect ends; this also reaches error responses (404, 500).
    (app) =>
      Effect.andThen(
        HttpEffect.appendPreResponseHandler((_request, response) => Effect.succeed(withSecurityHeaders(response))),
        app
      )
  )

/**
 * "Sign in with TMDB": routes, sessions and middlewares.
 *
 * @example
 * ```ts
 * const me = HttpRouter.add(
 *   "GET",
 *   "/me",
 *   Effect.map(CurrentAccount, (a) => HttpServerResponse.jsonUnsafe({ username: a.username }))
 * ).pipe(Layer.provide(TmdbWebLogin.requireSignIn()))
 * const app = Layer.mergeAll(TmdbWebLogin.router, me)
 * ```
 * @since 0.5.0
 */
export class TmdbWebLogin
  extends Context.Service<TmdbWebLogin, TmdbWebLoginShape>()("effect-tmdb-auth/web/TmdbWebLogin")
{
  /** The service, with the options checked at startup (a mistake is a `ConfigError` naming the setting). */
  static layer(
    options: TmdbWebLoginOptions
  ): Layer.Layer<TmdbWebLogin, Config.ConfigError, AuthService | WebSessionStore> {
    return Layer.effect(TmdbWebLogin, Effect.flatMap(Effect.fromResult(checkOptions(options)), make))
  }

  /**
   * The three routes (`GET {prefix}/login`, `GET {prefix}/callback`, `POST {prefix}/logout`) as a layer of the app's
   * `HttpRouter`.
   *
   * @since 1.0.0
   */
  static readonly router: Layer.Layer<never, never, HttpRouter.HttpRouter | TmdbWebLogin> = HttpRouter.addAll(
    Effect.map(TmdbWebLogin, (web) => web.routes)
  )

  /**
   * The service from `Config`: `TMDB_WEB_PUBLIC_URL` and `TMDB_WEB_SIGNING_KEY` (redacted; several keys separated by
   * commas rotate, the first signs) by default; a missing or weak key is a `ConfigError` at startup.
   */
  static layerConfig(
    options: {
      readonly publicUrl?: Config.Config<string>
      readonly signingKey?: Config.Config<Redacted.Redacted<string>>
    } & Omit<TmdbWebLoginOptions, "publicUrl" | "signingKey"> = {}
  ): Layer.Layer<TmdbWebLogin, Config.ConfigError, AuthService | WebSessionStore> {
    const { publicUrl = Config.String("TMDB_WEB_PUBLIC_URL"), signingKey, ...rest } = options
    const keys = (signingKey ?? Config.Redacted("TMDB_WEB_SIGNING_KEY")).pipe(
      Config.mapEffect((value) => {
        const list = Redacted.value(value).split(",").map((key) => Redacted.make(key.trim()))
        return Effect.fromResult(
          checkSigningKeys(signingKey === undefined ? "TMDB_WEB_SIGNING_KEY" : "signingKey", list)
        )
      })
    )
    return Layer.unwrap(
      Effect.map(Config.all({ publicUrl, signingKey: keys }), (config) => TmdbWebLogin.layer({ ...rest, ...config }))
    )
  }

  /** {@link securityHeaders}, as a static for discoverability. */
  static readonly securityHeaders = securityHeaders

  /**
   * A middleware for routes of an `HttpRouter` (provide it to their layer): a request with a valid session cookie gets
   * `UserSession`, `CurrentAccount` and `SignedIn`; one without gets 401 JSON or a redirect to the login. A handler
   * failing with `SessionNotFound` (TMDB answered 401/3 for the session) forgets the stored session and answers as for
   * a request without one.
   */
  static requireSignIn(options: RequireSignInOptions = {}): Layer.Layer<
    | HttpRouter.Request.From<"Requires", UserSession | CurrentAccount | SignedIn>
    | HttpRouter.Request.From<"Error", SessionNotFound>,
    never,
    TmdbWebLogin
  > {
    return HttpRouter.middleware<
      { provides: UserSession | CurrentAccount | SignedIn; handles: SessionNotFound }
    >()(
      Effect.map(
        TmdbWebLogin,
        (web) => (httpEffect) =>
          Effect.flatMap(
            HttpServerRequest.HttpServerRequest,
            (request) => signedInWith(web, request, httpEffect, options)
          ) as Effect.Effect<
            HttpServerResponse.HttpServerResponse,
            Types.unhandled,
            HttpServerRequest.HttpServerRequest
          >
      )
    ).layer
  }

  /** The same as {@link TmdbWebLogin.requireSignIn}, for one HTTP effect. */
  static readonly signedIn = <E, R>(
    app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
    options: RequireSignInOptions = {}
  ): Effect.Effect<
    HttpServerResponse.HttpServerResponse,
    Exclude<E, SessionNotFound>,
    Exclude<R, UserSession | CurrentAccount | SignedIn> | TmdbWebLogin | HttpServerRequest.HttpServerRequest
  > => signedInApp(app, options)

  /**
   * For HttpApi handlers under the `TmdbSignIn` middleware (which never sees a handler's errors): a `SessionNotFound`
   * (TMDB no longer knows the signed-in session) forgets the stored session and becomes `Unauthorized` (401).
   *
   * @example
   * ```ts
   * handlers.handle("watchlist", () =>
   *   Effect.flatMap(SignedIn, ({ session }) => tmdb.request({ method: "GET", path: "/3/account", session, response }))
   *     .pipe(TmdbWebLogin.orUnauthorized))
   * ```
   * @since 0.6.0
   */
  static orUnauthorized<A, E, R>(
    effect: Effect.Effect<A, E, R>
  ): Effect.Effect<
    A,
    Exclude<E, SessionNotFound> | Unauthorized,
    R | TmdbWebLogin | HttpServerRequest.HttpServerRequest
  > {
    return Effect.catchIf(
      effect,
      isSessionNotFound,
      () => Effect.andThen(forgetEnded, Effect.fail(new Unauthorized({ message: sessionForgottenMessage })))
    ) as Effect.Effect<
      A,
      Exclude<E, SessionNotFound> | Unauthorized,
      R | TmdbWebLogin | HttpServerRequest.HttpServerRequest
    >
  }
}

const signedInApp = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
  options: RequireSignInOptions
): Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  Exclude<E, SessionNotFound>,
  Exclude<R, UserSession | CurrentAccount | SignedIn> | TmdbWebLogin | HttpServerRequest.HttpServerRequest
> =>
  Effect.gen(function*() {
    return yield* signedInWith(yield* TmdbWebLogin, yield* HttpServerRequest.HttpServerRequest, app, options)
  }) as Effect.Effect<
    HttpServerResponse.HttpServerResponse,
    Exclude<E, SessionNotFound>,
    Exclude<R, UserSession | CurrentAccount | SignedIn> | TmdbWebLogin | HttpServerRequest.HttpServerRequest
  >
