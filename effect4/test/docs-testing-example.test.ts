// The example of docs/testing.md and the README, word for word (test/docs.test.ts keeps them identical).
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber } from "effect"
import { AuthService } from "effect-tmdb-auth"
import { FakeTmdb, Fault } from "effect-tmdb-auth/testing"
import { TestClock } from "effect/testing"

describe("my login code", () => {
  it.effect("logs in; a request token expires after 60 minutes", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      const session = yield* auth.login({ username: "demo", password: "demo-password" })
      expect(yield* fake.sessions).toHaveLength(1)

      const token = yield* auth.createRequestToken
      yield* TestClock.adjust(Duration.minutes(60)) // an hour of TMDB time, in no time
      const error = yield* Effect.flip(
        auth.validateWithLogin({ username: "demo", password: "demo-password", requestToken: token })
      )
      expect(error._tag).toBe("TokenExpired")

      yield* auth.deleteSession(session)
      expect(yield* fake.sessions).toHaveLength(0)
    }).pipe(Effect.provide(FakeTmdb.layerAuthService())))

  it.effect("rides out TMDB's rate limit", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* fake.fail("GET /3/authentication/token/new", Fault.RateLimited({ retryAfter: 2 }))
      const fiber = yield* Effect.forkChild(auth.createRequestToken)
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(fiber)
    }).pipe(Effect.provide(FakeTmdb.layerAuthService())))
})
