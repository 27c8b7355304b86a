/**
 * What issue 13 added to the fake, in memory: the legacy GET forms, TMDB's texts for 37 and 41, `rateLimit` 0 as
 * no limit, deny / advanceClock / reset, the guest lifetime, and routes of the app's own.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Redacted, Schema } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import { TestClock } from "effect/testing"
import { AuthService, TmdbClient } from "../../src/index.js"
import type { FakeRouteHandler } from "../../src/testing/index.js"
import { FakeTmdb, Fault } from "../../src/testing/index.js"

const base = "https://api.themoviedb.org"

const raw = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(request)
    return { status: response.status, body: (yield* response.json) as Record<string, unknown> }
  })

const withKey = (path: string, query: Record<string, string>) =>
  HttpClientRequest.get(`${base}${path}`).pipe(
    HttpClientRequest.setUrlParams({ api_key: FakeTmdb.defaults.apiKey, ...query })
  )

describe("FakeTmdb legacy GET forms", () => {
  it.effect("GET validate_with_login and GET session/new log in as the POST forms do; the log keeps no query value", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      const token = Redacted.value((yield* auth.createRequestToken).token)
      const validated = yield* raw(withKey("/3/authentication/token/validate_with_login", {
        username: "demo",
        password: "demo-password",
        request_token: token
      }))
      expect(validated).toMatchObject({ status: 200, body: { success: true, request_token: token } })
      const session = yield* raw(withKey("/3/authentication/session/new", { request_token: token }))
      expect(session).toMatchObject({ status: 200, body: { success: true } })
      expect(yield* fake.sessions).toHaveLength(1)

      const log = JSON.stringify(yield* fake.requests)
      expect(log).not.toContain("demo-password")
      expect(log).not.toContain(token)
      expect(log).not.toContain(FakeTmdb.defaults.apiKey)
      expect((yield* fake.requests).map((r) => `${r.method} ${r.path}`)).toContain(
        "GET /3/authentication/token/validate_with_login"
      )
    }).pipe(Effect.provide(FakeTmdb.layerAuthService())))

  it.effect("the GET forms answer the same codes: 26 without a password, 30 for a wrong one, 33 for a used token", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const token = Redacted.value((yield* auth.createRequestToken).token)
      const login = (query: Record<string, string>) =>
        Effect.map(
          raw(withKey("/3/authentication/token/validate_with_login", query)),
          (a) => [a.status, a.body["status_code"]]
        )
      expect(yield* login({ username: "demo", request_token: token })).toEqual([400, 26])
      expect(yield* login({ username: "demo", password: "nope", request_token: token })).toEqual([401, 30])
      expect(yield* login({ username: "demo", password: "demo-password", request_token: token })).toEqual([
        200,
        undefined
      ])
      const first = yield* raw(withKey("/3/authentication/session/new", { request_token: token }))
      expect(first.status).toBe(200)
      const second = yield* raw(withKey("/3/authentication/session/new", { request_token: token }))
      expect([second.status, second.body["status_code"]]).toEqual([401, 33])
    }).pipe(Effect.provide(FakeTmdb.layerAuthService())))
})

describe("FakeTmdb fidelity", () => {
  it.effect("answers 37 and 41 with TMDB's texts", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const bearer = HttpClientRequest.bearerToken(FakeTmdb.defaults.accessToken)
      const deleted = yield* client.execute(
        HttpClientRequest.delete(`${base}/3/authentication/session`).pipe(
          bearer,
          HttpClientRequest.bodyJsonUnsafe({ session_id: "nope" })
        )
      )
      expect(yield* deleted.json).toEqual({
        success: false,
        status_code: 37,
        status_message: "The requested session could not be found."
      })
      const v4 = (yield* (yield* client.execute(
        HttpClientRequest.post(`${base}/4/auth/request_token`).pipe(bearer, HttpClientRequest.bodyJsonUnsafe({}))
      )).json) as { request_token: string }
      const access = yield* client.execute(
        HttpClientRequest.post(`${base}/4/auth/access_token`).pipe(
          bearer,
          HttpClientRequest.bodyJsonUnsafe({ request_token: v4.request_token })
        )
      )
      expect(access.status).toBe(422)
      expect(yield* access.json).toEqual({
        success: false,
        status_code: 41,
        status_message: "This request token hasn't been approved by the user."
      })
    }).pipe(Effect.provide(FakeTmdb.layer())))

  it.effect("rateLimit with 0 requests is no limit, not a 429 for everything", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* Effect.replicateEffect(auth.createRequestToken, 30)
      expect((yield* fake.counters).filter((c) => c.status === 429)).toEqual([])
    }).pipe(Effect.provide(FakeTmdb.layerAuthService({ rateLimit: { requests: 0 } }, { admission: false }))))
})

describe("FakeTmdb controls", () => {
  it.effect("a denied token cannot make a session (17) and cannot be approved afterwards", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      const token = yield* auth.createRequestToken
      yield* fake.deny(token)
      const error = yield* Effect.flip(auth.createSession(token))
      expect(error).toMatchObject({ _tag: "SessionDenied", statusCode: 17 })
      const exit = yield* Effect.exit(fake.approve(token))
      expect(exit._tag).toBe("Failure")
    }).pipe(Effect.provide(FakeTmdb.layerAuthService({}, { retry: { maxRetries: 0 } }))))

  it.effect("advanceClock expires a request token without moving Effect's clock", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      const token = yield* auth.createRequestToken
      yield* fake.approve(token)
      yield* fake.advanceClock("61 minutes")
      const error = yield* Effect.flip(auth.createSession(token))
      expect(error._tag).toBe("TokenExpired")
    }).pipe(Effect.provide(FakeTmdb.layerAuthService({}, { retry: { maxRetries: 0 } }))))

  it.effect("reset forgets tokens, sessions, added users, scripted faults and the log", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* fake.addUser({ username: "extra", password: "pw" })
      yield* auth.login({ username: "extra", password: "pw" })
      const token = yield* auth.createRequestToken
      yield* fake.fail("*", Fault.InternalError())
      yield* fake.reset
      expect(yield* fake.sessions).toEqual([])
      expect(yield* fake.requests).toEqual([])
      const expired = yield* Effect.flip(auth.createSession(token))
      expect(expired._tag).toBe("TokenExpired")
      const unknown = yield* Effect.flip(auth.login({ username: "extra", password: "pw" }))
      expect(unknown._tag).toBe("InvalidCredentials")
      yield* auth.login({ username: "demo", password: "demo-password" })
    }).pipe(Effect.provide(FakeTmdb.layerAuthService({}, { retry: { maxRetries: 0 } }))))

  it.effect("guestSessionLifetime sets how long a guest session lives", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      const guest = yield* auth.createGuestSession
      const created = yield* Clock.currentTimeMillis
      expect(guest.expiresAt.epochMilliseconds - created).toBe(2 * 60 * 60 * 1000)
      yield* TestClock.adjust("2 hours")
      expect(yield* fake.guestSessions).toEqual([])
    }).pipe(Effect.provide(FakeTmdb.layerAuthService({ guestSessionLifetime: "2 hours" }))))
})

/** The example of docs/testing.md: a watchlist route of the app's own, which needs a valid session. */
const watchlists = new Map<string, Array<number>>()
const watchlist: FakeRouteHandler = (request, fake) => {
  const session = fake.session(request.query.get("session_id"))
  if (session === undefined || String(session.accountId) !== request.params["account_id"]) {
    return FakeTmdb.failure(3)
  }
  return { body: { page: 1, results: (watchlists.get(session.username) ?? []).map((id) => ({ id })) } }
}

const Watchlist = Schema.Struct({ page: Schema.Number, results: Schema.Array(Schema.Struct({ id: Schema.Number })) })

describe("FakeTmdb routes of the app's own", () => {
  const Fake = FakeTmdb.layerAuthService({
    routes: { "GET /3/account/:account_id/watchlist/movies": watchlist }
  }, { retry: { maxRetries: 0 } })

  it.effect("a watchlist route answers a valid session, and 401/3 as TMDB does without one", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const tmdb = yield* TmdbClient
      watchlists.set("demo", [550, 603])
      const session = yield* auth.login({ username: "demo", password: "demo-password" })
      const account = yield* tmdb.request({
        method: "GET",
        path: "/3/account",
        session,
        response: Schema.Struct({ id: Schema.Number })
      })
      const list = yield* tmdb.request({
        method: "GET",
        path: `/3/account/${account.id}/watchlist/movies`,
        session,
        response: Watchlist
      })
      expect(list.results.map((m) => m.id)).toEqual([550, 603])

      yield* auth.deleteSession(session)
      const error = yield* Effect.flip(tmdb.request({
        method: "GET",
        path: `/3/account/${account.id}/watchlist/movies`,
        session,
        response: Watchlist
      }))
      expect(error).toMatchObject({ _tag: "SessionNotFound", statusCode: 3, httpStatus: 401 })
    }).pipe(Effect.provide(Fake)))

  it.effect("an app route needs the application credential, takes scripted faults and is logged", () =>
    Effect.gen(function*() {
      const fake = yield* FakeTmdb
      const client = yield* HttpClient.HttpClient
      const path = "/3/account/1000/watchlist/movies"
      const noKey = yield* raw(HttpClientRequest.get(`${base}${path}`))
      expect([noKey.status, noKey.body["status_code"]]).toEqual([401, 7])
      yield* fake.fail(`GET ${path}`, Fault.RateLimited({ retryAfter: 3 }))
      const limited = yield* client.execute(
        HttpClientRequest.get(`${base}${path}`).pipe(HttpClientRequest.bearerToken(FakeTmdb.defaults.accessToken))
      )
      expect([limited.status, limited.headers["retry-after"]]).toEqual([429, "3"])
      expect((yield* fake.requests).map((r) => [r.path, r.status])).toEqual([[path, 401], [path, 429]])
    }).pipe(Effect.provide(Fake)))

  it("refuses a route key that is not METHOD /path, naming the key", () => {
    expect(() =>
      Effect.runSync(Effect.scoped(Effect.asVoid(
        FakeTmdb.layer({ routes: { "watchlist": watchlist } }).pipe(
          (layer) => Effect.provide(Effect.void, layer)
        )
      )))
    ).toThrow(/"watchlist" is not "METHOD \/path"/)
  })
})

describe("AuthService.getAccount against the fake", () => {
  it.effect("answers who signed in; a deleted session is SessionNotFound (TMDB's 401, code 3)", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const session = yield* auth.login({ username: "jane", password: "jane-pw" })
      const account = yield* auth.getAccount(session)
      expect(account).toMatchObject({
        username: "jane",
        name: "Jane Doe",
        languageCode: "en",
        countryCode: "US",
        includeAdult: false
      })
      expect(typeof account.id).toBe("number")
      expect(yield* auth.getAccount(Redacted.value(session.sessionId))).toEqual(account)
      yield* auth.deleteSession(session)
      const error = yield* Effect.flip(auth.getAccount(session))
      expect(error).toMatchObject({ _tag: "SessionNotFound", statusCode: 3, httpStatus: 401 })
    }).pipe(
      Effect.provide(
        FakeTmdb.layerAuthService({ users: [{ username: "jane", password: "jane-pw", name: "Jane Doe" }] })
      )
    ))
})
