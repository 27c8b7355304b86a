/**
 * Providing the layer in an app: `AuthService.layerLive` when TMDB credentials are set, otherwise the same program
 * against a FakeTmdb server on loopback. Failures are handled by tag.
 *
 * Run: npx tsx examples/provide-layer.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Redacted } from "effect"
import { AuthService, TmdbConfig, TmdbHttpClient } from "effect-tmdb-auth"
import { FakeTmdb } from "effect-tmdb-auth/testing"

const program = Effect.gen(function*() {
  const auth = yield* AuthService
  yield* auth.validateKey
  const guest = yield* auth.createGuestSession
  yield* Console.log(`guest session until ${guest.expiresAt.toJSON()}`)
  const session = yield* auth.login({ username: "demo", password: Redacted.make("demo-password") })
  yield* Console.log("logged in; the session id stays Redacted:", String(session.sessionId))
  yield* auth.deleteSession(session)
  yield* Console.log("logged out")
}).pipe(
  Effect.catchTags({
    InvalidCredentials: (error) => Console.error(`wrong login (${error.reason})`),
    RateLimited: (error) => Console.error(`rate limited: ${error.message}`),
    TransportError: (error) => Console.error(`TMDB unreachable: ${error.message}`)
  })
)

const live = ["TMDB_ACCESS_TOKEN", "TMDB_API_KEY"].some((name) => (process.env[name] ?? "") !== "")

const main: Effect.Effect<void, unknown> = live
  ? program.pipe(Effect.provide(AuthService.layerLive))
  : Effect.gen(function*() {
    const fake = yield* FakeTmdb.serve()
    yield* Console.log(`no credentials: using FakeTmdb at ${fake.url}`)
    const Auth = AuthService.layer.pipe(
      Layer.provide(TmdbHttpClient.layer),
      Layer.provide(TmdbConfig.layer({ accessToken: FakeTmdb.defaults.accessToken, baseUrl: fake.url }))
    )
    yield* program.pipe(Effect.provide(Auth))
  }).pipe(Effect.scoped)

NodeRuntime.runMain(main)
