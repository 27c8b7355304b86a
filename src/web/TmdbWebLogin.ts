/**
 * "Sign in with TMDB" for `@effect/platform` HttpServer apps: login, callback and logout routes (a plain
 * `HttpRouter`, or an `HttpApiGroup` with its handlers), a session middleware, and server-side sessions.
 *
 * @since 0.5.0
 */
import type * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { Account } from "../Account.js"
import { AuthService } from "../AuthService.js"
import { escapeHtml } from "../internal/html.js"
import { constantTimeEqual, hmacKey, randomId, sha256, sign, verify } from "../internal/signing.js"
import { Session } from "../Session.js"
import { UserSession } from "../UserSession.js"
import { WebSessionStore } from "./WebSessionStore.js"

/** The session cookie's name: an opaque random id, signed; never the TMDB session id. */
export const sessionCookieName = "tmdb_session"
/** The login cookie's name: binds a request token to the browser that started the login. */
export const loginCookieName = "tmdb_login"

/**
 * Options of {@link TmdbWebLogin.layer}.
 *
 * @since 0.5.0
 */
export interface TmdbWebLoginOptions {
  /** The app's public URL (`https://app.example`): TMDB sends the browser back to it; https makes cookies `Secure`. */
  readonly publicUrl: string
  /** Signs the cookies: at least 32 characters; keep it secret and the same across instances. */
  readonly signingKey: Redacted.Redacted<string> | string
  /** Where the routes live. Default `/auth/tmdb`. */
  readonly prefix?: string | undefined
  /** A session not used for this long ends. Default 7 days. */
  readonly idleTimeout?: Duration.DurationInput | undefined
  /** A session ends this long after sign-in, used or not (the cookie's Max-Age). Default 30 days. */
  readonly absoluteTimeout?: Duration.DurationInput | undefined
  /** How long the user has to approve on TMDB's page (the login cookie's Max-Age). Default 15 minutes. */
  readonly loginTimeout?: Duration.DurationInput | undefined
  /** A stored session is checked with TMDB (`GET /3/account`) when last checked longer ago. Default 5 minutes. */
  readonly revalidateAfter?: Duration.DurationInput | undefined
}

interface Settings {
  readonly publicUrl: URL
  readonly signingKey: Redacted.Redacted<string>
  readonly prefix: string
  readonly idleMillis: number
  readonly absoluteMillis: number
  readonly loginMillis: number
  readonly revalidateMillis: number
}

const duration = (
  name: string,
  input: Duration.DurationInput | undefined,
  fallback: Duration.DurationInput
): Either.Either<number, string> => {
  const decoded = Option.getOrUndefined(Option.liftThrowable(() => Duration.decode(input ?? fallback))())
  return decoded !== undefined && Duration.isFinite(decoded) && Duration.toMillis(decoded) > 0
    ? Either.right(Duration.toMillis(decoded))
    : Either.left(`${name} must be a positive, finite duration such as "7 days", not ${JSON.stringify(String(input))}`)
}

const invalid = (path: string, message: string) => ConfigError.InvalidData([path], message)

/** Checks the options at startup: a mistake is a `ConfigError` naming the setting and the fix. */
const checkOptions = (options: TmdbWebLoginOptions): Either.Either<Settings, ConfigError.ConfigError> => {
  let url: URL
  try {
    url = new URL(options.publicUrl)
  } catch {
    return Either.left(invalid("publicUrl", `publicUrl must be the app's URL, such as "https://app.example"`))
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return Either.left(invalid("publicUrl", "publicUrl must be an http(s) URL"))
  }
  if (url.search !== "" || url.hash !== "") {
    return Either.left(invalid("publicUrl", "publicUrl must not carry a query or a fragment"))
  }
  const key = Redacted.isRedacted(options.signingKey) ? options.signingKey : Redacted.make(options.signingKey)
  if (Redacted.value(key).length < 32) {
    return Either.left(
      invalid(
        "signingKey",
        "signingKey must be at least 32 characters (e.g. `openssl rand -base64 32`), kept secret and the same on every instance"
      )
    )
  }
  const prefix = options.prefix ?? "/auth/tmdb"
  if (!/^\/[A-Za-z0-9._~\-/]*[^/]$/.test(prefix) || prefix.includes("//")) {
    return Either.left(invalid("prefix", `prefix must be a path such as "/auth/tmdb", not ${JSON.stringify(prefix)}`))
  }
  const lifetimes = [
    duration("idleTimeout", options.idleTimeout, "7 days"),
    duration("absoluteTimeout", options.absoluteTimeout, "30 days"),
    duration("loginTimeout", options.loginTimeout, "15 minutes"),
    duration("revalidateAfter", options.revalidateAfter, "5 minutes")
  ] as const
  for (const [i, name] of ["idleTimeout", "absoluteTimeout", "loginTimeout", "revalidateAfter"].entries()) {
    const lifetime = lifetimes[i]!
    if (Either.isLeft(lifetime)) return Either.left(invalid(name, lifetime.left))
  }
  const [idle, absolute, login, revalidate] = lifetimes.map((l) => Either.getOrThrow(l)) as [
    number,
    number,
    number,
    number
  ]
  return Either.right({
    publicUrl: new URL(url.pathname.replace(/\/+$/, "") || "/", url.origin),
    signingKey: key,
    prefix,
    idleMillis: idle,
    absoluteMillis: absolute,
    loginMillis: login,
    revalidateMillis: revalidate
  })
}

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
export class SignedIn extends Context.Tag("effect-tmdb-auth/web/SignedIn")<SignedIn, SignedInShape>() {}

/**
 * The account of the signed-in user, provided by the plain router's middleware (beside `UserSession`).
 *
 * @since 0.5.0
 */
export class CurrentAccount extends Context.Tag("effect-tmdb-auth/web/CurrentAccount")<CurrentAccount, Account>() {}

/**
 * A request without a valid session cookie (HTTP 401, JSON).
 *
 * @since 0.5.0
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 401 })
) {}

/**
 * The web login's routes and session lookups.
 *
 * @since 0.5.0
 */
export interface TmdbWebLoginShape {
  /** Where the routes live, e.g. `/auth/tmdb`. */
  readonly prefix: string
  /** `GET {prefix}/login?returnTo=/path`. */
  readonly login: (returnTo: string | undefined) => Effect.Effect<HttpServerResponse.HttpServerResponse>
  /** `GET {prefix}/callback?request_token=...&approved=true`. */
  readonly callback: (
    request: HttpServerRequest.HttpServerRequest
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse>
  /** `POST {prefix}/logout`. */
  readonly logout: (
    request: HttpServerRequest.HttpServerRequest
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse>
  /** The signed-in user of a request (its session cookie), if any and still valid. */
  readonly current: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<Option.Option<SignedInShape>>
  /** The same, from the session cookie's value (what HttpApi's security hands over). */
  readonly fromCookie: (value: string) => Effect.Effect<Option.Option<SignedInShape>>
  /** Forgets the request's session locally (e.g. after TMDB answered 401/3 for it). */
  readonly forget: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<void>
  /** The three routes as a plain router. */
  readonly router: HttpRouter.HttpRouter
}

// Pages ------------------------------------------------------------------------------------------------------

const page = (status: number, title: string, message: string) =>
  HttpServerResponse.html(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
      `<body><h1>${escapeHtml(title)}</h1><p id="message">${
        escapeHtml(message)
      }</p><p><a href="/">Back</a></p></body></html>`
  ).pipe(HttpServerResponse.setStatus(status), HttpServerResponse.setHeader("cache-control", "no-store"))

// Stored sessions ----------------------------------------------------------------------------------------------

const Stored = Schema.parseJson(Schema.Struct({
  sessionId: Schema.String,
  account: Account,
  createdAt: Schema.Number,
  lastSeenAt: Schema.Number,
  checkedAt: Schema.Number
}))
type Stored = typeof Stored.Type

const LoginBinding = Schema.parseJson(Schema.Struct({ h: Schema.String, r: Schema.String, e: Schema.Number }))

/** A session is written back at most once a minute while used (its idle clock), not on every request. */
const TOUCH_MILLIS = 60_000

/** How long a request waits for TMDB's answer when it checks a stored session. */
const CHECK_TIMEOUT = Duration.seconds(3)

const isSessionNotFound = (error: unknown) =>
  typeof error === "object" && error !== null && (error as { _tag?: unknown })._tag === "SessionNotFound"

const make = (settings: Settings) =>
  Effect.gen(function*() {
    const auth = yield* AuthService
    const { expiresEntries, setWithTtl, store } = yield* WebSessionStore
    const key = yield* hmacKey(settings.signingKey)
    const origin = settings.publicUrl.origin
    const base = settings.publicUrl.pathname === "/" ? "" : settings.publicUrl.pathname
    const callbackUrl = `${origin}${base}${settings.prefix}/callback`
    const secure = settings.publicUrl.protocol === "https:"
    const sessionCookie = { httpOnly: true, sameSite: "lax", secure, path: "/" } as const
    const loginCookie = { httpOnly: true, sameSite: "lax", secure, path: `${base}${settings.prefix}` } as const
    const indexLock = yield* Effect.makeSemaphore(1)
    // The last use is written back at most once a minute, and often enough for a short idle lifetime.
    const touchMillis = Math.min(TOUCH_MILLIS, settings.idleMillis / 4)

    /** A `returnTo` that stays on this app: a same-origin path, else `/`. */
    const safeReturnTo = (returnTo: string | undefined): string => {
      if (returnTo === undefined || !returnTo.startsWith("/") || returnTo.startsWith("//")) return "/"
      if (Array.from(returnTo).some((c) => c === "\\" || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return "/"
      try {
        const url = new URL(returnTo, origin)
        return url.origin === origin ? `${url.pathname}${url.search}${url.hash}` : "/"
      } catch {
        return "/"
      }
    }

    const storeKey = (hash: string) => `session:${hash}`

    // The index (non-expiring stores only): session hash -> absolute end, so that sessions nobody comes back for
    // are removed too. Swept at most once a minute, on sign-in.
    let sweptAt = 0
    const Index = Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Number }))
    const updateIndex = (f: (index: Record<string, number>, now: number) => void) =>
      expiresEntries ? Effect.void : indexLock.withPermits(1)(
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const text = yield* store.get("index")
          const index: Record<string, number> = Option.isSome(text)
            ? { ...Either.getOrElse(Schema.decodeEither(Index)(text.value), () => ({})) }
            : {}
          f(index, now)
          if (now - sweptAt >= TOUCH_MILLIS) {
            sweptAt = now
            for (const [hash, end] of Object.entries(index)) {
              if (end <= now) {
                delete index[hash]
                yield* store.remove(storeKey(hash))
              }
            }
          }
          yield* store.set("index", Schema.encodeSync(Index)(index))
        })
      ).pipe(Effect.catchAll((error) => Effect.logWarning(`TmdbWebLogin: session index not updated: ${error.message}`)))

    const write = (hash: string, stored: Stored, now: number) =>
      setWithTtl(
        storeKey(hash),
        Schema.encodeSync(Stored)(stored),
        Duration.millis(
          Math.min(stored.lastSeenAt + settings.idleMillis, stored.createdAt + settings.absoluteMillis) - now
        )
      )

    const removeStrict = (hash: string) =>
      Effect.zipRight(
        store.remove(storeKey(hash)),
        updateIndex((index) => {
          delete index[hash]
        })
      )
    const remove = (hash: string) =>
      removeStrict(hash).pipe(
        Effect.catchAll((error) =>
          Effect.logWarning(`TmdbWebLogin: session not removed from the store: ${error.message}`)
        )
      )

    const lookup = (cookieValue: string): Effect.Effect<Option.Option<SignedInShape>> =>
      Effect.gen(function*() {
        const id = yield* verify(key, cookieValue)
        if (Option.isNone(id)) return Option.none()
        const hash = yield* sha256(id.value)
        const text = yield* store.get(storeKey(hash))
        if (Option.isNone(text)) return Option.none()
        const decoded = Schema.decodeEither(Stored)(text.value)
        if (Either.isLeft(decoded)) {
          yield* remove(hash)
          return Option.none()
        }
        let stored = decoded.right
        const now = yield* Clock.currentTimeMillis
        if (now >= stored.createdAt + settings.absoluteMillis || now >= stored.lastSeenAt + settings.idleMillis) {
          yield* remove(hash)
          return Option.none()
        }
        const session = new Session({ sessionId: Redacted.make(stored.sessionId) })
        if (now - stored.checkedAt >= settings.revalidateMillis) {
          // Bounded: the check runs inside the user's request, so a slow or failing TMDB (retries, Retry-After)
          // must not hold the page; after CHECK_TIMEOUT the session is kept and checked again later.
          const checked = yield* Effect.either(
            auth.getAccount(session).pipe(
              Effect.timeoutFail({
                duration: CHECK_TIMEOUT,
                onTimeout: () => ({ _tag: "Timeout", message: "no answer in time" })
              })
            )
          )
          if (Either.isLeft(checked) && checked.left._tag !== "SessionNotFound") {
            yield* Effect.logWarning(`TmdbWebLogin: session not checked with TMDB (kept): ${checked.left.message}`)
          }
          if (Either.isLeft(checked) && checked.left._tag === "SessionNotFound") {
            // TMDB no longer knows the session (deleted elsewhere, revoked): drop it here too.
            yield* remove(hash)
            return Option.none()
          }
          // Another failure (TMDB unreachable, rate limited) keeps the session, checked again after revalidateAfter
          // (not on every request while TMDB is down).
          const checkedAt = yield* Clock.currentTimeMillis
          stored = Either.isRight(checked)
            ? { ...stored, account: checked.right, checkedAt, lastSeenAt: checkedAt }
            : { ...stored, checkedAt, lastSeenAt: checkedAt }
          yield* write(hash, stored, checkedAt)
          return Option.some({ session, account: stored.account })
        }
        if (now - stored.lastSeenAt >= touchMillis) {
          stored = { ...stored, lastSeenAt: now }
          yield* write(hash, stored, now)
        }
        return Option.some({ session, account: stored.account })
      }).pipe(
        Effect.catchAll((error) =>
          Effect.as(Effect.logWarning(`TmdbWebLogin: session store failed: ${error.message}`), Option.none())
        ),
        Effect.withSpan("TmdbWebLogin.session", { captureStackTrace: false })
      )

    const current = (request: HttpServerRequest.HttpServerRequest) => {
      const cookie = request.cookies[sessionCookieName]
      return cookie === undefined || cookie === "" ? Effect.succeedNone : lookup(cookie)
    }

    const forgetStrict = (request: HttpServerRequest.HttpServerRequest) => {
      const cookie = request.cookies[sessionCookieName]
      if (cookie === undefined) return Effect.void
      return Effect.flatMap(verify(key, cookie), (id) =>
        Option.isNone(id) ? Effect.void : Effect.flatMap(sha256(id.value), removeStrict))
    }
    const forget = (request: HttpServerRequest.HttpServerRequest) =>
      forgetStrict(request).pipe(
        Effect.catchAll((error) =>
          Effect.logWarning(`TmdbWebLogin: session not removed from the store: ${error.message}`)
        )
      )

    const login = (returnTo: string | undefined) =>
      Effect.gen(function*() {
        const token = yield* auth.createRequestToken
        const now = yield* Clock.currentTimeMillis
        const binding = Schema.encodeSync(LoginBinding)({
          h: yield* sha256(Redacted.value(token.token)),
          r: safeReturnTo(returnTo),
          e: now + settings.loginMillis
        })
        const signed = yield* sign(key, Encoding.encodeBase64Url(binding))
        return HttpServerResponse.redirect(auth.approvalUrl(token, { redirectTo: callbackUrl }), {
          status: 302,
          headers: { "cache-control": "no-store" }
        }).pipe(
          HttpServerResponse.unsafeSetCookie(loginCookieName, signed, {
            ...loginCookie,
            maxAge: Duration.millis(settings.loginMillis)
          })
        )
      }).pipe(
        Effect.catchAll((error) =>
          Effect.as(
            Effect.logWarning(`TmdbWebLogin: no request token: ${error.message}`),
            page(502, "Sign-in unavailable", "TMDB could not be reached to start the sign-in. Try again in a moment.")
          )
        ),
        Effect.withSpan("TmdbWebLogin.login", { captureStackTrace: false })
      )

    const clearLogin = HttpServerResponse.expireCookie(loginCookieName, loginCookie)

    /** The login cookie's binding, if it is ours, unexpired, and for this request token. */
    const boundTo = (request: HttpServerRequest.HttpServerRequest, token: string) =>
      Effect.gen(function*() {
        const cookie = request.cookies[loginCookieName]
        if (cookie === undefined || token === "") {
          return Option.none<string>()
        }
        const payload = yield* verify(key, cookie)
        if (Option.isNone(payload)) {
          return Option.none<string>()
        }
        const text = Encoding.decodeBase64UrlString(payload.value)
        if (Either.isLeft(text)) {
          return Option.none<string>()
        }
        const binding = Schema.decodeEither(LoginBinding)(text.right)
        if (Either.isLeft(binding)) {
          return Option.none<string>()
        }
        const now = yield* Clock.currentTimeMillis
        if (now >= binding.right.e) {
          return Option.none<string>()
        }
        const hash = yield* sha256(token)
        return constantTimeEqual(hash, binding.right.h) ? Option.some(binding.right.r) : Option.none<string>()
      })

    const callback = (request: HttpServerRequest.HttpServerRequest) =>
      Effect.gen(function*() {
        const query = new URL(request.originalUrl, origin).searchParams
        const token = query.get("request_token") ?? ""
        const returnTo = yield* boundTo(request, token)
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
        const session = yield* Effect.either(auth.createSession(token))
        if (Either.isLeft(session)) {
          const error = session.left
          yield* Effect.logWarning(`TmdbWebLogin: no session: ${error.message}`)
          return error._tag === "TokenExpired"
            ? page(400, "Sign-in expired", "The sign-in took too long. Start again from the app.")
            : error._tag === "SessionDenied"
            ? page(403, "Sign-in declined", "TMDB did not approve the sign-in, so you are not signed in.")
            : page(502, "Sign-in failed", "TMDB could not complete the sign-in. Try again in a moment.")
        }
        const account = yield* Effect.either(auth.getAccount(session.right))
        if (Either.isLeft(account)) {
          yield* Effect.logWarning(`TmdbWebLogin: no account: ${account.left.message}`)
          yield* auth.deleteSession(session.right).pipe(Effect.catchAll(() =>
            Effect.void
          ))
          return page(502, "Sign-in failed", "TMDB could not complete the sign-in. Try again in a moment.")
        }
        const now = yield* Clock.currentTimeMillis
        const id = randomId()
        const hash = yield* sha256(id)
        const stored: Stored = {
          sessionId: Redacted.value(session.right.sessionId),
          account: account.right,
          createdAt: now,
          lastSeenAt: now,
          checkedAt: now
        }
        const saved = yield* Effect.either(write(hash, stored, now))
        if (Either.isLeft(saved)) {
          yield* Effect.logWarning(`TmdbWebLogin: session not stored: ${saved.left.message}`)
          yield* auth.deleteSession(session.right).pipe(Effect.catchAll(() => Effect.void))
          return page(503, "Sign-in failed", "The app could not store the sign-in. Try again in a moment.")
        }
        yield* updateIndex((index) => {
          index[hash] = now + settings.absoluteMillis
        })
        return HttpServerResponse.redirect(safeReturnTo(returnTo.value), {
          status: 303,
          headers: { "cache-control": "no-store" }
        }).pipe(
          HttpServerResponse.unsafeSetCookie(sessionCookieName, yield* sign(key, id), {
            ...sessionCookie,
            maxAge: Duration.millis(settings.absoluteMillis)
          })
        )
      }).pipe(
        Effect.map(clearLogin),
        Effect.withSpan("TmdbWebLogin.callback", { captureStackTrace: false })
      )

    /** A browser's POST from another site: refused (SameSite=Lax already keeps the cookie off it; this is the second wall). */
    const crossSite = (request: HttpServerRequest.HttpServerRequest) => {
      const requestOrigin = request.headers["origin"]
      if (requestOrigin !== undefined) return requestOrigin !== origin
      const site = request.headers["sec-fetch-site"]
      if (site !== undefined && site !== "same-origin" && site !== "none") return true
      const referer = request.headers["referer"]
      if (referer === undefined) return false
      try {
        return new URL(referer).origin !== origin
      } catch {
        return true
      }
    }

    const logout = (request: HttpServerRequest.HttpServerRequest) =>
      Effect.gen(function*() {
        if (crossSite(request)) {
          return page(403, "Sign-out refused", "A sign-out must come from this app's own pages.")
        }
        const signedIn = yield* current(request)
        if (Option.isSome(signedIn)) {
          yield* auth.deleteSession(signedIn.value.session).pipe(
            Effect.catchAll((error) =>
              Effect.logWarning(`TmdbWebLogin: TMDB session not deleted (removed here anyway): ${error.message}`)
            )
          )
        }
        // If the store cannot remove the session, saying "signed out" would leave the cookie usable: refuse instead.
        const forgotten = yield* Effect.either(forgetStrict(request))
        if (Either.isLeft(forgotten)) {
          yield* Effect.logWarning(`TmdbWebLogin: sign-out failed, session store: ${forgotten.left.message}`)
          return page(503, "Sign-out failed", "The app could not end your session. Try again in a moment.")
        }
        return HttpServerResponse.redirect("/", { status: 303 }).pipe(
          HttpServerResponse.expireCookie(sessionCookieName, sessionCookie)
        )
      }).pipe(Effect.withSpan("TmdbWebLogin.logout", { captureStackTrace: false }))

    const router = HttpRouter.empty.pipe(
      HttpRouter.get(
        `${settings.prefix}/login` as `/${string}`,
        Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
          const returnTo = new URL(request.originalUrl, origin).searchParams.get("returnTo") ?? undefined
          return login(returnTo)
        })
      ),
      HttpRouter.get(
        `${settings.prefix}/callback` as `/${string}`,
        Effect.flatMap(HttpServerRequest.HttpServerRequest, callback)
      ),
      HttpRouter.post(
        `${settings.prefix}/logout` as `/${string}`,
        Effect.flatMap(HttpServerRequest.HttpServerRequest, logout)
      )
    )

    return {
      prefix: settings.prefix,
      login,
      callback,
      logout,
      current,
      fromCookie: (value: string) => value === "" ? Effect.succeedNone : lookup(value),
      forget,
      router
    } satisfies TmdbWebLoginShape
  })

/**
 * Options of the middlewares: what a request without a valid session gets.
 *
 * @since 0.5.0
 */
export interface RequireSignInOptions {
  /** `json` (default): 401 with `{"_tag":"Unauthorized","message":...}`, for API routes; `redirect`: to the login, for pages. */
  readonly unauthenticated?: "json" | "redirect" | undefined
}

/**
 * "Sign in with TMDB": routes, sessions and middlewares.
 *
 * @example
 * ```ts
 * const app = Effect.gen(function*() {
 *   const web = yield* TmdbWebLogin
 *   return HttpRouter.empty.pipe(
 *     HttpRouter.concat(web.router),
 *     HttpRouter.get("/me", Effect.map(CurrentAccount, (a) => HttpServerResponse.unsafeJson({ username: a.username }))),
 *     TmdbWebLogin.requireSignIn()
 *   )
 * })
 * ```
 * @since 0.5.0
 */
export class TmdbWebLogin extends Context.Tag("effect-tmdb-auth/web/TmdbWebLogin")<TmdbWebLogin, TmdbWebLoginShape>() {
  /** The service, with the options checked at startup (a mistake is a `ConfigError` naming the setting). */
  static layer(
    options: TmdbWebLoginOptions
  ): Layer.Layer<TmdbWebLogin, ConfigError.ConfigError, AuthService | WebSessionStore> {
    return Layer.effect(
      TmdbWebLogin,
      Effect.flatMap(Either.match(checkOptions(options), { onLeft: Effect.fail, onRight: Effect.succeed }), make)
    )
  }

  /**
   * The service from `Config`: `TMDB_WEB_PUBLIC_URL` and `TMDB_WEB_SIGNING_KEY` (redacted) by default; a missing or
   * short key is a `ConfigError` at startup.
   */
  static layerConfig(
    options: {
      readonly publicUrl?: Config.Config<string>
      readonly signingKey?: Config.Config<Redacted.Redacted<string>>
    } & Omit<TmdbWebLoginOptions, "publicUrl" | "signingKey"> = {}
  ): Layer.Layer<TmdbWebLogin, ConfigError.ConfigError, AuthService | WebSessionStore> {
    const { publicUrl = Config.string("TMDB_WEB_PUBLIC_URL"), signingKey, ...rest } = options
    const key = signingKey ?? Config.redacted("TMDB_WEB_SIGNING_KEY").pipe(
      Config.validate({
        message: "TMDB_WEB_SIGNING_KEY must be at least 32 characters (e.g. `openssl rand -base64 32`)",
        validation: (value) => Redacted.value(value).length >= 32
      })
    )
    return Layer.unwrapEffect(
      Effect.map(
        Config.all({ publicUrl, signingKey: key }),
        (config) => TmdbWebLogin.layer({ ...rest, ...config })
      )
    )
  }

  /**
   * A middleware for a plain `HttpRouter`: a request with a valid session cookie gets `UserSession`, `CurrentAccount`
   * and `SignedIn`; one without gets 401 JSON or a redirect to the login. A handler failing with `SessionNotFound`
   * (TMDB answered 401/3 for the session) drops the stored session.
   */
  static requireSignIn(options: RequireSignInOptions = {}) {
    return <E, R>(
      router: HttpRouter.HttpRouter<E, R>
    ): HttpRouter.HttpRouter<E, Exclude<R, UserSession | CurrentAccount | SignedIn> | TmdbWebLogin> =>
      HttpRouter.use(router, (handler) => signedInApp(handler, options)) as HttpRouter.HttpRouter<
        E,
        Exclude<R, UserSession | CurrentAccount | SignedIn> | TmdbWebLogin
      >
  }

  /** The same as {@link TmdbWebLogin.requireSignIn}, for one `HttpApp`. */
  static readonly signedIn = <E, R>(
    app: HttpApp.Default<E, R>,
    options: RequireSignInOptions = {}
  ): HttpApp.Default<E, Exclude<R, UserSession | CurrentAccount | SignedIn> | TmdbWebLogin> => signedInApp(app, options)
}

const signedInApp = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
  options: RequireSignInOptions
): Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  E,
  Exclude<R, UserSession | CurrentAccount | SignedIn> | TmdbWebLogin | HttpServerRequest.HttpServerRequest
> =>
  Effect.gen(function*() {
    const web = yield* TmdbWebLogin
    const request = yield* HttpServerRequest.HttpServerRequest
    const signedIn = yield* web.current(request)
    if (Option.isNone(signedIn)) {
      if (options.unauthenticated === "redirect") {
        return HttpServerResponse.redirect(
          `${web.prefix}/login?returnTo=${encodeURIComponent(request.originalUrl)}`,
          { status: 302 }
        )
      }
      return HttpServerResponse.unsafeJson(
        { _tag: "Unauthorized", message: "Sign in with TMDB first." },
        { status: 401, headers: { "www-authenticate": "Cookie" } }
      )
    }
    return yield* app.pipe(
      Effect.provideService(UserSession, signedIn.value.session),
      Effect.provideService(CurrentAccount, signedIn.value.account),
      Effect.provideService(SignedIn, signedIn.value),
      Effect.tapError((error) => isSessionNotFound(error) ? web.forget(request) : Effect.void)
    )
  }) as Effect.Effect<
    HttpServerResponse.HttpServerResponse,
    E,
    Exclude<R, UserSession | CurrentAccount | SignedIn> | TmdbWebLogin | HttpServerRequest.HttpServerRequest
  >

// HttpApi ----------------------------------------------------------------------------------------------------

const OptionalText = Schema.optional(Schema.String)

/**
 * The routes as an `HttpApiGroup` named `tmdbAuth`, under `prefix` (default `/auth/tmdb`; give
 * `TmdbWebLogin.layer` the same prefix).
 *
 * @since 0.5.0
 */
export const makeTmdbAuthGroup = (prefix: `/${string}` = "/auth/tmdb") =>
  HttpApiGroup.make("tmdbAuth", { topLevel: false })
    .add(HttpApiEndpoint.get("login", "/login").setUrlParams(Schema.Struct({ returnTo: OptionalText })))
    .add(
      HttpApiEndpoint.get("callback", "/callback").setUrlParams(
        Schema.Struct({ request_token: OptionalText, approved: OptionalText, denied: OptionalText })
      )
    )
    .add(HttpApiEndpoint.post("logout", "/logout"))
    .prefix(prefix)

/**
 * The group at the default prefix, `/auth/tmdb`.
 *
 * @since 0.5.0
 */
export const TmdbAuthGroup = makeTmdbAuthGroup()

/**
 * The group's type.
 *
 * @since 0.5.0
 */
export type TmdbAuthGroup = typeof TmdbAuthGroup

/**
 * The handlers of the `tmdbAuth` group for an `HttpApi` that includes it.
 *
 * @since 0.5.0
 */
export const layerTmdbAuthHandlers = <ApiId extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, ApiE, ApiR>(
  api: HttpApi.HttpApi<ApiId, Groups | TmdbAuthGroup, ApiE, ApiR>
): Layer.Layer<HttpApiGroup.ApiGroup<ApiId, "tmdbAuth">, never, TmdbWebLogin> =>
  HttpApiBuilder.group(
    api as unknown as HttpApi.HttpApi<ApiId, TmdbAuthGroup, never, never>,
    "tmdbAuth",
    (handlers) =>
      handlers
        .handle("login", ({ urlParams }) => Effect.flatMap(TmdbWebLogin, (web) => web.login(urlParams.returnTo)))
        .handle("callback", ({ request }) => Effect.flatMap(TmdbWebLogin, (web) => web.callback(request)))
        .handle("logout", ({ request }) => Effect.flatMap(TmdbWebLogin, (web) => web.logout(request)))
  ) as unknown as Layer.Layer<HttpApiGroup.ApiGroup<ApiId, "tmdbAuth">, never, TmdbWebLogin>

/**
 * The HttpApi middleware: security by the session cookie; provides `SignedIn` (session and account); a request
 * without a valid session fails with `Unauthorized` (401 JSON).
 *
 * @since 0.5.0
 */
export class TmdbSignIn extends HttpApiMiddleware.Tag<TmdbSignIn>()("effect-tmdb-auth/web/TmdbSignIn", {
  failure: Unauthorized,
  provides: SignedIn,
  security: {
    /** The session cookie, `tmdb_session`: an opaque signed id, looked up in the `WebSessionStore`. */
    cookie: HttpApiSecurity.apiKey({ in: "cookie", key: sessionCookieName })
  }
}) {
  /** Its implementation, over the app's `TmdbWebLogin`. */
  static readonly layer: Layer.Layer<TmdbSignIn, never, TmdbWebLogin> = Layer.effect(
    TmdbSignIn,
    Effect.map(TmdbWebLogin, (web) =>
      TmdbSignIn.of({
        cookie: (value) =>
          Effect.flatMap(web.fromCookie(Redacted.value(value)), (signedIn) =>
            Option.match(signedIn, {
              onNone: () => Effect.fail(new Unauthorized({ message: "Sign in with TMDB first." })),
              onSome: Effect.succeed
            }))
      }))
  )
}
