/**
 * Nothing lost: a request that creates something (session/new, convert/4, v4 access_token) goes on in the background
 * after its caller stops waiting, and what it creates then is deleted. In memory, on TestClock: FakeTmdb's Delay
 * fault holds the answer; the fake creates the session when the delay is over, as a loaded TMDB would.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Logger, Option, References, Scope } from "effect"
import { TestClock } from "effect/testing"
import { AuthService } from "../src/index.js"
import { FakeTmdb, Fault } from "../src/testing/index.js"

const V4 = { accessToken: "eyJ.v4-user", username: "demo" }
const Fake = FakeTmdb.layerAuthService({ v4AccessTokens: [V4] })
const NoRestarts = FakeTmdb.layerAuthService({ v4AccessTokens: [V4] }, { retry: { maxRestarts: 0 } })
const login = { username: "demo", password: FakeTmdb.defaults.user.password }

/** A server that answers nothing for 30 s, several times over. */
const silent = Array.from({ length: 4 }, () => Fault.Delay({ duration: "30 seconds" }))

describe("late answers", () => {
  it.effect("closing a scopedSession scope waits at most timeout + 1 s for a silent server; the delete goes on", () =>
    Effect.gen(function*() {
      const fake = yield* FakeTmdb
      // Silent for every attempt the retry policy makes: the delete cannot end before the scope must close.
      yield* fake.fail("DELETE /3/authentication/session", ...silent)
      const fiber = yield* Effect.forkChild(Effect.scoped(AuthService.scopedSession(login)))
      // The default request timeout is 10 s: the scope closes 11 s after its release started, not later.
      yield* TestClock.adjust("10999 millis")
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
      expect(yield* fake.sessions).toHaveLength(1)
      // The delete goes on in the background (a DELETE is safe to repeat): once TMDB answers, the session ends.
      yield* TestClock.adjust("2 minutes")
      expect(yield* fake.sessions).toEqual([])
    }).pipe(Effect.provide(Fake)))

  it.effect("a cleanup whose own retries ran out on 503s tries again within lateAnswerGrace: the session ends", () =>
    Effect.gen(function*() {
      const fake = yield* FakeTmdb
      // Ten 503s: more than the delete's own retries (5), so that one delete fails as a whole before TMDB answers.
      yield* fake.fail("DELETE /3/authentication/session", ...Array.from({ length: 10 }, () => Fault.Unavailable()))
      const fiber = yield* Effect.forkChild(Effect.scoped(AuthService.scopedSession(login)))
      yield* TestClock.adjust("11 seconds")
      yield* Fiber.join(fiber)
      yield* TestClock.adjust("2 minutes")
      const deletes = (yield* fake.requests).filter((r) => r.method === "DELETE").map((r) => r.status)
      expect(deletes).toEqual([...Array.from({ length: 10 }, () => 503), 200])
      expect(yield* fake.sessions).toEqual([])
    }).pipe(Effect.provide(Fake)))

  it.effect("closing a scopedAccessToken scope is bounded the same way", () =>
    Effect.gen(function*() {
      const fake = yield* FakeTmdb
      const auth = yield* AuthService
      const token = yield* auth.createRequestTokenV4()
      yield* fake.approve(token, "demo")
      yield* fake.fail("DELETE /4/auth/access_token", ...silent)
      const fiber = yield* Effect.forkChild(Effect.scoped(AuthService.scopedAccessToken(token)))
      yield* TestClock.adjust("10999 millis")
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
      yield* TestClock.adjust("2 minutes")
      const deletes = (yield* fake.requests).filter((r) => r.method === "DELETE").map((r) => r.status)
      expect(deletes.at(-1)).toBe(200)
    }).pipe(Effect.provide(Fake)))

  it.effect("endSession waits at most waitAtMost, then the delete completes in the background", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      const session = yield* auth.login(login)
      yield* fake.fail("DELETE /3/authentication/session", Fault.Delay({ duration: "8 seconds" }))
      const fiber = yield* Effect.forkChild(auth.endSession(session, { waitAtMost: "3 seconds" }))
      yield* TestClock.adjust("2999 millis")
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
      expect(yield* fake.sessions).toHaveLength(1)
      yield* TestClock.adjust("5 seconds")
      expect(yield* fake.sessions).toEqual([])
    }).pipe(Effect.provide(Fake)))

  it.effect("endSession never fails: a session TMDB no longer knows is already ended", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      const session = yield* auth.login(login)
      yield* auth.deleteSession(session)
      yield* auth.endSession(session)
      expect((yield* fake.requests).filter((r) => r.method === "DELETE").map((r) => r.status)).toEqual([200, 404])
    }).pipe(Effect.provide(Fake)))

  it.effect("session/new answered after the timeout (no restarts): the caller gets Timeout at once, the session is deleted", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* fake.fail("POST /3/authentication/session/new", Fault.Delay({ duration: "30 seconds" }))
      const fiber = yield* Effect.forkChild(Effect.flip(auth.login(login)))
      yield* TestClock.adjust("10 seconds")
      expect(yield* Fiber.join(fiber)).toMatchObject({ _tag: "TransportError", reason: "Timeout" })
      // TMDB processes it late: the session exists for a moment, then the background deletes it.
      yield* TestClock.adjust("20 seconds")
      expect(yield* fake.sessions).toEqual([])
      const routes = (yield* fake.requests).map((r) => `${r.method} ${r.path} ${r.status}`)
      expect(routes.slice(-2)).toEqual([
        "POST /3/authentication/session/new 200",
        "DELETE /3/authentication/session 200"
      ])
      // Without restarts: the login would start over with a new token (test/LoginRestarts.test.ts).
    }).pipe(Effect.provide(NoRestarts)))

  it.effect("an interrupted login ends at once; a session created after that is deleted", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* fake.fail("POST /3/authentication/session/new", Fault.Delay({ duration: "5 seconds" }))
      const fiber = yield* Effect.forkChild(auth.login(login))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      expect(yield* fake.sessions).toEqual([])
      yield* TestClock.adjust("5 seconds")
      expect(yield* fake.sessions).toEqual([])
      expect((yield* fake.requests).filter((r) => r.method === "DELETE")).toHaveLength(1)
    }).pipe(Effect.provide(Fake)))

  it.effect("scopedSession honours a timeout around it, and the late session is deleted", () =>
    Effect.gen(function*() {
      const fake = yield* FakeTmdb
      yield* fake.fail("POST /3/authentication/session/new", Fault.Delay({ duration: "60 seconds" }))
      const fiber = yield* Effect.forkChild(
        Effect.scoped(AuthService.scopedSession(login)).pipe(Effect.timeout("5 seconds"), Effect.exit)
      )
      yield* TestClock.adjust("5 seconds")
      const exit = yield* Fiber.join(fiber)
      expect(Exit.isFailure(exit) && Cause.findErrorOption(exit.cause).pipe(Option.map((e) => e._tag))).toEqual(
        Option.some("TimeoutError")
      )
      yield* TestClock.adjust("60 seconds")
      expect(yield* fake.sessions).toEqual([])
    }).pipe(Effect.provide(Fake)))

  it.effect("scopedSession deletes its session when the scope closes, retrying a reset delete", () =>
    Effect.gen(function*() {
      const fake = yield* FakeTmdb
      const scope = yield* Scope.make()
      yield* Scope.provide(AuthService.scopedSession(login), scope)
      expect(yield* fake.sessions).toHaveLength(1)
      yield* fake.fail("DELETE /3/authentication/session", Fault.ConnectionReset())
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(closing)
      expect(yield* fake.sessions).toEqual([])
    }).pipe(Effect.provide(Fake)))

  it.effect("convert/4 and v4 access_token answered late: the session is deleted, the access token logged out", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* fake.fail("POST /3/authentication/session/convert/4", Fault.Delay({ duration: "30 seconds" }))
      const converting = yield* Effect.forkChild(Effect.flip(auth.createSessionFromV4(V4.accessToken)))
      yield* TestClock.adjust("10 seconds")
      expect(yield* Fiber.join(converting)).toMatchObject({ _tag: "TransportError", reason: "Timeout" })
      yield* TestClock.adjust("20 seconds")
      expect(yield* fake.sessions).toEqual([])

      const requestToken = yield* auth.createRequestTokenV4()
      yield* fake.approve(requestToken, "demo")
      yield* fake.fail("POST /4/auth/access_token", Fault.Delay({ duration: "30 seconds" }))
      const creating = yield* Effect.forkChild(Effect.flip(auth.createAccessToken(requestToken)))
      yield* TestClock.adjust("10 seconds")
      expect(yield* Fiber.join(creating)).toMatchObject({ _tag: "TransportError", reason: "Timeout" })
      yield* TestClock.adjust("20 seconds")
      const log = (yield* fake.requests).map((r) => `${r.method} ${r.path} ${r.status}`)
      expect(log.slice(-2)).toEqual(["POST /4/auth/access_token 200", "DELETE /4/auth/access_token 200"])
    }).pipe(Effect.provide(Fake)))

  it.effect("the cleanup is logged at debug, without the session id", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const logger = Logger.make(({ message }) => lines.push(String(message)))
      yield* Effect.gen(function*() {
        const auth = yield* AuthService
        const fake = yield* FakeTmdb
        yield* fake.fail("POST /3/authentication/session/new", Fault.Delay({ duration: "30 seconds" }))
        const fiber = yield* Effect.forkChild(Effect.result(auth.login(login)))
        yield* TestClock.adjust("40 seconds")
        yield* Fiber.join(fiber)
      }).pipe(
        Effect.provide(Fake),
        Effect.provide(Logger.layer([logger])),
        Effect.provideService(References.MinimumLogLevel, "Debug")
      )
      expect(lines).toContain("A session that came after its caller stopped waiting was deleted")
    }))
})
