import { describe, expect, it } from "@effect/vitest"
import { DateTime, Duration, Effect, Fiber, Layer, Redacted, Schedule } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import { TestClock } from "effect/testing"
import { AuthService, TmdbConfig } from "../../src/index.js"
import { FakeTmdb, Fault } from "../../src/testing/index.js"

const users = [
  { username: "demo", password: "demo-password" },
  { username: "gone", password: "pw", status: "disabled" as const },
  { username: "new", password: "pw", status: "unverified" as const }
]

const Fake = FakeTmdb.layerAuthService({
  users,
  v4AccessTokens: [{ accessToken: "eyJ.v4-user", username: "demo" }]
})

const login = { username: "demo", password: "demo-password" }

describe("FakeTmdb users and sessions", () => {
  it.effect("a password login creates a live session that deleteSession removes", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      const session = yield* auth.login(login)
      const live = yield* fake.sessions
      expect(live.map((s) => [Redacted.value(s.sessionId), s.username])).toEqual([
        [Redacted.value(session.sessionId), "demo"]
      ])
      yield* auth.deleteSession(session)
      expect(yield* fake.sessions).toHaveLength(0)
      const again = yield* Effect.flip(auth.deleteSession(session))
      expect(again).toMatchObject({ _tag: "SessionNotFound", statusCode: 37, httpStatus: 404 })
    }).pipe(Effect.provide(Fake)))

  it.effect("answers a wrong password with 30, a disabled account with 31, an unverified one with 32, none with 26", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const attempt = (username: string, password: string) =>
        Effect.flip(auth.login({ username, password })).pipe(
          Effect.map((e) => e._tag === "InvalidCredentials" ? [e.reason, e.statusCode, e.httpStatus] : e._tag)
        )
      expect(yield* attempt("demo", "wrong")).toEqual(["WrongLogin", 30, 401])
      expect(yield* attempt("nobody", "pw")).toEqual(["WrongLogin", 30, 401])
      expect(yield* attempt("gone", "pw")).toEqual(["AccountDisabled", 31, 401])
      expect(yield* attempt("new", "pw")).toEqual(["EmailNotVerified", 32, 401])
      expect(yield* attempt("", "")).toEqual(["Missing", 26, 400])
    }).pipe(Effect.provide(Fake)))

  it.effect("a request token lives 60 minutes: the fake refuses it with 33 at minute 60", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      const token = yield* auth.createRequestToken
      expect(DateTime.formatIso(token.expiresAt)).toBe("1970-01-01T01:00:00.000Z")
      yield* fake.approve(token)
      yield* TestClock.adjust("60 minutes")
      // Past the local check, by passing the raw token: the fake's own clock says it expired.
      const error = yield* Effect.flip(auth.createSession(token.token))
      expect(error).toMatchObject({ _tag: "TokenExpired", statusCode: 33, httpStatus: 401 })
    }).pipe(Effect.provide(Fake)))

  it.effect("a request token still works a second before minute 60", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const token = yield* auth.createRequestToken
      yield* TestClock.adjust(Duration.subtract(Duration.minutes(60), Duration.seconds(1)))
      const approved = yield* auth.validateWithLogin({ ...login, requestToken: token })
      yield* auth.createSession(approved)
    }).pipe(Effect.provide(Fake)))

  it.effect("a token is consumed by session/new: the second use answers 33", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const token = yield* auth.createRequestToken
      const approved = yield* auth.validateWithLogin({ ...login, requestToken: token })
      yield* auth.createSession(approved)
      const error = yield* Effect.flip(auth.createSession(approved))
      expect(error).toMatchObject({ _tag: "TokenExpired", statusCode: 33 })
    }).pipe(Effect.provide(Fake)))

  it.effect("an unapproved token is denied with 17 until the user approves it on the website", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      const token = yield* auth.createRequestToken
      const denied = yield* Effect.flip(auth.createSession(token))
      expect(denied).toMatchObject({ _tag: "SessionDenied", statusCode: 17 })
      yield* fake.approve(token)
      const session = yield* auth.createSession(token)
      expect((yield* fake.sessions).map((s) => Redacted.value(s.sessionId))).toEqual([
        Redacted.value(session.sessionId)
      ])
    }).pipe(Effect.provide(Fake)))

  it.effect("approving an unknown token is a loud test error", () =>
    Effect.gen(function*() {
      const fake = yield* FakeTmdb
      const exit = yield* Effect.exit(fake.approve("never-issued"))
      expect(exit._tag).toBe("Failure")
    }).pipe(Effect.provide(Fake)))

  it.effect("convert/4 makes a session from a configured v4 token and refuses others with 35", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* auth.createSessionFromV4("eyJ.v4-user")
      expect((yield* fake.sessions).map((s) => s.username)).toEqual(["demo"])
      const error = yield* Effect.flip(auth.createSessionFromV4("eyJ.unknown"))
      expect(error).toMatchObject({ _tag: "InvalidToken", statusCode: 35 })
    }).pipe(Effect.provide(Fake)))

  it.effect("a guest session expires 24 hours after creation", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      const guest = yield* auth.createGuestSession
      expect(DateTime.formatIso(guest.expiresAt)).toBe("1970-01-02T00:00:00.000Z")
      yield* TestClock.adjust(Duration.subtract(Duration.hours(24), Duration.millis(1)))
      expect(yield* fake.guestSessions).toHaveLength(1)
      yield* TestClock.adjust("1 millis")
      expect(yield* fake.guestSessions).toHaveLength(0)
    }).pipe(Effect.provide(Fake)))

  it.effect("addUser adds an account at run time", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* fake.addUser({ username: "late", password: "pw" })
      yield* auth.login({ username: "late", password: "pw" })
    }).pipe(Effect.provide(Fake)))
})

describe("FakeTmdb application credentials", () => {
  it.effect("refuses an unknown read access token with 401, code 7", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const error = yield* Effect.flip(auth.validateKey)
      expect(error).toMatchObject({ _tag: "InvalidApiKey", statusCode: 7, httpStatus: 401 })
    }).pipe(Effect.provide(AuthService.layer.pipe(
      Layer.provide(FakeTmdb.layer()),
      Layer.provide(TmdbConfig.layer({ accessToken: "eyJ.not-accepted" }))
    ))))

  it.effect("accepts a configured API key in the api_key parameter and logs the credential kind only", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* auth.login(login)
      const requests = yield* fake.requests
      expect(requests.map((r) => r.credential)).toEqual(["api_key", "api_key", "api_key"])
      expect(requests[1]?.bodyKeys).toEqual(["username", "password", "request_token"])
      expect(JSON.stringify(requests)).not.toContain("demo-password")
      expect(JSON.stringify(requests)).not.toContain("my-key")
    }).pipe(Effect.provide(AuthService.layer.pipe(
      Layer.provideMerge(FakeTmdb.layer({ apiKeys: ["my-key"] })),
      Layer.provide(TmdbConfig.layer({ apiKey: "my-key" }))
    ))))
})

describe("FakeTmdb protocol edges", () => {
  const raw = (request: HttpClientRequest.HttpClientRequest) =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const response = yield* client.execute(
        request.pipe(HttpClientRequest.bearerToken(FakeTmdb.defaults.accessToken))
      )
      return { status: response.status, body: yield* response.json }
    })

  it.effect("answers an unknown path with 404, code 34", () =>
    Effect.gen(function*() {
      const answer = yield* raw(HttpClientRequest.get("https://api.themoviedb.org/3/nope"))
      expect(answer).toEqual({
        status: 404,
        body: { success: false, status_code: 34, status_message: "The resource you requested could not be found." }
      })
    }).pipe(Effect.provide(FakeTmdb.layer())))

  it.effect("answers a body that is not JSON with 400, code 47", () =>
    Effect.gen(function*() {
      const answer = yield* raw(
        HttpClientRequest.post("https://api.themoviedb.org/3/authentication/session/new").pipe(
          HttpClientRequest.bodyText("request_token=abc", "application/json")
        )
      )
      expect(answer).toMatchObject({ status: 400, body: { status_code: 47 } })
    }).pipe(Effect.provide(FakeTmdb.layer())))

  it.effect("its approval page approves the token and redirects like TMDB", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const client = yield* HttpClient.HttpClient
      const token = yield* auth.createRequestToken
      const url = auth.approvalUrl(token, { redirectTo: "http://127.0.0.1:9/callback" })
      const response = yield* client.get(url)
      expect(response.status).toBe(302)
      const location = new URL(response.headers["location"]!)
      expect(location.origin + location.pathname).toBe("http://127.0.0.1:9/callback")
      expect(location.searchParams.get("request_token")).toBe(Redacted.value(token.token))
      expect(location.searchParams.get("approved")).toBe("true")
      yield* auth.createSession(location.searchParams.get("request_token")!)
    }).pipe(Effect.provide(Fake)))
})

describe("FakeTmdb request log", () => {
  it.effect("logs the approval page's route, not the request token in its path", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      const client = yield* HttpClient.HttpClient
      const token = yield* auth.createRequestToken
      yield* client.get(auth.approvalUrl(token))
      const text = JSON.stringify([yield* fake.requests, yield* fake.counters])
      expect(text).not.toContain(Redacted.value(token.token))
      expect((yield* fake.requests).at(-1)?.path).toBe("/authenticate/:request_token")
    }).pipe(Effect.provide(Fake)))
})

describe("FakeTmdb.layerAuthService", () => {
  it.effect("uses the first API key when no read access token is accepted", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* auth.validateKey
      expect((yield* fake.requests).map((r) => r.credential)).toEqual(["api_key"])
    }).pipe(Effect.provide(FakeTmdb.layerAuthService({ accessTokens: [], apiKeys: ["only-key"] }))))
})

describe("FakeTmdb rate limit and faults", () => {
  it.effect("over N requests per sliding window it answers 429, code 25, with Retry-After; AuthService rides it out", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* auth.validateKey
      yield* TestClock.adjust("4 seconds")
      yield* auth.validateKey
      const fiber = yield* Effect.forkChild(auth.validateKey)
      // The first request leaves the 10 s window at t = 10 s: Retry-After says 6 s.
      yield* TestClock.adjust("5999 millis")
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
      expect(yield* fake.counters).toEqual([
        { route: "GET /3/authentication", status: 200, count: 3 },
        { route: "GET /3/authentication", status: 429, count: 1 }
      ])
    }).pipe(Effect.provide(FakeTmdb.layerAuthService({ rateLimit: { requests: 2, window: "10 seconds" } }))))

  it.effect("scripted faults answer the next requests to a route, in order", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* fake.fail(
        "GET /3/authentication/token/new",
        Fault.Unavailable(),
        Fault.RateLimited({ retryAfter: 2 }),
        Fault.ConnectionReset()
      )
      const fiber = yield* Effect.forkChild(auth.createRequestToken)
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(fiber)
      const statuses = (yield* fake.requests).map((r) => r.status)
      expect(statuses).toEqual([503, 429, 0, 200])
    }).pipe(Effect.provide(Fake)))

  it.effect("a truncated answer to a POST is MalformedResponse, not retried, though TMDB made the session", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      const token = yield* auth.createRequestToken
      yield* fake.approve(token)
      yield* fake.fail("POST /3/authentication/session/new", Fault.Truncated())
      const error = yield* Effect.flip(auth.createSession(token))
      expect(error._tag).toBe("MalformedResponse")
      expect(yield* fake.sessions).toHaveLength(1)
    }).pipe(Effect.provide(Fake)))

  it.effect("a connection reset on a POST is a TransportError, not retried", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* fake.fail("*", Fault.ConnectionReset())
      const error = yield* Effect.flip(auth.createSession("whatever"))
      expect(error).toMatchObject({ _tag: "TransportError", reason: "Transport" })
      expect(yield* fake.requests).toHaveLength(1)
    }).pipe(Effect.provide(Fake)))

  it.effect("a connection reset on the DELETE of a session is retried: repeating it is harmless", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      const session = yield* auth.login({ username: "demo", password: FakeTmdb.defaults.user.password })
      yield* fake.fail("DELETE /3/authentication/session", Fault.ConnectionReset())
      const fiber = yield* Effect.forkChild(auth.deleteSession(session))
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(fiber)
      expect(yield* fake.sessions).toHaveLength(0)
      expect((yield* fake.requests).filter((r) => r.method === "DELETE").map((r) => r.status)).toEqual([0, 200])
    }).pipe(Effect.provide(Fake)))

  it.effect("a scripted delay past the timeout is a Timeout; the delay moves with TestClock", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* fake.fail("POST /3/authentication/session/convert/4", Fault.Delay({ duration: "30 seconds" }))
      const fiber = yield* Effect.forkChild(Effect.flip(auth.createSessionFromV4("eyJ.v4-user")))
      yield* TestClock.adjust("10 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ _tag: "TransportError", reason: "Timeout" })
    }).pipe(Effect.provide(Fake)))

  it.effect("random faults are reproducible from their seed", () =>
    Effect.gen(function*() {
      const statuses = (seed: number) =>
        Effect.gen(function*() {
          const auth = yield* AuthService
          const fake = yield* FakeTmdb
          for (let i = 0; i < 40; i++) yield* Effect.result(auth.validateKey)
          return (yield* fake.requests).map((r) => r.status)
        }).pipe(Effect.provide(FakeTmdb.layerAuthService(
          { faults: { seed, rateLimited: 0.2, unavailable: 0.2, connectionReset: 0.1 } },
          // Each request on its own: admission would hold the next one back after a 429 (a pause in TestClock time).
          { retry: { schedule: Schedule.recurs(0) }, admission: false }
        )))
      const first = yield* statuses(7)
      expect(yield* statuses(7)).toEqual(first)
      expect(new Set(first)).toEqual(new Set([200, 429, 503, 0]))
      expect(yield* statuses(8)).not.toEqual(first)
    }))
})
