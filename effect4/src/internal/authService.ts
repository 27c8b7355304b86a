/**
 * `AuthService`'s methods over a `TmdbClient`: each endpoint a request with its wire schema and the errors it names,
 * the login's steps and restarts, and sessions and access tokens as scoped resources whose release is bounded.
 */
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { AccessToken, RequestTokenV4 } from "../AccessToken.js"
import { Account } from "../Account.js"
import type { ApprovalUrlOptions, AuthServiceShape, LoginOptions, ValidateWithLoginOptions } from "../AuthService.js"
import { RequestToken } from "../RequestToken.js"
import { defaultRetryOptions } from "../RetryPolicy.js"
import { GuestSession, Session } from "../Session.js"
import type { TmdbClientShape } from "../TmdbClient.js"
import type { Secret } from "../TmdbConfig.js"
import { AccessTokenRequired, TokenExpired } from "../TmdbError.js"
import { releaseQuietlyUnlessTransient } from "./release.js"
import { reveal, toRedacted } from "./secret.js"
import { internalRequestOf } from "./tmdbClient.js"
import * as Wire from "./wire.js"

const paths = {
  validateKey: "/3/authentication",
  requestToken: "/3/authentication/token/new",
  validateWithLogin: "/3/authentication/token/validate_with_login",
  session: "/3/authentication/session",
  newSession: "/3/authentication/session/new",
  convert: "/3/authentication/session/convert/4",
  guestSession: "/3/authentication/guest_session/new",
  requestTokenV4: "/4/auth/request_token",
  account: "/3/account",
  accessToken: "/4/auth/access_token"
} as const

/** `GET /3/account`'s answer, as TMDB sends it. */
const AccountResponse = Schema.Struct({
  id: Schema.Number,
  username: Schema.String,
  name: Schema.NullOr(Schema.String).pipe(Schema.withDecodingDefault(Effect.succeed(""))),
  iso_639_1: Schema.NullOr(Schema.String).pipe(Schema.withDecodingDefault(Effect.succeed(""))),
  iso_3166_1: Schema.NullOr(Schema.String).pipe(Schema.withDecodingDefault(Effect.succeed(""))),
  include_adult: Schema.Boolean.pipe(Schema.withDecodingDefault(Effect.succeed(false)))
})

const toAccount = (body: typeof AccountResponse.Type): Account =>
  new Account({
    id: body.id,
    username: body.username,
    name: body.name ?? "",
    languageCode: body.iso_639_1 ?? "",
    countryCode: body.iso_3166_1 ?? "",
    includeAdult: body.include_adult
  }, { disableChecks: true })

const V4_REQUEST_TOKEN_LIFETIME = Duration.minutes(15)

/** A request token past its `expiresAt` fails here, without a request. */
const ensureUsable = (requestToken: RequestToken | RequestTokenV4, endpoint: string) =>
  Effect.clockWith((clock) =>
    // Expired at `expiresAt` exactly, as `isExpired` says.
    clock.currentTimeMillisUnsafe() >= requestToken.expiresAt.epochMilliseconds
      ? Effect.fail(new TokenExpired({ endpoint, expiresAt: requestToken.expiresAt }))
      : Effect.void
  )

const tokenOf = (requestToken: RequestToken | RequestTokenV4 | Secret): string =>
  reveal(
    requestToken instanceof RequestToken || requestToken instanceof RequestTokenV4 ? requestToken.token : requestToken
  )

const accessTokenOf = (accessToken: AccessToken | Secret): string =>
  reveal(accessToken instanceof AccessToken ? accessToken.accessToken : accessToken)

/** Fields the decoder has just checked are not checked again. */
const trusted = { disableChecks: true } as const

const toRequestToken = (body: typeof Wire.RequestTokenResponse.Type) =>
  new RequestToken({ token: body.request_token, expiresAt: body.expires_at }, trusted)

const toSession = (body: typeof Wire.SessionResponse.Type) => new Session({ sessionId: body.session_id }, trusted)

/**
 * A span per public method; no stack is captured (it costs an `Error` per call and names this file). Trace options go
 * last: `withSpan(self, name, options)`, `withSpan(name, undefined, options)`.
 */
const spanOptions = { captureStackTrace: false } as const

/** How long `endSession` waits for TMDB before carrying on in the background. */
const END_SESSION_WAIT = Duration.seconds(3)

/**
 * A failure of `validate_with_login` or `session/new` that leaves it unknown whether TMDB acted: no answer in time, a
 * broken connection, a garbled answer, a server error. Its token cannot be used again, but a fresh one may succeed.
 */
const isAmbiguousLoginFailure = (error: unknown): boolean => {
  if (typeof error !== "object" || error === null) return false
  const { _tag, endpoint, httpStatus, reason } = error as {
    readonly _tag?: string
    readonly endpoint?: string
    readonly httpStatus?: number
    readonly reason?: string
  }
  if (endpoint === undefined || !(endpoint.endsWith(paths.validateWithLogin) || endpoint.endsWith(paths.newSession))) {
    return false
  }
  switch (_tag) {
    case "TransportError":
      return reason === "Timeout" || reason === "Transport"
    case "MalformedResponse":
      return true
    case "TmdbUnavailable":
      return httpStatus !== undefined && httpStatus >= 500
    default:
      return false
  }
}

export const fromClient = (client: TmdbClientShape): AuthServiceShape => {
  /**
   * Starts a release (a delete at TMDB) in the client's background and waits for it at most `waitAtMost`: after that
   * it goes on there (retried within lateAnswerGrace), so that no caller, and no finalizer, waits on a silent server.
   * Its failures are logged, not raised.
   */
  const releaseBounded = <E extends { readonly _tag: string; readonly message: string }>(
    what: string,
    release: Effect.Effect<void, E>,
    waitAtMost: Duration.Input
  ) =>
    Effect.flatMap(
      client.background(what, release.pipe(releaseQuietlyUnlessTransient(what))),
      // The bounded wait runs in a fiber of its own: in a finalizer (uninterruptible, perhaps of an interrupted fiber)
      // a timeout could neither interrupt the wait nor be made interruptible without ending it at once.
      (fiber) =>
        Effect.flatMap(
          // Started at once: the wait's timer is set before the caller goes on (and before a TestClock adjusts).
          Effect.forkDetach(Effect.interruptible(Effect.ignore(Effect.timeout(Fiber.await(fiber), waitAtMost))), {
            startImmediately: true
          }),
          Fiber.await
        )
    )

  /** A scope's release waits at most one request's timeout and a second: admission and all. */
  const finalizerWait = Duration.sum(client.config.timeout, Duration.seconds(1))

  /**
   * `acquire`, interruptible and timed like any request, then `release` registered on the scope the moment the
   * resource is known (uninterruptibly, so that nothing slips between). Unlike `Effect.acquireRelease`, a timeout or an
   * interrupt ends the wait for `acquire` at once; what it creates after that is cleaned up by the request itself
   * (late answers). Closing the scope starts the release and waits for it at most `finalizerWait`.
   */
  const acquireInterruptibly = <A, E, E2 extends { readonly _tag: string; readonly message: string }>(
    acquire: Effect.Effect<A, E>,
    release: (a: A) => Effect.Effect<void, E2>,
    what: string
  ): Effect.Effect<A, E, Scope.Scope> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.tap(restore(acquire), (a) => Effect.addFinalizer(() => releaseBounded(what, release(a), finalizerWait)))
    )

  const send = client.request
  const sendWith = internalRequestOf(client)
  const webBaseUrl = client.config.webBaseUrl
  const hasAccessToken = client.config.credential._tag === "AccessToken"
  /** v4 needs the read access token: with only an API key, fail before sending anything. */
  const requireAccessToken = (endpoint: string) =>
    hasAccessToken ? Effect.void : Effect.fail(new AccessTokenRequired({ endpoint }))

  const validateKey = send({ method: "GET", path: paths.validateKey, response: Wire.SuccessResponse, errors: [] })
    .pipe(Effect.asVoid, Effect.withSpan("AuthService.validateKey", undefined, spanOptions))

  const requestToken = send({
    method: "GET",
    path: paths.requestToken,
    response: Wire.RequestTokenResponse,
    errors: []
  }).pipe(Effect.map(toRequestToken))
  const createRequestToken = Effect.withSpan(requestToken, "AuthService.createRequestToken", spanOptions)

  const approve = (options: ValidateWithLoginOptions) =>
    Effect.andThen(
      ensureUsable(options.requestToken, `POST ${paths.validateWithLogin}`),
      send({
        method: "POST",
        path: paths.validateWithLogin,
        body: {
          username: options.username,
          password: reveal(options.password),
          request_token: Redacted.value(options.requestToken.token)
        },
        response: Wire.RequestTokenResponse,
        errors: ["InvalidCredentials", "TokenExpired"]
      })
    ).pipe(Effect.map(toRequestToken))
  const validateWithLogin = (options: ValidateWithLoginOptions) =>
    Effect.withSpan(approve(options), "AuthService.validateWithLogin", spanOptions)

  /**
   * `DELETE /3/authentication/session`, safe to repeat: transient failures are retried, and a session TMDB no longer
   * knows (37) on a repeated attempt means an earlier one deleted it.
   */
  const removeSession = (sessionId: string) =>
    sendWith({
      method: "DELETE",
      path: paths.session,
      body: { session_id: sessionId },
      response: Wire.SuccessResponse,
      errors: ["SessionNotFound"],
      idempotent: true
    }, { doneOnRetry: { tags: ["SessionNotFound"], value: { success: true } as const } })

  /** A session that came after its caller stopped waiting: deleted. */
  const lateSession = {
    what: "A session",
    cleanup: (body: typeof Wire.SessionResponse.Type) => removeSession(Redacted.value(body.session_id))
  }

  const newSession = (requestToken: RequestToken | Secret) =>
    sendWith({
      method: "POST",
      path: paths.newSession,
      body: { request_token: tokenOf(requestToken) },
      response: Wire.SessionResponse,
      errors: ["TokenExpired", "SessionDenied"]
    }, { lateAnswer: lateSession }).pipe(Effect.map(toSession))
  const sessionFrom = (requestToken: RequestToken | Secret) =>
    requestToken instanceof RequestToken
      ? Effect.andThen(ensureUsable(requestToken, `POST ${paths.newSession}`), newSession(requestToken))
      : newSession(requestToken)
  const createSession = (requestToken: RequestToken | Secret) =>
    Effect.withSpan(sessionFrom(requestToken), "AuthService.createSession", spanOptions)

  const createSessionFromV4 = (accessToken: AccessToken | Secret) =>
    sendWith({
      method: "POST",
      path: paths.convert,
      body: { access_token: accessTokenOf(accessToken) },
      response: Wire.SessionResponse,
      errors: ["InvalidToken"]
    }, { lateAnswer: lateSession }).pipe(
      Effect.map(toSession),
      Effect.withSpan("AuthService.createSessionFromV4", undefined, spanOptions)
    )

  const deleteSession = (session: Session | Secret) =>
    removeSession(reveal(session instanceof Session ? session.sessionId : session)).pipe(
      Effect.asVoid,
      Effect.withSpan("AuthService.deleteSession", undefined, spanOptions)
    )

  const endSession = (
    session: Session | Secret,
    options?: { readonly waitAtMost?: Duration.Input | undefined }
  ) =>
    releaseBounded("session", deleteSession(session), options?.waitAtMost ?? END_SESSION_WAIT).pipe(
      Effect.withSpan("AuthService.endSession", undefined, spanOptions)
    )

  const getAccount = (session: Session | Secret) =>
    send({
      method: "GET",
      path: paths.account,
      session: session instanceof Session ? session : new Session({ sessionId: toRedacted(session) }, trusted),
      response: AccountResponse,
      errors: []
    }).pipe(Effect.map(toAccount), Effect.withSpan("AuthService.getAccount", undefined, spanOptions))

  const createGuestSession = send({
    method: "GET",
    path: paths.guestSession,
    response: Wire.GuestSessionResponse,
    errors: []
  }).pipe(
    Effect.map((body) =>
      new GuestSession({ guestSessionId: body.guest_session_id, expiresAt: body.expires_at }, trusted)
    ),
    Effect.withSpan("AuthService.createGuestSession", undefined, spanOptions)
  )

  /**
   * Request token, then validate with login: the approved token. The steps of `login` and `scopedSession` record no
   * spans of their own: one span per public method called (with `requestSpans`, one per HTTP attempt below it).
   */
  const approveWithLogin = (options: LoginOptions) =>
    Effect.flatMap(requestToken, (token) => approve({ ...options, requestToken: token }))

  /**
   * A login's POST steps are not repeatable (a request token is used once), but when one fails without telling
   * whether TMDB acted, a fresh request token may well succeed: the whole login starts over, up to `maxRestarts`
   * times. A session the abandoned attempt created is deleted by the late-answer cleanup.
   */
  const maxRestarts = client.config.maxRestarts ?? defaultRetryOptions.maxRestarts
  const restarting = <A, E extends { readonly _tag: string }, R>(attempt: Effect.Effect<A, E, R>) =>
    maxRestarts === 0 ? attempt : Effect.retry(
      Effect.tapError(attempt, (error) =>
        isAmbiguousLoginFailure(error)
          ? Effect.logDebug("AuthService: a login step failed without telling whether TMDB acted").pipe(
            Effect.annotateLogs({
              endpoint: (error as { readonly endpoint?: string }).endpoint ?? "",
              error: error._tag
            })
          )
          : Effect.void),
      { times: maxRestarts, while: isAmbiguousLoginFailure }
    )

  const login = (options: LoginOptions) =>
    restarting(Effect.flatMap(approveWithLogin(options), sessionFrom)).pipe(
      Effect.withSpan("AuthService.login", undefined, spanOptions)
    )

  const approvalUrl = (requestToken: RequestToken | Secret, options?: ApprovalUrlOptions): string => {
    const url = new URL(`${webBaseUrl}/authenticate/${encodeURIComponent(tokenOf(requestToken))}`)
    if (options?.redirectTo !== undefined) url.searchParams.set("redirect_to", options.redirectTo)
    return url.toString()
  }

  // Every step is interruptible and timed, session/new included: a session whose answer comes after the caller
  // stopped waiting is deleted in the background (see lateSession). The delete is registered the moment the session
  // is known, uninterruptibly, and retries transient failures.
  const scopedSession = (credentials: LoginOptions) =>
    restarting(
      approveWithLogin(credentials).pipe(
        Effect.flatMap((approved) => acquireInterruptibly(sessionFrom(approved), deleteSession, "session"))
      )
    ).pipe(Effect.withSpan("AuthService.scopedSession", undefined, spanOptions))

  const createRequestTokenV4 = (options?: ApprovalUrlOptions) =>
    Effect.andThen(
      requireAccessToken(`POST ${paths.requestTokenV4}`),
      // TMDB's 15 minutes start when it answers: counting from before sending keeps the estimate early.
      Effect.flatMap(DateTime.now, (sentAt) =>
        send({
          method: "POST",
          path: paths.requestTokenV4,
          body: options?.redirectTo === undefined ? {} : { redirect_to: options.redirectTo },
          response: Wire.RequestTokenV4Response,
          errors: []
        }).pipe(Effect.map((body) =>
          new RequestTokenV4({
            token: body.request_token,
            expiresAt: DateTime.addDuration(sentAt, V4_REQUEST_TOKEN_LIFETIME)
          }, trusted)
        )))
    ).pipe(Effect.withSpan("AuthService.createRequestTokenV4", undefined, spanOptions))

  /** `DELETE /4/auth/access_token`, safe to repeat; "invalid token" on a repeated attempt means it is logged out. */
  const removeAccessToken = (token: string) =>
    sendWith({
      method: "DELETE",
      path: paths.accessToken,
      body: { access_token: token },
      response: Wire.SuccessResponse,
      errors: ["InvalidToken"],
      idempotent: true
    }, { doneOnRetry: { tags: ["InvalidToken"], value: { success: true } as const } })

  const createAccessToken = (requestToken: RequestTokenV4 | Secret) => {
    const endpoint = `POST ${paths.accessToken}`
    return requireAccessToken(endpoint).pipe(
      Effect.andThen(requestToken instanceof RequestTokenV4 ? ensureUsable(requestToken, endpoint) : Effect.void),
      Effect.andThen(sendWith({
        method: "POST",
        path: paths.accessToken,
        body: { request_token: tokenOf(requestToken) },
        response: Wire.AccessTokenResponse,
        errors: ["TokenExpired", "SessionDenied", "InvalidToken"]
      }, {
        lateAnswer: {
          what: "A v4 access token",
          cleanup: (body: typeof Wire.AccessTokenResponse.Type) => removeAccessToken(Redacted.value(body.access_token))
        }
      })),
      Effect.map((body) => new AccessToken({ accessToken: body.access_token, accountId: body.account_id }, trusted)),
      Effect.withSpan("AuthService.createAccessToken", undefined, spanOptions)
    )
  }

  const deleteAccessToken = (accessToken: AccessToken | Secret) =>
    Effect.andThen(requireAccessToken(`DELETE ${paths.accessToken}`), removeAccessToken(accessTokenOf(accessToken)))
      .pipe(Effect.asVoid, Effect.withSpan("AuthService.deleteAccessToken", undefined, spanOptions))

  const scopedAccessToken = (requestToken: RequestTokenV4 | Secret) =>
    acquireInterruptibly(createAccessToken(requestToken), deleteAccessToken, "access token").pipe(
      Effect.withSpan("AuthService.scopedAccessToken", undefined, spanOptions)
    )

  const approvalUrlV4 = (requestToken: RequestTokenV4 | Secret): string => {
    const url = new URL(`${webBaseUrl}/auth/access`)
    url.searchParams.set("request_token", tokenOf(requestToken))
    return url.toString()
  }

  return {
    validateKey,
    createRequestToken,
    validateWithLogin,
    createSession,
    createSessionFromV4,
    deleteSession,
    endSession,
    getAccount,
    createGuestSession,
    login,
    approvalUrl,
    scopedSession,
    createRequestTokenV4,
    createAccessToken,
    deleteAccessToken,
    scopedAccessToken,
    approvalUrlV4
  }
}
