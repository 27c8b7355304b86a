/**
 * A downstream service that depends on "a logged-in session": it asks for `UserSession` and receives it from
 * `UserSession.layer`, which logs in when the app starts and logs out when it stops.
 *
 * Run: npx tsx examples/downstream-service.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Context, Effect, Layer, Redacted } from "effect"
import { UserSession } from "effect-tmdb-auth"
import { FakeTmdb } from "effect-tmdb-auth/testing"

/** Your service: rates movies for the logged-in user. */
class Ratings extends Context.Service<Ratings, {
  readonly rate: (movieId: number, value: number) => Effect.Effect<string>
}>()("example/Ratings") {
  static readonly layer = Layer.effect(
    Ratings,
    Effect.gen(function*() {
      const session = yield* UserSession
      return {
        // A real implementation would POST /3/movie/{id}/rating?session_id=... with the Redacted id unwrapped there.
        rate: (movieId, value) =>
          Effect.succeed(
            `rated movie ${movieId} ${value}/10 with a session id of ${
              Redacted.value(session.sessionId).length
            } characters`
          )
      }
    })
  )
}

const program = Effect.gen(function*() {
  const ratings = yield* Ratings
  yield* Console.log(yield* ratings.rate(550, 9))
})

// The app's wiring: Ratings needs UserSession, which needs AuthService (here on the in-memory fake).
const App = Ratings.layer.pipe(
  Layer.provide(UserSession.layer({ username: "demo", password: "demo-password" })),
  Layer.provide(FakeTmdb.layerAuthService())
)

NodeRuntime.runMain(program.pipe(Effect.provide(App)))
