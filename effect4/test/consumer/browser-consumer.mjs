// A browser or edge app's install (the README's browser line: no @effect/platform-node), run by
// .ci/consumer-test-effect4.sh: both entry points import, a login works against the in-memory FakeTmdb, and the Node-only
// features fail with an error that says what to install, instead of a failed import.
import { Cause, ConfigProvider, Effect, Exit, Layer, Redacted } from "effect"
import { AuthService } from "effect-tmdb-auth"
import { FakeTmdb } from "effect-tmdb-auth/testing"

const check = (condition, what) => {
  if (!condition) throw new Error(`browser consumer check failed: ${what}`)
}

const length = await Effect.gen(function*() {
  const auth = yield* AuthService
  const session = yield* auth.login({ username: "demo", password: Redacted.make("demo-password") })
  yield* auth.deleteSession(session)
  return Redacted.value(session.sessionId).length
}).pipe(Effect.provide(FakeTmdb.layerAuthService()), Effect.runPromise)
check(length === 40, "login against the in-memory fake")
console.log("ok - without @effect/platform-node: both entry points import, login and logout against FakeTmdb.layer")

const live = await Effect.runPromiseExit(
  Layer.build(AuthService.layerLive).pipe(
    Effect.scoped,
    Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ TMDB_ACCESS_TOKEN: "token" })))
  )
)
const says = (exit) => Exit.isFailure(exit) && Cause.pretty(exit.cause).includes("npm install @effect/platform-node")
check(says(live), `layerLive: ${live}`)
const serve = await Effect.runPromiseExit(Effect.scoped(FakeTmdb.serve()))
check(says(serve), `serve: ${serve}`)
console.log("ok - AuthService.layerLive and FakeTmdb.serve fail with a typed error naming what to install")
