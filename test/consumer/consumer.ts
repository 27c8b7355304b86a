/**
 * A consumer of the published package: `.ci/consumer-test.sh` packs the package, installs the tarball into a fresh
 * project, type-checks this file with `strict` and `exactOptionalPropertyTypes`, and runs it. It reaches the library
 * only through its published entry points.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Context, Duration, Effect, Layer, Redacted, Schema, TestClock, TestContext } from "effect"
import { AuthService, type Session, TmdbClient, TmdbConfig, UserSession } from "effect-tmdb-auth"
import { FakeTmdb } from "effect-tmdb-auth/testing"
import { WebSessionStore } from "effect-tmdb-auth/web"

const check = (condition: boolean, what: string) =>
  condition ? Effect.void : Effect.dieMessage(`consumer check failed: ${what}`)

const loginAndLogout = Effect.gen(function*() {
  const auth = yield* AuthService
  const session: Session = yield* auth.login({ username: "demo", password: Redacted.make("demo-password") })
  yield* check(/^[0-9a-f]{40}$/.test(Redacted.value(session.sessionId)), "session id")
  yield* auth.deleteSession(session)
})

const Account = Schema.Struct({ id: Schema.Number, username: Schema.String })

const ownCall = Effect.gen(function*() {
  const auth = yield* AuthService
  const tmdb = yield* TmdbClient
  const session = yield* auth.login({ username: "demo", password: Redacted.make("demo-password") })
  const account = yield* tmdb.request({ method: "GET", path: "/3/account", session, response: Account })
  yield* check(account.username === "demo", "GET /3/account through TmdbClient")
  yield* auth.deleteSession(session)
  return "TmdbClient: the app's own GET /3/account with the session"
}).pipe(Effect.provide(FakeTmdb.layerAuthService()))

const inMemory = loginAndLogout.pipe(
  Effect.provide(FakeTmdb.layerAuthService()),
  Effect.as("in memory: logged in and out")
)

const overSocket = Effect.gen(function*() {
  const server = yield* FakeTmdb.serve()
  const auth = yield* Layer.build(AuthService.layer.pipe(
    Layer.provide(TmdbConfig.layer({ accessToken: FakeTmdb.defaults.accessToken, baseUrl: server.url })),
    Layer.provide(NodeHttpClient.layerUndici)
  )).pipe(Effect.map(Context.get(AuthService)))
  yield* loginAndLogout.pipe(Effect.provideService(AuthService, auth))
  yield* check((yield* server.sessions).length === 0, "session deleted on the server")
  return `over a socket: logged in and out at ${server.url}`
}).pipe(Effect.scoped)

const withTestClock = Effect.gen(function*() {
  const auth = yield* AuthService
  const token = yield* auth.createRequestToken
  yield* TestClock.adjust(Duration.minutes(60))
  const error = yield* Effect.flip(auth.createSession(token))
  yield* check(error._tag === "TokenExpired", `TokenExpired after 60 minutes, got ${error._tag}`)
  return "TestClock: the request token expired at minute 60"
}).pipe(Effect.provide(FakeTmdb.layerAuthService()), Effect.provide(TestContext.TestContext))

const downstream = Effect.map(UserSession, (session) => Redacted.value(session.sessionId).length).pipe(
  Effect.provide(UserSession.layer({ username: "demo", password: "demo-password" })),
  Effect.provide(FakeTmdb.layerAuthService()),
  Effect.map((length) => `UserSession layer: a ${length}-character session id`)
)

// The web entry point type-checks without the optional peer ioredis (skipLibCheck is off) and its store works.
const webEntry = Effect.gen(function*() {
  const store = Context.get(yield* Layer.build(WebSessionStore.layerMemory), WebSessionStore)
  yield* store.store.set("consumer", "ok")
  const value = yield* store.store.get("consumer")
  yield* check(value._tag === "Some" && value.value === "ok", "WebSessionStore.layerMemory keeps a value")
  return "web entry: WebSessionStore.layerMemory, without ioredis installed"
}).pipe(Effect.scoped)

Effect.runPromise(Effect.all([inMemory, overSocket, withTestClock, downstream, ownCall, webEntry])).then(
  (lines) => lines.forEach((line) => console.log(`ok - ${line}`)),
  (error) => {
    console.error(error)
    process.exitCode = 1
  }
)
