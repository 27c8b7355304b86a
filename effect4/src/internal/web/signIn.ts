/**
 * The sign-in middleware's part of the web login: who signed in (`SignedIn`, `CurrentAccount`, provided to the routes
 * behind it) and what a request gets without a valid session (401 JSON or a redirect to the login, 503 when the store
 * fails), or when TMDB answers that its session ended (forgotten, then as without one). `TmdbWebLogin.requireSignIn`,
 * `signedIn` and `orUnauthorized` run it; web/TmdbWebLogin.ts re-exports its public names.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import type { Account } from "../../Account.js"
import type { Session } from "../../Session.js"
import type { SessionNotFound } from "../../TmdbError.js"
import { UserSession } from "../../UserSession.js"
import type { TmdbWebLoginShape } from "../../web/TmdbWebLogin.js"
import { pageAt as page } from "./routes.js"

/**
 * Who signed in: the TMDB session (for the app's own TMDB calls) and the account.
 *
 * @since 0.5.0
 */
export interface SignedInShape {
  readonly session: Session
  readonly account: Account
}

/**
 * The signed-in user of the request, provided by the middlewares.
 *
 * @since 0.5.0
 */
export class SignedIn extends Context.Service<SignedIn, SignedInShape>()("effect-tmdb-auth/web/SignedIn") {}

/**
 * The account of the signed-in user, provided by the plain router's middleware (beside `UserSession`).
 *
 * @since 0.5.0
 */
export class CurrentAccount extends Context.Service<CurrentAccount, Account>()("effect-tmdb-auth/web/CurrentAccount") {}

/**
 * Options of the middlewares: what a request without a valid session gets.
 *
 * @since 0.5.0
 */
export interface RequireSignInOptions {
  /** `json` (default): 401 with `{"_tag":"Unauthorized","message":...}`, for API routes; `redirect`: to the login, for pages. */
  readonly unauthenticated?: "json" | "redirect" | undefined
}

export const isSessionNotFound = (error: unknown): error is SessionNotFound =>
  typeof error === "object" && error !== null && (error as { _tag?: unknown })._tag === "SessionNotFound"

/** The answer to a request whose TMDB session ended while a handler used it. */
export const sessionForgottenMessage = "Your TMDB session has ended (session forgotten): sign in with TMDB again."

/** Forgets the request's session after a handler's `SessionNotFound` (TMDB no longer knows it), logged at info. */
export const forgetEndedWith = (web: TmdbWebLoginShape, request: HttpServerRequest.HttpServerRequest) =>
  Effect.andThen(
    web.forget(request),
    Effect.logInfo("TmdbWebLogin: session forgotten: TMDB answered that it no longer knows the session")
  )

/** The request's path and query as the browser sent them (Effect 4's `originalUrl` carries the scheme and host). */
const pathOf = (request: HttpServerRequest.HttpServerRequest) => {
  const url = request.originalUrl
  return url.startsWith("/") ? url : url.slice(new URL(url).origin.length)
}

const signInFirst = (
  web: TmdbWebLoginShape,
  request: HttpServerRequest.HttpServerRequest,
  options: RequireSignInOptions,
  message: string
) =>
  options.unauthenticated === "redirect"
    ? HttpServerResponse.redirect(`${web.loginPath}?returnTo=${encodeURIComponent(pathOf(request))}`, {
      status: 302
    })
    : HttpServerResponse.jsonUnsafe(
      { _tag: "Unauthorized", message },
      { status: 401, headers: { "www-authenticate": "Cookie" } }
    )

/** 503: who is signed in cannot be told now (JSON for API routes, a page for pages), never "sign in". */
const storeUnavailable = (options: RequireSignInOptions) =>
  options.unauthenticated === "redirect"
    ? page(503, "Temporarily unavailable", "Sign-in is temporarily unavailable. Try again in a moment.").pipe(
      HttpServerResponse.setHeader("retry-after", "5")
    )
    : HttpServerResponse.jsonUnsafe(
      { _tag: "SessionStoreUnavailable", message: "Sign-in is temporarily unavailable; try again in a moment." },
      { status: 503, headers: { "retry-after": "5" } }
    )

export const signedInWith = <E, R>(
  web: TmdbWebLoginShape,
  request: HttpServerRequest.HttpServerRequest,
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
  options: RequireSignInOptions
): Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  Exclude<E, SessionNotFound>,
  Exclude<R, UserSession | CurrentAccount | SignedIn>
> =>
  Effect.gen(function*() {
    const signedIn = yield* Effect.result(web.current(request))
    if (Result.isFailure(signedIn)) return storeUnavailable(options)
    if (Option.isNone(signedIn.success)) return signInFirst(web, request, options, "Sign in with TMDB first.")
    const user = signedIn.success.value
    return yield* app.pipe(
      Effect.provideService(UserSession, user.session),
      Effect.provideService(CurrentAccount, user.account),
      Effect.provideService(SignedIn, user),
      Effect.catchIf(
        isSessionNotFound,
        () => Effect.as(forgetEndedWith(web, request), signInFirst(web, request, options, sessionForgottenMessage))
      )
    )
  }) as Effect.Effect<
    HttpServerResponse.HttpServerResponse,
    Exclude<E, SessionNotFound>,
    Exclude<R, UserSession | CurrentAccount | SignedIn>
  >
