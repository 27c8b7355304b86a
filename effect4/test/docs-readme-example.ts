// The quick start of effect4/README.md, word for word (test/docs.test.ts keeps them identical; tsc type-checks it; never run).
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Redacted } from "effect"
import { AuthService } from "effect-tmdb-auth"

const program = Effect.gen(function*() {
  const auth = yield* AuthService
  const session = yield* auth.login({ username: "jane", password: Redacted.make(process.env.TMDB_PASSWORD!) })
  yield* Console.log("logged in") // session.sessionId is Redacted: it never shows up in logs by accident
  yield* auth.deleteSession(session)
}).pipe(
  // Each failure is a typed value; rate limits and transient failures were already retried.
  Effect.catchTags({
    InvalidCredentials: (e) => Console.error(`login refused: ${e.reason}`),
    RateLimited: (e) => Console.error(e.message),
    TransportError: (e) => Console.error(`TMDB unreachable: ${e.message}`)
  })
)

// layerLive = TmdbConfig.layerConfig (TMDB_ACCESS_TOKEN or TMDB_API_KEY) + TmdbHttpClient.layer
program.pipe(Effect.provide(AuthService.layerLive), NodeRuntime.runMain)
