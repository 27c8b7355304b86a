import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Duration, Effect, Exit, Fiber, Layer, Logger, Redacted } from "effect"
import { AuthService, TmdbConfig, UserGuestSession, UserSession } from "effect-tmdb-auth"
import { FakeTmdb, Fault } from "effect-tmdb-auth/testing"
import { TestClock } from "effect/testing"

const credentials = { username: "demo", password: "demo-password" }

const Fake = FakeTmdb.layerAuthService()

const liveSessions = Effect.flatMap(FakeTmdb, (fake) => fake.sessions)

describe("AuthService.scopedSession", () => {
  it.effect("deletes the session when the scope closes after success", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const during = yield* Effect.scoped(Effect.andThen(auth.scopedSession(credentials), liveSessions))
      expect(during).toHaveLength(1)
      expect(yield* liveSessions).toHaveLength(0)
    }).pipe(Effect.provide(Fake)))

  it.effect("deletes the session when the program fails, and keeps the program's failure", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const exit = yield* Effect.exit(Effect.scoped(
        Effect.andThen(auth.scopedSession(credentials), Effect.fail("the program failed" as const))
      ))
      expect(exit).toEqual(Exit.fail("the program failed"))
      expect(yield* liveSessions).toHaveLength(0)
    }).pipe(Effect.provide(Fake)))

  it.effect("deletes the session when the program is interrupted", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const acquired = yield* Deferred.make<void>()
      const fiber = yield* Effect.forkChild(Effect.scoped(
        auth.scopedSession(credentials).pipe(
          Effect.andThen(Deferred.succeed(acquired, undefined)),
          Effect.andThen(Effect.never)
        )
      ))
      yield* Deferred.await(acquired)
      expect(yield* liveSessions).toHaveLength(1)
      yield* Fiber.interrupt(fiber)
      expect(yield* liveSessions).toHaveLength(0)
    }).pipe(Effect.provide(Fake)))

  it.effect("an interrupt during the login's retries stops at once, and leaves no session", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* fake.fail("GET /3/authentication/token/new", Fault.RateLimited({ retryAfter: 20 }))
      const fiber = yield* Effect.forkChild(Effect.scoped(auth.scopedSession(credentials)))
      yield* TestClock.adjust("1 second")
      // No more clock time passes: the interrupt must not wait for the 20 s Retry-After.
      yield* Fiber.interrupt(fiber)
      const exit = yield* Fiber.await(fiber)
      expect(Exit.hasInterrupts(exit)).toBe(true)
      expect(yield* liveSessions).toHaveLength(0)
    }).pipe(Effect.provide(Fake)))

  it.effect("a session TMDB already forgot (37) is logged on release, not raised", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const logs: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => logs.push(`${logLevel.toUpperCase()} ${String(message)}`))
      yield* Effect.scoped(Effect.flatMap(auth.scopedSession(credentials), (session) => auth.deleteSession(session)))
        .pipe(Effect.provide(Logger.layer([logger])))
      expect(logs).toHaveLength(1)
      expect(logs[0]).toMatch(/^WARN The session was already gone on TMDB's side: TMDB has no such session \(code 37/)
    }).pipe(Effect.provide(Fake)))

  it.effect("AuthService.scopedSession is the same, taking the service from the context", () =>
    Effect.gen(function*() {
      const during = yield* Effect.scoped(Effect.andThen(AuthService.scopedSession(credentials), liveSessions))
      expect(during).toHaveLength(1)
      expect(yield* liveSessions).toHaveLength(0)
    }).pipe(Effect.provide(Fake)))

  it.effect("a failed login acquires nothing and fails with the login's error", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const error = yield* Effect.flip(Effect.scoped(auth.scopedSession({ username: "demo", password: "nope" })))
      expect(error._tag).toBe("InvalidCredentials")
      expect(yield* liveSessions).toHaveLength(0)
    }).pipe(Effect.provide(Fake)))
})

/** A downstream service written by a user of the library: it needs "a logged-in session". */
class Watchlist extends Context.Service<Watchlist, { readonly sessionId: () => string }>()("test/Watchlist") {
  static readonly layer = Layer.effect(
    Watchlist,
    Effect.map(UserSession, (session) => ({ sessionId: () => Redacted.value(session.sessionId) }))
  )
}

describe("UserSession", () => {
  it.effect("UserSession.layer gives downstream services a logged-in session and logs out on release", () =>
    Effect.gen(function*() {
      const fake = yield* FakeTmdb
      const sessionId = yield* Effect.map(Watchlist, (w) => w.sessionId()).pipe(
        Effect.provide(Watchlist.layer.pipe(Layer.provide(UserSession.layer(credentials))))
      )
      expect(sessionId).toMatch(/^[0-9a-f]{40}$/)
      expect(yield* fake.sessions).toHaveLength(0)
      const requests = (yield* fake.requests).map((r) => `${r.method} ${r.path}`)
      expect(requests.at(-1)).toBe("DELETE /3/authentication/session")
    }).pipe(Effect.provide(Fake)))

  it.effect("UserSession.layerFromV4 converts a v4 access token and deletes the session on release", () =>
    Effect.gen(function*() {
      const fake = yield* FakeTmdb
      const during = yield* Effect.andThen(UserSession, fake.sessions).pipe(
        Effect.provide(UserSession.layerFromV4("eyJ.v4-user"))
      )
      expect(during.map((s) => s.username)).toEqual(["demo"])
      expect(yield* fake.sessions).toHaveLength(0)
    }).pipe(
      Effect.provide(FakeTmdb.layerAuthService({ v4AccessTokens: [{ accessToken: "eyJ.v4-user", username: "demo" }] }))
    ))

  it.effect("UserGuestSession.layer provides a guest session", () =>
    Effect.gen(function*() {
      const guest = yield* UserGuestSession
      expect(Redacted.value(guest.guestSessionId)).toMatch(/^[0-9a-f]{32}$/)
    }).pipe(Effect.provide(UserGuestSession.layer), Effect.provide(Fake)))
})

describe("v4 authentication", () => {
  const v4 = Effect.gen(function*() {
    const auth = yield* AuthService
    const fake = yield* FakeTmdb
    return { auth, fake }
  })

  it.effect("request token, approval, access token, v3 session from it, logout", () =>
    Effect.gen(function*() {
      const { auth, fake } = yield* v4
      const requestToken = yield* auth.createRequestTokenV4({ redirectTo: "http://127.0.0.1:9/done" })
      expect(auth.approvalUrlV4(requestToken)).toBe(
        `https://www.themoviedb.org/auth/access?request_token=${Redacted.value(requestToken.token)}`
      )
      yield* fake.approve(requestToken)
      const accessToken = yield* auth.createAccessToken(requestToken)
      expect(accessToken.accountId).toMatch(/^[0-9a-f]{24}$/)
      expect(String(accessToken)).not.toContain(Redacted.value(accessToken.accessToken))
      const session = yield* auth.createSessionFromV4(accessToken)
      expect((yield* fake.sessions).map((s) => Redacted.value(s.sessionId))).toEqual([
        Redacted.value(session.sessionId)
      ])
      yield* auth.deleteAccessToken(accessToken)
      expect(yield* fake.userAccessTokens).toHaveLength(0)
      expect((yield* Effect.flip(auth.createSessionFromV4(accessToken)))._tag).toBe("InvalidToken")
      expect((yield* Effect.flip(auth.deleteAccessToken(accessToken)))._tag).toBe("InvalidToken")
      const requests = (yield* fake.requests).slice(0, 3).map((r) => [`${r.method} ${r.path}`, r.bodyKeys])
      expect(requests).toEqual([
        ["POST /4/auth/request_token", ["redirect_to"]],
        ["POST /4/auth/access_token", ["request_token"]],
        ["POST /3/authentication/session/convert/4", ["access_token"]]
      ])
    }).pipe(Effect.provide(Fake)))

  it.effect("an unapproved v4 token is refused with SessionDenied (41); a used one with TokenExpired (33)", () =>
    Effect.gen(function*() {
      const { auth, fake } = yield* v4
      const requestToken = yield* auth.createRequestTokenV4()
      expect(yield* Effect.flip(auth.createAccessToken(requestToken))).toMatchObject({
        _tag: "SessionDenied",
        statusCode: 41,
        httpStatus: 422
      })
      yield* fake.approve(requestToken)
      yield* auth.createAccessToken(requestToken)
      expect(yield* Effect.flip(auth.createAccessToken(requestToken))).toMatchObject({
        _tag: "TokenExpired",
        statusCode: 33
      })
    }).pipe(Effect.provide(Fake)))

  it.effect("a v4 request token expires at 15 minutes: usable at 14:59, refused at 15:00 (locally and by TMDB)", () =>
    Effect.gen(function*() {
      const { auth, fake } = yield* v4
      const early = yield* auth.createRequestTokenV4()
      const late = yield* auth.createRequestTokenV4()
      yield* fake.approve(early)
      yield* fake.approve(late)
      yield* TestClock.adjust(Duration.subtract(Duration.minutes(15), Duration.seconds(1)))
      yield* auth.createAccessToken(early)
      yield* TestClock.adjust("1 second")
      const local = yield* Effect.flip(auth.createAccessToken(late))
      expect(local._tag).toBe("TokenExpired")
      expect(local).not.toHaveProperty("httpStatus")
      const remote = yield* Effect.flip(auth.createAccessToken(late.token))
      expect(remote).toMatchObject({ _tag: "TokenExpired", statusCode: 33, httpStatus: 401 })
    }).pipe(Effect.provide(Fake)))

  it.effect("scopedAccessToken logs the access token out when the scope closes", () =>
    Effect.gen(function*() {
      const { auth, fake } = yield* v4
      const requestToken = yield* auth.createRequestTokenV4()
      yield* fake.approve(requestToken)
      const during = yield* Effect.scoped(Effect.andThen(auth.scopedAccessToken(requestToken), fake.userAccessTokens))
      expect(during).toHaveLength(1)
      expect(yield* fake.userAccessTokens).toHaveLength(0)
    }).pipe(Effect.provide(Fake)))

  it.effect("with only an API key, v4 calls fail with AccessTokenRequired before sending anything", () =>
    Effect.gen(function*() {
      const { auth, fake } = yield* v4
      const errors = [
        yield* Effect.flip(auth.createRequestTokenV4()),
        yield* Effect.flip(auth.createAccessToken("raw-token")),
        yield* Effect.flip(auth.deleteAccessToken("raw-token"))
      ]
      expect(errors.map((e) => e._tag)).toEqual(["AccessTokenRequired", "AccessTokenRequired", "AccessTokenRequired"])
      expect(errors[0]?.message).toContain("needs the API Read Access Token")
      expect(yield* fake.requests).toHaveLength(0)
    }).pipe(Effect.provide(AuthService.layer.pipe(
      Layer.provideMerge(FakeTmdb.layer()),
      Layer.provide(TmdbConfig.layer({ apiKey: FakeTmdb.defaults.apiKey }))
    ))))
})
