/**
 * `login` and `scopedSession` start over with a fresh request token when a POST step fails without telling whether
 * TMDB acted (`retry.maxRestarts`, default 3). In memory, on TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { AuthService } from "../src/index.js"
import { FakeTmdb, Fault } from "../src/testing/index.js"

const login = { username: "demo", password: FakeTmdb.defaults.user.password }
const steps = (requests: ReadonlyArray<{ readonly method: string; readonly path: string; readonly status: number }>) =>
  requests.map((r) => `${r.method} ${r.path.replace("/3/authentication/", "")} ${r.status}`)

describe("login restarts", () => {
  it.effect("a reset on session/new: the login starts over with a new token and succeeds", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* fake.fail("POST /3/authentication/session/new", Fault.ConnectionReset())
      const session = yield* auth.login(login)
      expect(yield* fake.sessions).toHaveLength(1)
      yield* auth.deleteSession(session)
      const log = steps(yield* fake.requests)
      expect(log.filter((s) => s.startsWith("GET token/new"))).toHaveLength(2)
    }).pipe(Effect.provide(FakeTmdb.layerAuthService())))

  it.effect("a garbled validate_with_login answer, then a 500: two restarts, one session, no token used twice", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* fake.fail("POST /3/authentication/token/validate_with_login", Fault.Truncated(), Fault.InternalError())
      yield* auth.login(login)
      expect(yield* fake.sessions).toHaveLength(1)
      const validations = (yield* fake.requests).filter((r) => r.path.endsWith("validate_with_login"))
      expect(validations.map((r) => r.status)).toEqual([200, 500, 200])
      expect((yield* fake.requests).filter((r) => r.path.endsWith("token/new"))).toHaveLength(3)
    }).pipe(Effect.provide(FakeTmdb.layerAuthService())))

  it.effect("a session/new answered after the timeout: the login starts over; the late session is deleted", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* fake.fail("POST /3/authentication/session/new", Fault.Delay({ duration: "30 seconds" }))
      const fiber = yield* Effect.forkChild(auth.login(login))
      yield* TestClock.adjust("10 seconds")
      const session = yield* Fiber.join(fiber)
      yield* TestClock.adjust("30 seconds")
      // The late one was deleted, the new one stands.
      expect(yield* fake.sessions).toHaveLength(1)
      yield* auth.deleteSession(session)
      expect(yield* fake.sessions).toEqual([])
    }).pipe(Effect.provide(FakeTmdb.layerAuthService())))

  it.effect("wrong credentials are not ambiguous: no restart", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      const error = yield* Effect.flip(auth.login({ username: "demo", password: "wrong" }))
      expect(error._tag).toBe("InvalidCredentials")
      expect((yield* fake.requests).filter((r) => r.path.endsWith("token/new"))).toHaveLength(1)
    }).pipe(Effect.provide(FakeTmdb.layerAuthService())))

  it.effect("after maxRestarts the ambiguous failure is the caller's; maxRestarts: 0 turns restarts off", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* fake.fail("POST /3/authentication/session/new", Fault.ConnectionReset(), Fault.ConnectionReset())
      const error = yield* Effect.flip(auth.login(login))
      expect(error).toMatchObject({ _tag: "TransportError", reason: "Transport" })
      expect((yield* fake.requests).filter((r) => r.path.endsWith("token/new"))).toHaveLength(2)
    }).pipe(Effect.provide(FakeTmdb.layerAuthService({}, { retry: { maxRestarts: 1 } }))))

  it.effect("scopedSession restarts the same way, and deletes its session when the scope closes", () =>
    Effect.gen(function*() {
      const fake = yield* FakeTmdb
      yield* fake.fail("POST /3/authentication/session/new", Fault.ConnectionReset())
      yield* Effect.scoped(Effect.gen(function*() {
        yield* AuthService.scopedSession(login)
        expect(yield* fake.sessions).toHaveLength(1)
      }))
      expect(yield* fake.sessions).toEqual([])
    }).pipe(Effect.provide(FakeTmdb.layerAuthService())))
})
