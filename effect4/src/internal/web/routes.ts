/**
 * The web login's routes and pages: `login` (a request token bound to this browser, then TMDB's approval page),
 * `callback` (the binding checked, the session created and stored), `logout` (same-origin only; here, or everywhere).
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpMiddleware from "effect/http/HttpMiddleware"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Option from "effect/Option"
import type * as RateLimiter from "effect/persistence/RateLimiter"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import { escapeHtml } from "../../../core/html.js"
import type { AuthServiceShape } from "../../AuthService.js"
import type { SignedInShape } from "../../web/TmdbWebLogin.js"
import type { SessionStoreUnavailable } from "../../web/WebSessionStore.js"
import { withPageHeaders, withSecurityHeaders } from "./headers.js"
import type { Signer } from "./keys.js"
import { boundTo, makeBinding, safeReturnTo } from "./loginBinding.js"
import type { Settings } from "./options.js"
import type { Sessions } from "./sessions.js"

/** One of the login's small pages, with its security headers; "Back" goes to `home`. */
export const pageAt = (status: number, title: string, message: string, home = "/") =>
  withPageHeaders(
    HttpServerResponse.html(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
        `<body><h1>${escapeHtml(title)}</h1><p id="message">${escapeHtml(message)}</p><p><a href="${
          escapeHtml(home)
        }">Back</a></p></body></html>`
    ).pipe(HttpServerResponse.setStatus(status))
  )

const redirect = (location: string, status: 302 | 303) =>
  withSecurityHeaders(HttpServerResponse.redirect(location, { status, headers: { "cache-control": "no-store" } }))

/**
 * A state-changing request from this app's own pages: `Origin` is the app's; or, without an `Origin` (or with
 * `null`), `Sec-Fetch-Site: same-origin`; or, with neither, a `Referer` on the app's origin. Anything else (another
 * site, a sibling subdomain, a request that says nothing) is refused.
 */
export const fromOwnPages = (origin: string, request: HttpServerRequest.HttpServerRequest): boolean => {
  const requestOrigin = request.headers["origin"]
  if (requestOrigin !== undefined && requestOrigin !== "null") return requestOrigin === origin
  const site = request.headers["sec-fetch-site"]
  if (site !== undefined) return site === "same-origin"
  if (requestOrigin !== undefined) return false
  const referer = request.headers["referer"]
  if (referer === undefined) return false
  try {
    return new URL(referer).origin === origin
  } catch {
    return false
  }
}

/** What the routes need from the rest of the login. */
export interface RouteContext {
  readonly settings: Settings
  readonly auth: AuthServiceShape
  readonly sessions: Sessions
  readonly binding: Signer
  readonly current: (
    request: HttpServerRequest.HttpServerRequest
  ) => Effect.Effect<Option.Option<SignedInShape>, SessionStoreUnavailable>
  /** Ends the account's sessions here and at TMDB; how many. */
  readonly forgetAccount: (accountId: number) => Effect.Effect<number, SessionStoreUnavailable>
  /** The login route's limiter, when `loginRateLimit` is on. */
  readonly loginLimiter: RateLimiter.RateLimiter | undefined
  /** How long a request would wait for admission to TMDB now, when the app's TmdbClient is in the context. */
  readonly admissionWait: Option.Option<Effect.Effect<Duration.Duration>>
}

/** `/login` answers 503 rather than queue a request token behind this much admission wait. */
const MAX_LOGIN_ADMISSION_WAIT = Duration.seconds(2)

export const makeRoutes = (
  { admissionWait, auth, binding, current, forgetAccount, loginLimiter, sessions, settings }: RouteContext
) => {
  const { cookies, origin } = settings
  const page = (status: number, title: string, message: string) => pageAt(status, title, message, `${settings.base}/`)
  const callbackUrl = `${origin}${settings.base}${settings.prefix}/callback`
  const sessionCookie = { httpOnly: true, sameSite: "lax", secure: settings.secure, path: "/" } as const
  // `__Host-` needs Path=/; over http the login cookie stays on the login's own paths.
  const loginCookie = {
    httpOnly: true,
    sameSite: "lax",
    secure: settings.secure,
    path: settings.secure ? "/" : `${settings.base}${settings.prefix}`
  } as const

  /** The login's guards, each spending no TMDB request: the rate limit per client, then TMDB's admission wait. */
  const refusal = (request: HttpServerRequest.HttpServerRequest | undefined) =>
    Effect.gen(function*() {
      const limit = settings.loginRateLimit
      if (limit !== undefined && loginLimiter !== undefined && request !== undefined) {
        const consumed = yield* Effect.result(loginLimiter.consume({
          algorithm: "token-bucket",
          onExceeded: "fail",
          window: limit.window,
          limit: limit.limit,
          key: `login:${limit.key(request)}`
        }))
        if (Result.isFailure(consumed)) {
          const error = consumed.failure
          if (error.reason._tag === "RateLimitExceeded") {
            return Option.some(
              page(429, "Too many sign-ins", "Too many sign-ins from here. Wait a moment, then try again.").pipe(
                HttpServerResponse.setHeader(
                  "retry-after",
                  String(Math.max(1, Math.ceil(Duration.toSeconds(error.reason.retryAfter))))
                )
              )
            )
          }
          yield* Effect.logWarning(`TmdbWebLogin: login rate limit not checked: ${error.message}`)
        }
      }
      if (Option.isSome(admissionWait)) {
        const wait = yield* admissionWait.value
        if (Duration.isGreaterThan(wait, MAX_LOGIN_ADMISSION_WAIT)) {
          return Option.some(
            page(503, "Sign-in busy", "TMDB is busy for this app right now. Try again in a moment.").pipe(
              HttpServerResponse.setHeader("retry-after", String(Math.max(1, Math.ceil(Duration.toSeconds(wait)))))
            )
          )
        }
      }
      return Option.none<HttpServerResponse.HttpServerResponse>()
    })

  const login = (returnTo: string | undefined, request?: HttpServerRequest.HttpServerRequest | undefined) =>
    Effect.gen(function*() {
      const refused = yield* refusal(request)
      if (Option.isSome(refused)) return refused.value
      const token = yield* auth.createRequestToken
      const value = yield* makeBinding(
        binding,
        Redacted.value(token.token),
        safeReturnTo(origin, returnTo),
        settings.loginMillis
      )
      return redirect(auth.approvalUrl(token, { redirectTo: callbackUrl }), 302).pipe(
        HttpServerResponse.setCookieUnsafe(cookies.login, value, {
          ...loginCookie,
          maxAge: Duration.millis(settings.loginMillis)
        })
      )
    }).pipe(
      Effect.catch((error) =>
        Effect.as(
          Effect.logWarning(`TmdbWebLogin: no request token: ${error.message}`),
          page(502, "Sign-in unavailable", "TMDB could not be reached to start the sign-in. Try again in a moment.")
        )
      ),
      Effect.withSpan("TmdbWebLogin.login", undefined, { captureStackTrace: false })
    )

  const clearLogin = HttpServerResponse.expireCookieUnsafe(cookies.login, loginCookie)

  const completeSignIn = (request: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      const query = new URL(request.originalUrl, origin).searchParams
      const token = query.get("request_token") ?? ""
      const returnTo = yield* boundTo(binding, request.cookies[cookies.login], token)
      if (Option.isNone(returnTo)) {
        return page(
          400,
          "Sign-in refused",
          "This sign-in was not started in this browser, or it took too long. Start again from the app."
        )
      }
      if (query.get("denied") === "true" || query.get("approved") !== "true") {
        return page(403, "Sign-in declined", "You declined to sign in with TMDB, so you are not signed in.")
      }
      const session = yield* Effect.result(auth.createSession(token))
      if (Result.isFailure(session)) {
        const error = session.failure
        yield* Effect.logWarning(`TmdbWebLogin: no session: ${error.message}`)
        return error._tag === "TokenExpired"
          ? page(400, "Sign-in expired", "The sign-in took too long. Start again from the app.")
          : error._tag === "SessionDenied"
          ? page(403, "Sign-in declined", "TMDB did not approve the sign-in, so you are not signed in.")
          : page(502, "Sign-in failed", "TMDB could not complete the sign-in. Try again in a moment.")
      }
      const account = yield* Effect.result(auth.getAccount(session.success))
      if (Result.isFailure(account)) {
        yield* Effect.logWarning(`TmdbWebLogin: no account: ${account.failure.message}`)
        yield* auth.endSession(session.success)
        return page(502, "Sign-in failed", "TMDB could not complete the sign-in. Try again in a moment.")
      }
      const cookie = yield* Effect.result(
        sessions.create(session.success, account.success, request.cookies[cookies.session])
      )
      if (Result.isFailure(cookie)) {
        yield* Effect.logWarning(`TmdbWebLogin: session not stored: ${cookie.failure.message}`)
        yield* auth.endSession(session.success)
        return page(503, "Sign-in failed", "The app could not store the sign-in. Try again in a moment.")
      }
      // `returnTo` is a path of the app; browsers reach the app under the public URL's path.
      return redirect(`${settings.base}${safeReturnTo(origin, returnTo.value)}`, 303).pipe(
        HttpServerResponse.setCookieUnsafe(cookies.session, cookie.success, {
          ...sessionCookie,
          maxAge: Duration.millis(settings.absoluteMillis)
        })
      )
    })

  // The callback's URL carries the request token: kept out of the request log, and out of any Referer it would send.
  const callback = (request: HttpServerRequest.HttpServerRequest) =>
    completeSignIn(request).pipe(
      Effect.map((response) =>
        response.pipe(clearLogin, HttpServerResponse.setHeader("referrer-policy", "no-referrer"))
      ),
      HttpMiddleware.withLoggerDisabled,
      Effect.provideService(HttpServerRequest.HttpServerRequest, request),
      Effect.withSpan("TmdbWebLogin.callback", undefined, { captureStackTrace: false })
    )

  const endAll = (ended: ReadonlyArray<{ readonly sessionId: Redacted.Redacted<string> }>) =>
    Effect.forEach(ended, (session) => auth.endSession(session.sessionId), { concurrency: "unbounded", discard: true })

  const logout = (request: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      if (!fromOwnPages(origin, request)) {
        return page(403, "Sign-out refused", "A sign-out must come from this app's own pages.")
      }
      const everywhere = new URL(request.originalUrl, origin).searchParams.get("everywhere") === "true"
      const cookie = request.cookies[cookies.session]
      // Removed here first: if the store cannot remove the session, saying "signed out" would leave the cookie
      // usable, so the sign-out answers 503 instead. TMDB's delete then waits at most 3 s, and goes on after.
      const forgotten = yield* Effect.result(
        everywhere
          ? Effect.flatMap(current(request), (signedIn) =>
            Option.isNone(signedIn) ? Effect.void : Effect.asVoid(forgetAccount(signedIn.value.account.id)))
          : cookie === undefined
          ? Effect.void
          : Effect.flatMap(sessions.forget(cookie), (session) =>
            endAll(Option.toArray(session)))
      )
      if (Result.isFailure(forgotten)) {
        yield* Effect.logWarning(`TmdbWebLogin: sign-out failed, session store: ${forgotten.failure.message}`)
        return page(503, "Sign-out failed", "The app could not end your session. Try again in a moment.")
      }
      return redirect(`${settings.base}/`, 303).pipe(
        HttpServerResponse.expireCookieUnsafe(cookies.session, sessionCookie)
      )
    }).pipe(Effect.withSpan("TmdbWebLogin.logout", undefined, { captureStackTrace: false }))

  // The three routes, for a layer that adds them to the app's HttpRouter.
  const routes = [
    HttpRouter.route("GET", `${settings.prefix}/login` as `/${string}`, (request) => {
      const returnTo = new URL(request.originalUrl, origin).searchParams.get("returnTo") ?? undefined
      return login(returnTo, request)
    }),
    HttpRouter.route("GET", `${settings.prefix}/callback` as `/${string}`, callback),
    HttpRouter.route("POST", `${settings.prefix}/logout` as `/${string}`, logout)
  ] as const

  return { login, callback, logout, endAll, routes }
}
