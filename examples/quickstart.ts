/**
 * `npm start`: the library at work, offline.
 *
 * With no credentials in the environment it starts FakeTmdb on a free loopback port and runs the whole v3 story
 * against it over real HTTP. With TMDB_ACCESS_TOKEN or TMDB_API_KEY set, it runs the steps that need no user
 * account against TMDB itself.
 */
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Logger, LogLevel, Option, Redacted } from "effect"
import { AuthService, TmdbConfig } from "effect-tmdb-auth"
import { FakeTmdb } from "effect-tmdb-auth/testing"

const step = <A, E, R>(title: string, effect: Effect.Effect<A, E, R>, show: (a: A) => string = () => "") =>
  Effect.gen(function*() {
    const started = Date.now()
    const result = yield* Effect.either(effect)
    const took = `${Date.now() - started} ms`
    if (result._tag === "Right") {
      const detail = show(result.right)
      yield* Console.log(`✔ ${title} (${took})${detail === "" ? "" : `: ${detail}`}`)
    } else {
      yield* Console.log(`✘ ${title} (${took}): ${(result.left as Error).message}`)
    }
    return Option.getRight(result)
  })

/** Retry decisions are logged at debug level: show them, indented, as the demo's commentary. */
const retryLog = Logger.replace(
  Logger.defaultLogger,
  Logger.make(({ message }) => {
    const text = Array.isArray(message) ? message.join(" ") : String(message)
    globalThis.console.log(`    ↻ ${text}`)
  })
).pipe(Layer.merge(Logger.minimumLogLevel(LogLevel.Debug)))

const offline = Effect.gen(function*() {
  const fake = yield* FakeTmdb.serve({ rateLimit: { requests: 5, window: "1 second" } })
  yield* Console.log(`No TMDB credentials in the environment: using FakeTmdb on ${fake.url}\n`)
  const layer = AuthService.layer.pipe(
    Layer.provide(TmdbConfig.layer({ accessToken: FakeTmdb.defaults.accessToken, baseUrl: fake.url, webBaseUrl: fake.url })),
    Layer.provide(NodeHttpClient.layerUndici)
  )
  const { password, username } = FakeTmdb.defaults.user
  yield* Effect.gen(function*() {
    const auth = yield* AuthService
    yield* step("validate the application's read access token", auth.validateKey)
    const token = yield* step("create a request token", auth.createRequestToken, (t) => `expires at ${t.expiresAt}`)
    if (Option.isSome(token)) {
      yield* Console.log(`  the user would approve it at ${auth.approvalUrl(token.value).replace(/[0-9a-f]{40}/, "<token>")}`)
      const approved = yield* step(
        `validate it with ${username}'s password`,
        auth.validateWithLogin({ username, password: Redacted.make(password), requestToken: token.value })
      )
      const session = yield* Option.match(approved, {
        onNone: () => Effect.succeedNone,
        onSome: (t) => step("create a session", auth.createSession(t), () => "session id kept Redacted")
      })
      yield* step("create a guest session", auth.createGuestSession, (g) => `expires at ${g.expiresAt}`)
      yield* step(
        "burst of 8 requests against a limit of 5 per second (retries honour Retry-After)",
        Effect.all(Array.from({ length: 8 }, () => auth.validateKey), { concurrency: 8 })
      )
      yield* step("log in with a wrong password", auth.login({ username, password: "not-the-password" }))
      if (Option.isSome(session)) yield* step("delete the session", auth.deleteSession(session.value))
    }
  }).pipe(Effect.provide(layer), Effect.provide(retryLog))
}).pipe(Effect.scoped)

const live = Effect.gen(function*() {
  yield* Console.log("TMDB credentials found: running the steps that need no user account against TMDB\n")
  yield* Effect.gen(function*() {
    const auth = yield* AuthService
    yield* step("validate the application's credential", auth.validateKey)
    const token = yield* step("create a request token", auth.createRequestToken, (t) => `expires at ${t.expiresAt}`)
    if (Option.isSome(token)) yield* Console.log(`  approve it at ${auth.approvalUrl(token.value)}`)
    yield* step("create a guest session", auth.createGuestSession, (g) => `expires at ${g.expiresAt}`)
  }).pipe(Effect.provide(AuthService.layerLive), Effect.provide(retryLog))
})

const hasCredentials = ["TMDB_ACCESS_TOKEN", "TMDB_API_KEY"].some((name) => (process.env[name] ?? "") !== "")

const main: Effect.Effect<void, unknown> = hasCredentials ? live : offline

NodeRuntime.runMain(main, { disablePrettyLogger: true })
