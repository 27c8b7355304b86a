import { describe, expect, it } from "@effect/vitest"
import { DateTime, Duration, Effect, Fiber, Layer, Redacted, Schedule, Schema } from "effect"
import { TestClock } from "effect/testing"
import type { RetryableError, RetryOptions } from "../src/index.js"
import { AuthService, RequestToken, Session, TmdbClient, TmdbConfig } from "../src/index.js"
import * as Scripted from "./support/ScriptedClient.js"
import { ok, tmdbError } from "./support/ScriptedClient.js"

const ACCESS_TOKEN = "eyJhbGciOiJIUzI1NiJ9.read-access-token-SECRET"
const API_KEY = "0123456789abcdef0123456789abcdef"
const TOKEN = "ff5c7eeb5a8870efe3cd7fc5c282cffd26800ecd"
const SESSION_ID = "79191836ddaa0da3df76a5ffef6f07ad6ab0c641"

/** TestClock starts at the epoch: one hour later, in TMDB's format. */
const IN_ONE_HOUR = "1970-01-01 01:00:00 UTC"

const tokenBody = { expires_at: IN_ONE_HOUR, request_token: TOKEN }

const noRetry: RetryOptions = { schedule: Schedule.recurs(0) }

const setup = (
  responses: ReadonlyArray<Scripted.Canned>,
  options: {
    readonly mode?: "accessToken" | "apiKey"
    readonly retry?: RetryOptions
    readonly timeout?: Duration.Input
  } = {}
) => {
  const settings = {
    baseUrl: "https://tmdb.test",
    ...(options.retry === undefined ? {} : { retry: options.retry }),
    ...(options.timeout === undefined ? {} : { timeout: options.timeout })
  }
  const config = options.mode === "apiKey"
    ? TmdbConfig.layer({ apiKey: API_KEY, ...settings })
    : TmdbConfig.layer({ accessToken: ACCESS_TOKEN, ...settings })
  return AuthService.layer.pipe(Layer.provideMerge(Layer.merge(config, Scripted.layer(responses))))
}

const freshToken = new RequestToken({
  token: Redacted.make(TOKEN),
  expiresAt: DateTime.makeUnsafe("1970-01-01T01:00:00Z")
})

describe("AuthService.validateKey", () => {
  it.effect("sends GET /3/authentication with the bearer token and accepts JSON", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      yield* auth.validateKey
      const [request] = yield* Scripted.Script.pipe(Effect.flatMap((s) => s.requests))
      expect(request?.method).toBe("GET")
      expect(request?.url.toString()).toBe("https://tmdb.test/3/authentication")
      expect(request?.headers["authorization"]).toBe(`Bearer ${ACCESS_TOKEN}`)
      expect(request?.headers["accept"]).toBe("application/json")
    }).pipe(Effect.provide(setup([ok({ status_code: 1, status_message: "Success." })]))))

  it.effect("sends the API key as the api_key query parameter, with no Authorization header", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      yield* auth.validateKey
      const [request] = yield* Scripted.Script.pipe(Effect.flatMap((s) => s.requests))
      expect(request?.url.searchParams.get("api_key")).toBe(API_KEY)
      expect(request?.headers["authorization"]).toBeUndefined()
    }).pipe(Effect.provide(setup([ok({})], { mode: "apiKey" }))))

  it.effect("fails with InvalidApiKey on code 7, 10 and 3", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      for (const code of [7, 10, 3]) {
        const error = yield* Effect.flip(auth.validateKey)
        expect(error._tag).toBe("InvalidApiKey")
        expect(error).toMatchObject({ statusCode: code, httpStatus: 401, endpoint: "GET /3/authentication" })
      }
    }).pipe(Effect.provide(setup([tmdbError(401, 7), tmdbError(401, 10), tmdbError(401, 3)]))))

  it.effect("a refused read access token: the error says a Bearer access token was sent", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.flatMap(AuthService, (auth) => auth.validateKey))
      expect(error).toMatchObject({ _tag: "InvalidApiKey", credential: "AccessToken" })
      expect(error.message).toContain("the API Read Access Token (sent as Authorization: Bearer) is invalid")
    }).pipe(Effect.provide(setup([tmdbError(401, 7)]))))

  it.effect("a refused API key: the error says the api_key parameter was sent", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.flatMap(AuthService, (auth) => auth.validateKey))
      expect(error).toMatchObject({ _tag: "InvalidApiKey", credential: "ApiKey" })
      expect(error.message).toContain("the v3 API key (sent as the api_key query parameter) is invalid")
    }).pipe(Effect.provide(setup([tmdbError(401, 7)], { mode: "apiKey" }))))

  it.effect("with both an access token and an API key configured, the access token is sent", () =>
    Effect.gen(function*() {
      yield* Effect.flatMap(AuthService, (auth) => auth.validateKey)
      const [request] = yield* Scripted.Script.pipe(Effect.flatMap((s) => s.requests))
      expect(request?.headers["authorization"]).toBe(`Bearer ${ACCESS_TOKEN}`)
      expect(request?.url.searchParams.has("api_key")).toBe(false)
    }).pipe(Effect.provide(
      AuthService.layer.pipe(Layer.provideMerge(Layer.merge(
        TmdbConfig.layer({ accessToken: ACCESS_TOKEN, apiKey: API_KEY, baseUrl: "https://tmdb.test" }),
        Scripted.layer([ok({})])
      )))
    )))

  it.effect("fails with TmdbUnavailable on codes 9, 11, 15, 24, 43, 46 and a bare 5xx", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      for (const code of [9, 11, 15, 24, 43, 46, undefined]) {
        const error = yield* Effect.flip(auth.validateKey)
        expect(error._tag).toBe("TmdbUnavailable")
        if (error._tag === "TmdbUnavailable") expect(error.statusCode).toBe(code)
      }
    }).pipe(Effect.provide(setup([
      tmdbError(503, 9),
      tmdbError(500, 11),
      tmdbError(500, 15),
      tmdbError(504, 24),
      tmdbError(502, 43),
      tmdbError(503, 46),
      { status: 502, body: "<html>Bad gateway</html>" }
    ], { retry: noRetry }))))

  it.effect("fails with TmdbError carrying code, status and message for a code it does not single out", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const error = yield* Effect.flip(auth.validateKey)
      expect(error._tag).toBe("TmdbError")
      expect(error).toMatchObject({ statusCode: 18, httpStatus: 400, statusMessage: "Validation failed." })
    }).pipe(Effect.provide(setup([tmdbError(400, 18, "Validation failed.")]))))

  it.effect("falls back to the HTTP status for a non-JSON error page", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const error = yield* Effect.flip(auth.validateKey)
      expect(error._tag).toBe("TmdbError")
      expect(error).toMatchObject({ httpStatus: 403 })
      expect(error).not.toHaveProperty("statusCode")
    }).pipe(Effect.provide(setup([{ status: 403, body: "<html>Forbidden</html>" }]))))

  it.effect("fails with MalformedResponse when a success body is not JSON (retries spent)", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const error = yield* Effect.flip(auth.validateKey)
      expect(error._tag).toBe("MalformedResponse")
      expect(error).toMatchObject({ httpStatus: 200, issues: ["the body is not JSON"] })
    }).pipe(Effect.provide(setup([{ status: 200, body: "{\"success\":tru" }], { retry: { maxRetries: 0 } }))))

  it.effect("retries a garbled 200 to a GET (asking again is safe), and succeeds", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fiber = yield* Effect.forkChild(auth.createGuestSession)
      yield* TestClock.adjust("2 seconds")
      const guest = yield* Fiber.join(fiber)
      expect(Redacted.value(guest.guestSessionId)).toBe("guest-1")
    }).pipe(Effect.provide(setup([
      { status: 200, body: "{\"success\":true,\"guest_sess" },
      ok({ guest_session_id: "guest-1", expires_at: "2030-01-01 00:00:00 UTC" })
    ]))))

  it.effect("does not retry a garbled 200 to a POST: session/new may have been processed", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const error = yield* Effect.flip(auth.createSession(TOKEN))
      expect(error).toMatchObject({ _tag: "MalformedResponse", httpStatus: 200 })
    }).pipe(Effect.provide(setup([{ status: 200, body: "{\"success\":true,\"session_" }]))))

  it.effect("treats a 200 with success:false as the error it describes", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const error = yield* Effect.flip(auth.validateKey)
      expect(error._tag).toBe("InvalidApiKey")
    }).pipe(Effect.provide(setup([tmdbError(200, 7)]))))
})

describe("AuthService.createRequestToken", () => {
  it.effect("returns the token with expiresAt parsed from TMDB's date format", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const token = yield* auth.createRequestToken
      expect(Redacted.value(token.token)).toBe(TOKEN)
      expect(DateTime.formatIso(token.expiresAt)).toBe("1970-01-01T01:00:00.000Z")
      const [request] = yield* Scripted.Script.pipe(Effect.flatMap((s) => s.requests))
      expect(request?.method).toBe("GET")
      expect(request?.path).toBe("/3/authentication/token/new")
    }).pipe(Effect.provide(setup([ok(tokenBody)]))))

  it.effect("fails with MalformedResponse naming the field, not its value, for a bad expires_at", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const error = yield* Effect.flip(auth.createRequestToken)
      expect(error._tag).toBe("MalformedResponse")
      expect(error).toMatchObject({ issues: ["unexpected value at expires_at"] })
      expect(error.message).not.toContain("2016-08-26T17:04:39")
    }).pipe(Effect.provide(setup([ok({ expires_at: "2016-08-26T17:04:39", request_token: TOKEN })], {
      retry: { maxRetries: 0 }
    }))))

  it.effect("turns a code that belongs to another endpoint into TmdbError", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const error = yield* Effect.flip(auth.createRequestToken)
      expect(error._tag).toBe("TmdbError")
      expect(error).toMatchObject({ statusCode: 30 })
    }).pipe(Effect.provide(setup([tmdbError(401, 30)]))))
})

describe("AuthService.validateWithLogin", () => {
  it.effect("POSTs username, password and request_token as JSON and returns the approved token", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const approved = yield* auth.validateWithLogin({
        username: "jane",
        password: Redacted.make("hunter2"),
        requestToken: freshToken
      })
      expect(Redacted.value(approved.token)).toBe(TOKEN)
      const [request] = yield* Scripted.Script.pipe(Effect.flatMap((s) => s.requests))
      expect(request?.method).toBe("POST")
      expect(request?.path).toBe("/3/authentication/token/validate_with_login")
      expect(request?.body).toEqual({ username: "jane", password: "hunter2", request_token: TOKEN })
      expect(request?.headers["content-type"]).toBe("application/json")
      expect(request?.url.toString()).not.toContain("hunter2")
    }).pipe(Effect.provide(setup([ok(tokenBody)]))))

  it.effect("fails with InvalidCredentials and the reason for codes 30, 26, 31, 32", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const reasons = []
      for (let i = 0; i < 4; i++) {
        const error = yield* Effect.flip(
          auth.validateWithLogin({ username: "jane", password: "wrong", requestToken: freshToken })
        )
        expect(error._tag).toBe("InvalidCredentials")
        if (error._tag === "InvalidCredentials") reasons.push(error.reason)
      }
      expect(reasons).toEqual(["WrongLogin", "Missing", "AccountDisabled", "EmailNotVerified"])
    }).pipe(Effect.provide(setup([tmdbError(401, 30), tmdbError(400, 26), tmdbError(401, 31), tmdbError(401, 32)]))))

  it.effect("fails with TokenExpired on code 33", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const error = yield* Effect.flip(
        auth.validateWithLogin({ username: "jane", password: "pw", requestToken: freshToken })
      )
      expect(error._tag).toBe("TokenExpired")
      expect(error).toMatchObject({ statusCode: 33, httpStatus: 401 })
    }).pipe(Effect.provide(setup([tmdbError(401, 33)]))))

  it.effect("fails with TokenExpired at the token's expiresAt, not a second earlier, and sends nothing then", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const script = yield* Scripted.Script
      yield* TestClock.adjust(Duration.sum(Duration.minutes(59), Duration.seconds(59)))
      yield* auth.validateWithLogin({ username: "jane", password: "pw", requestToken: freshToken })
      yield* TestClock.adjust("1 second")
      const error = yield* Effect.flip(
        auth.validateWithLogin({ username: "jane", password: "pw", requestToken: freshToken })
      )
      expect(error._tag).toBe("TokenExpired")
      expect(error).not.toHaveProperty("httpStatus")
      expect(error.message).toContain("no request was sent")
      expect(yield* script.requests).toHaveLength(1)
    }).pipe(Effect.provide(setup([ok(tokenBody)]))))
})

describe("AuthService.createSession", () => {
  it.effect("POSTs the request token and returns a session with a redacted id", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const session = yield* auth.createSession(freshToken)
      expect(Redacted.value(session.sessionId)).toBe(SESSION_ID)
      expect(String(session)).not.toContain(SESSION_ID)
      const [request] = yield* Scripted.Script.pipe(Effect.flatMap((s) => s.requests))
      expect(request?.method).toBe("POST")
      expect(request?.path).toBe("/3/authentication/session/new")
      expect(request?.body).toEqual({ request_token: TOKEN })
    }).pipe(Effect.provide(setup([ok({ session_id: SESSION_ID })]))))

  it.effect("accepts a raw token string, as an approval redirect hands it over", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      yield* auth.createSession(TOKEN)
      yield* auth.createSession(Redacted.make(TOKEN))
      const requests = yield* Scripted.Script.pipe(Effect.flatMap((s) => s.requests))
      expect(requests.map((r) => r.body)).toEqual([{ request_token: TOKEN }, { request_token: TOKEN }])
    }).pipe(Effect.provide(setup([ok({ session_id: SESSION_ID }), ok({ session_id: SESSION_ID })]))))

  it.effect("fails with SessionDenied on codes 17 and 41, TokenExpired on 33", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const tags = []
      for (let i = 0; i < 3; i++) tags.push((yield* Effect.flip(auth.createSession(freshToken)))._tag)
      expect(tags).toEqual(["SessionDenied", "SessionDenied", "TokenExpired"])
    }).pipe(Effect.provide(setup([tmdbError(401, 17), tmdbError(422, 41), tmdbError(401, 33)]))))

  it.effect("fails with TokenExpired before sending when the RequestToken has expired", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      yield* TestClock.adjust("1 hour")
      const error = yield* Effect.flip(auth.createSession(freshToken))
      expect(error._tag).toBe("TokenExpired")
      expect(yield* Scripted.Script.pipe(Effect.flatMap((s) => s.requests))).toHaveLength(0)
    }).pipe(Effect.provide(setup([]))))
})

describe("AuthService.createSessionFromV4", () => {
  it.effect("POSTs the access token to convert/4 and returns a session", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const session = yield* auth.createSessionFromV4(Redacted.make("eyJ.v4-user-token"))
      expect(Redacted.value(session.sessionId)).toBe(SESSION_ID)
      const [request] = yield* Scripted.Script.pipe(Effect.flatMap((s) => s.requests))
      expect(request?.method).toBe("POST")
      expect(request?.path).toBe("/3/authentication/session/convert/4")
      expect(request?.body).toEqual({ access_token: "eyJ.v4-user-token" })
    }).pipe(Effect.provide(setup([ok({ session_id: SESSION_ID })]))))

  it.effect("fails with InvalidToken on code 35", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const error = yield* Effect.flip(auth.createSessionFromV4("eyJ.bad"))
      expect(error._tag).toBe("InvalidToken")
    }).pipe(Effect.provide(setup([tmdbError(401, 35)]))))
})

describe("AuthService.deleteSession", () => {
  it.effect("sends DELETE /3/authentication/session with the session id in a JSON body", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      yield* auth.deleteSession(new Session({ sessionId: Redacted.make(SESSION_ID) }))
      yield* auth.deleteSession(SESSION_ID)
      const requests = yield* Scripted.Script.pipe(Effect.flatMap((s) => s.requests))
      expect(requests.map((r) => [r.method, r.path])).toEqual([
        ["DELETE", "/3/authentication/session"],
        ["DELETE", "/3/authentication/session"]
      ])
      expect(requests[0]?.body).toEqual({ session_id: SESSION_ID })
    }).pipe(Effect.provide(setup([ok({}), ok({})]))))

  it.effect("fails with SessionNotFound on codes 37, 6 and 34", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      for (const code of [37, 6, 34]) {
        const error = yield* Effect.flip(auth.deleteSession(SESSION_ID))
        expect(error._tag).toBe("SessionNotFound")
        expect(error).toMatchObject({ statusCode: code })
      }
    }).pipe(Effect.provide(setup([tmdbError(404, 37), tmdbError(404, 6), tmdbError(404, 34)]))))

  it.effect("retries a transport failure or a 5xx: deleting a session twice is harmless", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fiber = yield* Effect.forkChild(auth.deleteSession(SESSION_ID))
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber)
      const requests = yield* Scripted.Script.pipe(Effect.flatMap((s) => s.requests))
      expect(requests.map((r) => r.method)).toEqual(["DELETE", "DELETE", "DELETE"])
    }).pipe(Effect.provide(setup([{ status: 0, transportFailure: true }, tmdbError(500, 11), ok({})]))))

  it.effect("a 37 (or 6) after a retried attempt means the first attempt deleted it: success", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      for (let i = 0; i < 2; i++) {
        const fiber = yield* Effect.forkChild(auth.deleteSession(SESSION_ID))
        yield* TestClock.adjust("10 seconds")
        yield* Fiber.join(fiber)
      }
    }).pipe(Effect.provide(setup([
      { status: 0, transportFailure: true },
      tmdbError(404, 37),
      tmdbError(503, 9),
      tmdbError(401, 6)
    ]))))
})

describe("AuthService.createGuestSession", () => {
  it.effect("returns a guest session with its id redacted and expiresAt parsed", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const guest = yield* auth.createGuestSession
      expect(Redacted.value(guest.guestSessionId)).toBe("1ce82ec1223641636ad4a60b07de3581")
      expect(DateTime.formatIso(guest.expiresAt)).toBe("1970-01-02T00:00:00.000Z")
      const [request] = yield* Scripted.Script.pipe(Effect.flatMap((s) => s.requests))
      expect([request?.method, request?.path]).toEqual(["GET", "/3/authentication/guest_session/new"])
    }).pipe(Effect.provide(setup([
      ok({ guest_session_id: "1ce82ec1223641636ad4a60b07de3581", expires_at: "1970-01-02 00:00:00 UTC" })
    ]))))
})

describe("AuthService.login", () => {
  it.effect("creates a token, validates it with the password and creates a session", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const session = yield* auth.login({ username: "jane", password: "hunter2" })
      expect(Redacted.value(session.sessionId)).toBe(SESSION_ID)
      const requests = yield* Scripted.Script.pipe(Effect.flatMap((s) => s.requests))
      expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
        "GET /3/authentication/token/new",
        "POST /3/authentication/token/validate_with_login",
        "POST /3/authentication/session/new"
      ])
    }).pipe(Effect.provide(setup([ok(tokenBody), ok(tokenBody), ok({ session_id: SESSION_ID })]))))

  it.effect("stops at the wrong password with InvalidCredentials", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const error = yield* Effect.flip(auth.login({ username: "jane", password: "nope" }))
      expect(error).toMatchObject({ _tag: "InvalidCredentials", reason: "WrongLogin" })
      expect(yield* Scripted.Script.pipe(Effect.flatMap((s) => s.requests))).toHaveLength(2)
    }).pipe(
      Effect.provide(
        setup([
          ok(tokenBody),
          tmdbError(401, 30, "Invalid username and/or password: You did not provide a valid login.")
        ])
      )
    ))
})

describe("AuthService.approvalUrl", () => {
  it.effect("builds TMDB's approval page URL with an optional redirect_to", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      expect(auth.approvalUrl(freshToken)).toBe(`https://www.themoviedb.org/authenticate/${TOKEN}`)
      expect(auth.approvalUrl(TOKEN, { redirectTo: "http://127.0.0.1:5000/callback?x=1" })).toBe(
        `https://www.themoviedb.org/authenticate/${TOKEN}?redirect_to=http%3A%2F%2F127.0.0.1%3A5000%2Fcallback%3Fx%3D1`
      )
      expect(yield* Scripted.Script.pipe(Effect.flatMap((s) => s.requests))).toHaveLength(0)
    }).pipe(Effect.provide(setup([]))))
})

describe("retries", () => {
  const countRequests = Scripted.Script.pipe(Effect.flatMap((s) => s.requests), Effect.map((r) => r.length))

  it.effect("retries a 429 with Retry-After: 2 at exactly 2 seconds and not before", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fiber = yield* Effect.forkChild(auth.createRequestToken)
      yield* TestClock.adjust("1999 millis")
      expect(yield* countRequests).toBe(1)
      yield* TestClock.adjust("1 millis")
      const token = yield* Fiber.join(fiber)
      expect(Redacted.value(token.token)).toBe(TOKEN)
      expect(yield* countRequests).toBe(2)
    }).pipe(Effect.provide(setup([tmdbError(429, 25, "Over limit", { "retry-after": "2" }), ok(tokenBody)]))))

  it.effect("retries a POST on 429: TMDB did not process it", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fiber = yield* Effect.forkChild(auth.createSession(freshToken))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      expect(yield* countRequests).toBe(2)
    }).pipe(
      Effect.provide(
        setup([{ status: 429, body: "", headers: { "retry-after": "1" } }, ok({ session_id: SESSION_ID })])
      )
    ))

  it.effect("gives up after 5 retries with RateLimited carrying the server's retryAfter", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fiber = yield* Effect.forkChild(Effect.flip(auth.validateKey))
      yield* TestClock.adjust("5 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("RateLimited")
      if (error._tag === "RateLimited") expect(error.retryAfter).toEqual(Duration.seconds(1))
      expect(yield* countRequests).toBe(6)
    }).pipe(Effect.provide(setup(Array.from({ length: 6 }, () => tmdbError(429, 25, "Over", { "retry-after": "1" }))))))

  it.effect("gives up when the next wait would take the total past 60 seconds", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fiber = yield* Effect.forkChild(Effect.flip(auth.validateKey))
      yield* TestClock.adjust("60 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("RateLimited")
      // 25 s + 25 s waited; a third 25 s wait would make 75 s.
      expect(yield* countRequests).toBe(3)
    }).pipe(
      Effect.provide(setup(Array.from({ length: 6 }, () => tmdbError(429, 25, "Over", { "retry-after": "25" }))))
    ))

  it.effect("caps a long Retry-After at maxRetryAfter", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fiber = yield* Effect.forkChild(auth.validateKey)
      yield* TestClock.adjust("4999 millis")
      expect(yield* countRequests).toBe(1)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
      expect(yield* countRequests).toBe(2)
    }).pipe(Effect.provide(setup([tmdbError(429, 25, "Over", { "retry-after": "3600" }), ok({})], {
      retry: { maxRetryAfter: "5 seconds" }
    }))))

  it.effect("honours Retry-After given as an HTTP date", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fiber = yield* Effect.forkChild(auth.validateKey)
      yield* TestClock.adjust("2999 millis")
      expect(yield* countRequests).toBe(1)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
    }).pipe(Effect.provide(setup([
      tmdbError(429, 25, "Over", { "retry-after": "Thu, 01 Jan 1970 00:00:03 GMT" }),
      ok({})
    ]))))

  for (const header of ["-1", "soon", "1e3", ""]) {
    it.effect(`ignores Retry-After: ${JSON.stringify(header)} (negative or garbage): the backoff applies`, () =>
      Effect.gen(function*() {
        const auth = yield* AuthService
        const fiber = yield* Effect.forkChild(Effect.flip(auth.validateKey))
        // Not at once (a negative number read as a date meant no wait), but after the backoff's 0.8-1.2 s.
        yield* TestClock.adjust("799 millis")
        expect(yield* countRequests).toBe(1)
        yield* TestClock.adjust("401 millis")
        expect(yield* countRequests).toBe(2)
        const error = yield* Fiber.join(fiber)
        expect(error).toMatchObject({ _tag: "RateLimited" })
        expect(error).not.toHaveProperty("retryAfter")
        expect(error.message).not.toContain("wait 0")
      }).pipe(Effect.provide(setup(
        [
          tmdbError(429, 25, "Over", { "retry-after": header }),
          tmdbError(429, 25, "Over", { "retry-after": header })
        ],
        { retry: { maxRetries: 1 } }
      ))))
  }

  it.effect("TmdbClient.request retries a transport failure of a DELETE marked idempotent, not of one unmarked", () =>
    Effect.gen(function*() {
      const tmdb = yield* TmdbClient
      const remove = (idempotent: boolean) =>
        tmdb.request({ method: "DELETE", path: "/3/list/1/items", response: Schema.Unknown, idempotent })
      const unmarked = yield* Effect.flip(remove(false))
      expect(unmarked).toMatchObject({ _tag: "TransportError", reason: "Transport" })
      const fiber = yield* Effect.forkChild(remove(true))
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(fiber)
      expect(yield* countRequests).toBe(3)
    }).pipe(Effect.provide(setup([
      { status: 0, transportFailure: true },
      { status: 0, transportFailure: true },
      ok({})
    ]))))

  it.effect("a Retry-After date in the past means no wait beyond the shared pause's floor", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fiber = yield* Effect.forkChild(auth.validateKey)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
      expect(yield* countRequests).toBe(2)
    }).pipe(Effect.provide(setup([
      tmdbError(429, 25, "Over", { "retry-after": "Thu, 01 Jan 1970 00:00:00 GMT" }),
      ok({})
    ]))))

  it.effect("without Retry-After backs off from 1 second with jitter (0.8 to 1.2 s), then about 2 s", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fiber = yield* Effect.forkChild(auth.validateKey)
      yield* TestClock.adjust("799 millis")
      expect(yield* countRequests).toBe(1)
      yield* TestClock.adjust("401 millis")
      expect(yield* countRequests).toBe(2)
      yield* TestClock.adjust("2.4 seconds")
      expect(yield* countRequests).toBe(3)
      yield* Fiber.join(fiber)
    }).pipe(Effect.provide(setup([tmdbError(429, 25), tmdbError(429, 25), ok({})]))))

  it.effect("retries a GET on 5xx and on a transport error", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fiber = yield* Effect.forkChild(auth.createGuestSession)
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber)
      expect(yield* countRequests).toBe(3)
    }).pipe(Effect.provide(setup([
      tmdbError(500, 11),
      { status: 0, transportFailure: true },
      ok({ guest_session_id: "g", expires_at: "1970-01-02 00:00:00 UTC" })
    ]))))

  it.effect("does not retry a POST on a 500 or a transport error: TMDB may have processed it", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const first = yield* Effect.flip(auth.createSession(freshToken))
      const second = yield* Effect.flip(auth.createSession(freshToken))
      expect([first._tag, second._tag]).toEqual(["TmdbUnavailable", "TransportError"])
      expect(yield* countRequests).toBe(2)
    }).pipe(Effect.provide(setup([tmdbError(500, 11), { status: 0, transportFailure: true }]))))

  it.effect("retries a POST on 503 with code 9 or 46 (TMDB did not process it)", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fiber = yield* Effect.forkChild(auth.deleteSession(SESSION_ID))
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber)
      expect(yield* countRequests).toBe(3)
    }).pipe(Effect.provide(setup([tmdbError(503, 9), tmdbError(503, 46), ok({})]))))

  it.effect("does not retry errors that will not pass (a wrong password)", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      yield* Effect.flip(auth.validateWithLogin({ username: "u", password: "p", requestToken: freshToken }))
      expect(yield* countRequests).toBe(1)
    }).pipe(Effect.provide(setup([tmdbError(401, 30)]))))

  it.effect("uses the user's own Schedule in place of the default policy", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fiber = yield* Effect.forkChild(Effect.flip(auth.validateKey))
      yield* TestClock.adjust("1 second")
      expect(yield* countRequests).toBe(1)
      yield* TestClock.adjust("2 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("RateLimited")
      expect(yield* countRequests).toBe(2)
    }).pipe(Effect.provide(setup([tmdbError(429, 25), tmdbError(429, 25), tmdbError(429, 25)], {
      retry: { schedule: Schedule.max([Schedule.spaced("3 seconds"), Schedule.recurs(1)]) }
    }))))

  const seen: Array<string> = []
  it.effect("a custom schedule only ever receives retryable failures", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fiber = yield* Effect.forkChild(Effect.flip(auth.login({ username: "u", password: "p" })))
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("InvalidCredentials")
      expect(seen).toEqual(["RateLimited"])
    }).pipe(Effect.provide(setup([tmdbError(429, 25), ok(tokenBody), tmdbError(401, 30)], {
      retry: {
        schedule: Schedule.spaced("1 second").pipe(
          Schedule.setInputType<RetryableError>(),
          Schedule.tap(({ input }) => Effect.sync(() => seen.push(input._tag)))
        )
      }
    }))))

  it.effect("maxRetries: 0 disables retries", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const error = yield* Effect.flip(auth.validateKey)
      expect(error._tag).toBe("RateLimited")
      expect(yield* countRequests).toBe(1)
    }).pipe(Effect.provide(setup([tmdbError(429, 25)], { retry: { maxRetries: 0 } }))))
})

describe("timeouts", () => {
  it.effect("an attempt with no answer fails with TransportError Timeout at exactly the timeout", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fiber = yield* Effect.forkChild(auth.createSession(freshToken))
      yield* TestClock.adjust("9999 millis")
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.await(fiber)
      expect(exit).toMatchObject({ _tag: "Failure", cause: { reasons: [{ _tag: "Fail", error: expect.anything() }] } })
      const error = yield* Effect.flip(exit)
      expect(error).toMatchObject({ _tag: "TransportError", reason: "Timeout" })
    }).pipe(Effect.provide(setup([{ ...ok({ session_id: SESSION_ID }), delay: "30 seconds" }]))))

  it.effect("the timeout is configurable and a timed-out GET is retried", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fiber = yield* Effect.forkChild(auth.validateKey)
      yield* TestClock.adjust("2 seconds")
      const requests = yield* Scripted.Script.pipe(Effect.flatMap((s) => s.requests))
      expect(requests).toHaveLength(1)
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(fiber)
      expect(yield* Scripted.Script.pipe(Effect.flatMap((s) => s.requests))).toHaveLength(2)
    }).pipe(Effect.provide(setup([{ ...ok({}), delay: "1 minute" }, ok({})], { timeout: "2 seconds" }))))
})
