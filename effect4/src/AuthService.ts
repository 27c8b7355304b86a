/**
 * Every TMDB v3 authentication endpoint as an `Effect` with a precise error type.
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { AccessToken, RequestTokenV4 } from "./AccessToken.js"
import { Account } from "./Account.js"
import { fromClient } from "./internal/authService.js"
import { RequestToken } from "./RequestToken.js"
import { GuestSession, Session } from "./Session.js"
import { TmdbClient } from "./TmdbClient.js"
import { type Secret, TmdbConfig } from "./TmdbConfig.js"
import type { InvalidCredentials, InvalidToken, RequestError, SessionDenied, SessionNotFound } from "./TmdbError.js"
import { AccessTokenRequired, TokenExpired } from "./TmdbError.js"
import * as TmdbHttpClient from "./TmdbHttpClient.js"

/**
 * Options of {@link AuthServiceShape.validateWithLogin}.
 *
 * @since 0.1.0
 */
export interface ValidateWithLoginOptions {
  readonly username: string
  /** Sent in the JSON body of a POST, never in a URL. */
  readonly password: Secret
  readonly requestToken: RequestToken
}

/**
 * Options of {@link AuthServiceShape.login}.
 *
 * @since 0.1.0
 */
export interface LoginOptions {
  readonly username: string
  readonly password: Secret
}

/**
 * Options of {@link AuthServiceShape.approvalUrl}.
 *
 * @since 0.1.0
 */
export interface ApprovalUrlOptions {
  /** Where TMDB sends the user's browser after approval, with `request_token` and `approved=true` added. */
  readonly redirectTo?: string
}

/**
 * The TMDB authentication API. Every request can fail with a {@link RequestError} (invalid API key, rate limited
 * after retries, TMDB unavailable, another TMDB error, transport failure or timeout, malformed answer); each
 * method's type adds exactly the errors its endpoint can produce.
 *
 * @since 0.1.0
 */
export interface AuthServiceShape {
  /** `GET /3/authentication`: succeeds when TMDB accepts the application credential. */
  readonly validateKey: Effect.Effect<void, RequestError>

  /** `GET /3/authentication/token/new`: a fresh request token, valid for 60 minutes. */
  readonly createRequestToken: Effect.Effect<RequestToken, RequestError>

  /**
   * `POST /3/authentication/token/validate_with_login`: approves the request token with the user's username and
   * password. Fails with `TokenExpired` before any request if the token's `expiresAt` has passed.
   */
  readonly validateWithLogin: (
    options: ValidateWithLoginOptions
  ) => Effect.Effect<RequestToken, RequestError | InvalidCredentials | TokenExpired>

  /**
   * `POST /3/authentication/session/new`: a user session from an approved request token (which it consumes).
   * Accepts a `RequestToken` (checked for expiry before any request) or the raw token, e.g. from an approval
   * redirect's `request_token` query parameter.
   */
  readonly createSession: (
    requestToken: RequestToken | Secret
  ) => Effect.Effect<Session, RequestError | TokenExpired | SessionDenied>

  /** `POST /3/authentication/session/convert/4`: a v3 session from a v4 user access token. */
  readonly createSessionFromV4: (
    accessToken: AccessToken | Secret
  ) => Effect.Effect<Session, RequestError | InvalidToken>

  /** `DELETE /3/authentication/session`: ends a user session. */
  readonly deleteSession: (
    session: Session | Secret
  ) => Effect.Effect<void, RequestError | SessionNotFound>

  /**
   * Ends a session at TMDB without making the caller wait for a slow TMDB: `deleteSession` (retried as it is), waited
   * for at most `waitAtMost` (default 3 seconds), then carried on in the background (the `TmdbClient`'s background
   * work, bounded by `lateAnswerGrace`). Never fails: a session TMDB no longer knows is already ended, and a delete
   * that cannot complete is logged as a warning.
   *
   * @since 0.6.0
   */
  readonly endSession: (
    session: Session | Secret,
    options?: { readonly waitAtMost?: Duration.Input | undefined }
  ) => Effect.Effect<void>

  /**
   * `GET /3/account` with the session: who signed in (`Account`: id, username, name, language and country codes,
   * include_adult). A session TMDB does not know (deleted, never created) is `SessionNotFound` (TMDB answers 401,
   * code 3). Safe to repeat: retried as any GET.
   */
  readonly getAccount: (session: Session | Secret) => Effect.Effect<Account, RequestError | SessionNotFound>

  /** `GET /3/authentication/guest_session/new`: a guest session, deleted by TMDB if unused for 24 hours. */
  readonly createGuestSession: Effect.Effect<GuestSession, RequestError>

  /** Request token, validate with login, session: the whole password login in one traced effect. */
  readonly login: (
    options: LoginOptions
  ) => Effect.Effect<Session, RequestError | InvalidCredentials | TokenExpired | SessionDenied>

  /**
   * The page where the user approves a request token in the browser (`{webBaseUrl}/authenticate/{token}`).
   * Pure: no request is sent. The URL holds the token: show it to the user only.
   */
  readonly approvalUrl: (requestToken: RequestToken | Secret, options?: ApprovalUrlOptions) => string

  /**
   * Login as a scoped resource: logs in (starting over like `login`, up to `retry.maxRestarts` times), and starts
   * deleting the session when the scope closes, whether the program succeeded, failed or was interrupted. Closing
   * waits for the delete at most the request timeout + 1 s; a slower one goes on in the background (`TmdbClient`'s
   * cleanups, retried within `lateAnswerGrace`). A session TMDB already forgot (37), or any failure to delete it, is
   * logged as a warning, not raised.
   */
  readonly scopedSession: (
    credentials: LoginOptions
  ) => Effect.Effect<Session, RequestError | InvalidCredentials | TokenExpired | SessionDenied, Scope.Scope>

  /** `POST /4/auth/request_token`: a v4 request token (15 minutes); `redirectTo` is where approval returns. */
  readonly createRequestTokenV4: (
    options?: ApprovalUrlOptions
  ) => Effect.Effect<RequestTokenV4, RequestError | AccessTokenRequired>

  /**
   * `POST /4/auth/access_token`: the user's access token from an approved v4 request token (which it consumes).
   * A `RequestTokenV4` past its `expiresAt` fails with `TokenExpired` before any request.
   */
  readonly createAccessToken: (
    requestToken: RequestTokenV4 | Secret
  ) => Effect.Effect<AccessToken, RequestError | AccessTokenRequired | TokenExpired | SessionDenied | InvalidToken>

  /** `DELETE /4/auth/access_token`: logs the v4 access token out. */
  readonly deleteAccessToken: (
    accessToken: AccessToken | Secret
  ) => Effect.Effect<void, RequestError | AccessTokenRequired | InvalidToken>

  /**
   * The v4 access token as a scoped resource: created from an approved request token; closing the scope starts
   * deleting it (waiting at most the request timeout + 1 s, then in the background; a failure to delete is logged,
   * not raised). It does not start over: a new request token needs the user's approval again.
   */
  readonly scopedAccessToken: (
    requestToken: RequestTokenV4 | Secret
  ) => Effect.Effect<
    AccessToken,
    RequestError | AccessTokenRequired | TokenExpired | SessionDenied | InvalidToken,
    Scope.Scope
  >

  /** The v4 approval page (`{webBaseUrl}/auth/access?request_token=...`). Pure. */
  readonly approvalUrlV4: (requestToken: RequestTokenV4 | Secret) => string
}

const make: Effect.Effect<AuthServiceShape, never, TmdbConfig | HttpClient.HttpClient> = Effect.map(
  TmdbClient.make,
  fromClient
)

/**
 * The TMDB authentication service.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function*() {
 *   const auth = yield* AuthService
 *   const session = yield* auth.login({ username: "jane", password: Redacted.make("secret") })
 *   yield* auth.deleteSession(session)
 * })
 * program.pipe(Effect.provide(AuthService.layerLive), NodeRuntime.runMain)
 * ```
 * @since 0.1.0
 */
export class AuthService extends Context.Service<AuthService, AuthServiceShape>()("effect-tmdb-auth/AuthService") {
  /**
   * Builds the service from the context's `TmdbConfig` and `HttpClient`, over a `TmdbClient` of its own (with its own
   * admission gate). Prefer {@link AuthService.layer}, which shares the `TmdbClient` of its layer graph.
   */
  static readonly make: Effect.Effect<AuthServiceShape, never, TmdbConfig | HttpClient.HttpClient> = make

  /**
   * The service over whatever `HttpClient` and `TmdbConfig` the context provides. It also provides the `TmdbClient`
   * it is built on, so that the app's own TMDB calls share its admission gate.
   */
  static readonly layer: Layer.Layer<AuthService | TmdbClient, never, TmdbConfig | HttpClient.HttpClient> = Layer
    .effect(AuthService, Effect.map(TmdbClient, fromClient))
    .pipe(Layer.provideMerge(TmdbClient.layer))

  /**
   * `scopedSession` as a function of the context: logs in, and deletes the session when the `Scope` closes.
   *
   * @example
   * ```ts
   * Effect.scoped(Effect.gen(function*() {
   *   const session = yield* AuthService.scopedSession({ username, password })
   *   // ... use the session; it is deleted when this scope closes
   * }))
   * ```
   */
  static scopedSession(
    credentials: LoginOptions
  ): Effect.Effect<
    Session,
    RequestError | InvalidCredentials | TokenExpired | SessionDenied,
    AuthService | Scope.Scope
  > {
    return Effect.flatMap(AuthService, (auth) => auth.scopedSession(credentials))
  }

  /** `scopedAccessToken` as a function of the context: the v4 access token, logged out when the `Scope` closes. */
  static scopedAccessToken(
    requestToken: RequestTokenV4 | Secret
  ): Effect.Effect<
    AccessToken,
    RequestError | AccessTokenRequired | TokenExpired | SessionDenied | InvalidToken,
    AuthService | Scope.Scope
  > {
    return Effect.flatMap(AuthService, (auth) => auth.scopedAccessToken(requestToken))
  }

  /**
   * Ready for live TMDB on Node: `TmdbConfig.layerConfig` (environment) and `TmdbHttpClient.layer` (undici, one
   * keep-alive agent with as many connections as admission lets requests in flight). `@effect/platform-node` (an
   * optional peer dependency) is loaded only when this layer is built, so browser bundles never pull it in; without
   * it, building the layer fails with a `ConfigError` that says what to install. Like {@link AuthService.layer}, it also
   * provides the `TmdbClient` it is built on, for the app's own TMDB calls (since 0.6.0).
   */
  static readonly layerLive: Layer.Layer<AuthService | TmdbClient, Config.ConfigError> = AuthService.layer.pipe(
    Layer.provide(TmdbHttpClient.layer),
    Layer.provide(TmdbConfig.layerConfig)
  )
}
