/**
 * Testing your own code with FakeTmdb and TestClock (run by `npm test`).
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber } from "effect"
import { AuthService } from "effect-tmdb-auth"
import { FakeTmdb, Fault } from "effect-tmdb-auth/testing"
import { TestClock } from "effect/testing"

/** The code under test: logs in, and reports how it went. */
const signIn = (username: string, password: string) =>
  Effect.flatMap(AuthService, (auth) => auth.login({ username, password })).pipe(
    Effect.as("signed in" as const),
    Effect.catchTag("InvalidCredentials", () => Effect.succeed("wrong password" as const))
  )

describe("signIn", () => {
  it.effect("signs in, and reports a wrong password", () =>
    Effect.gen(function*() {
      expect(yield* signIn("demo", "demo-password")).toBe("signed in")
      expect(yield* signIn("demo", "guess")).toBe("wrong password")
      const fake = yield* FakeTmdb
      expect(yield* fake.sessions).toHaveLength(1)
    }).pipe(Effect.provide(FakeTmdb.layerAuthService())))

  it.effect("waits out TMDB's rate limit: exactly the Retry-After, in TestClock time", () =>
    Effect.gen(function*() {
      const fake = yield* FakeTmdb
      yield* fake.fail("GET /3/authentication/token/new", Fault.RateLimited({ retryAfter: 30 }))
      const fiber = yield* Effect.forkChild(signIn("demo", "demo-password"))
      yield* TestClock.adjust(Duration.seconds(29))
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust(Duration.seconds(1))
      expect(yield* Fiber.join(fiber)).toBe("signed in")
    }).pipe(Effect.provide(FakeTmdb.layerAuthService())))
})
