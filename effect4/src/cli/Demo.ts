/**
 * `tmdb-auth demo`: the whole authentication story, on an embedded FakeTmdb unless credentials are given.
 */
import * as Console from "effect/Console"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import type { AuthServiceShape } from "../AuthService.js"
import { FakeTmdb } from "../testing/FakeTmdb.js"
import { buildAuth, type ConnectionFlags, progressLogger, resolveConfig } from "./Connection.js"

/** Runs one step: prints what happened and how long it took; a failure is shown as a person reads it. */
const step = <A, E, R>(title: string, effect: Effect.Effect<A, E, R>, show: (a: A) => string = () => "") =>
  Effect.gen(function*() {
    const started = Date.now()
    const result = yield* Effect.result(effect)
    const took = `${Date.now() - started} ms`
    if (Result.isSuccess(result)) {
      const detail = show(result.success)
      yield* Console.log(`✔ ${title} (${took})${detail === "" ? "" : `: ${detail}`}`)
    } else {
      const error = result.failure as { readonly _tag?: string; readonly message?: string }
      yield* Console.log(`✘ ${title} (${took}): ${error._tag ?? "Error"}: ${error.message ?? String(error)}`)
    }
    return Option.getSuccess(result)
  })

const hideToken = (url: string) => url.replace(/\/authenticate\/[^?]+/, "/authenticate/<request-token>")

const TOKEN_LIFETIME = Duration.seconds(2)

const offlineStory = (auth: AuthServiceShape) =>
  Effect.gen(function*() {
    const { password, username } = FakeTmdb.defaults.user
    yield* step("validate the application's read access token", auth.validateKey)
    const token = yield* step("create a request token", auth.createRequestToken, (t) =>
      `expires at ${DateTime.formatIso(t.expiresAt)}`)
    if (Option.isNone(token)) {
      return
    }
    yield* Console.log(`  the user would approve it at ${hideToken(auth.approvalUrl(token.value))}`)
    const approved = yield* step(
      `validate it with ${username}'s password`,
      auth.validateWithLogin({ username, password: Redacted.make(password), requestToken: token.value })
    )
    const session = Option.isNone(approved)
      ? Option.none()
      : yield* step("create a session", auth.createSession(approved.value), () =>
        "session id kept Redacted")
    yield* step(
      "create a guest session",
      auth.createGuestSession,
      (g) =>
        `expires at ${DateTime.formatIso(g.expiresAt)}`
    )
    yield* Console.log("  a one-second pause, so that the burst starts with a fresh rate-limit window")
    yield* Effect.sleep("1 second")
    yield* Console.log("  a burst of 8 requests against the fake's limit of 5 per second:")
    yield* step(
      "burst ridden out by the retry policy (each wait above, as Retry-After asked)",
      Effect.all(Array.from({ length: 8 }, () => auth.validateKey), { concurrency: 8 })
    )
    yield* step("log in with a wrong password", auth.login({ username, password: "not-the-password" }))
    const short = yield* step(
      "create a request token",
      auth.createRequestToken,
      (t) => `expires at ${DateTime.formatIso(t.expiresAt)}`
    )
    if (Option.isSome(short)) {
      yield* Console.log(
        `  waiting ${Duration.format(TOKEN_LIFETIME)} for it to expire (the demo's fake issues short-lived tokens)`
      )
      yield* Effect.sleep(Duration.sum(TOKEN_LIFETIME, Duration.millis(100)))
      yield* step("create a session from the expired token", auth.createSession(short.value))
    }
    if (Option.isSome(session)) yield* step("delete the session", auth.deleteSession(session.value))
  })

const liveStory = (auth: AuthServiceShape) =>
  Effect.gen(function*() {
    yield* step("validate the application's credential", auth.validateKey)
    const token = yield* step("create a request token", auth.createRequestToken, (t) =>
      `expires at ${DateTime.formatIso(t.expiresAt)}`)
    if (Option.isSome(token)) {
      yield* Console.log(`  a user would approve it at ${hideToken(auth.approvalUrl(token.value))}`)
    }
    yield* step("create a guest session", auth.createGuestSession, (g) =>
      `expires at ${DateTime.formatIso(g.expiresAt)}`)
  })

const hasCredential = (flags: ConnectionFlags) =>
  Option.isSome(flags.accessToken) || Option.isSome(flags.apiKey) ||
  ["TMDB_ACCESS_TOKEN", "TMDB_API_KEY"].some((name) => (process.env[name] ?? "") !== "")

export const demo = (flags: ConnectionFlags) =>
  Effect.gen(function*() {
    if (hasCredential(flags)) {
      const options = yield* resolveConfig(flags)
      yield* Console.log(
        `TMDB credentials found: running the steps that need no user account against ${options.baseUrl ?? "TMDB"}\n`
      )
      return yield* liveStory(yield* buildAuth(options))
    }
    const fake = yield* FakeTmdb.serve({
      rateLimit: { requests: 5, window: "1 second" },
      requestTokenLifetime: TOKEN_LIFETIME
    })
    yield* Console.log(`No TMDB credentials: started a fake TMDB on ${fake.url} (FakeTmdb, loopback only)\n`)
    yield* offlineStory(
      yield* buildAuth({ accessToken: FakeTmdb.defaults.accessToken, baseUrl: fake.url, webBaseUrl: fake.url })
    )
  }).pipe(Effect.scoped, Effect.provide(progressLogger))
