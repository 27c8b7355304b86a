/**
 * `npm run chaos [-- FLOWS CONCURRENCY]` (defaults 2000 50): the library against `FakeTmdb.serve` over real sockets
 * with seeded random faults (5% 429 with Retry-After, 10% 503, 5% connection resets, 2% truncated JSON, 5% answers
 * slower than the timeout), admission control on as users run it, in both credential modes. Each mode runs FLOWS
 * flows: a full login (half through `login`, half step by step), then the session deleted or kept, a guest session
 * now and then, and some flows interrupted at a random moment.
 *
 * It checks, and prints: every call ends in success or a documented typed error; no defect; no call past the policy's
 * worst-case bound; no orphan session (every session the fake created is held by a caller or was deleted), apart from
 * those whose answer a fault destroyed after the fake had created them (a truncated `session/new`), counted apart; no
 * request token used for two sessions (the fake answers a reused token with code 33: no `createSession` may end in
 * `TokenExpired`); no secret in any captured log line, span or rendered error. Exits 1 on any violation; the process
 * must end by itself.
 */
import { Cause, Context, Duration, Effect, Exit, Fiber, Layer, Logger, LogLevel, Random, Redacted } from "effect"
import * as Tracer from "effect/Tracer"
import type * as Lib from "../src/index.js"
import type { FakeTmdbServer } from "../src/testing/index.js"
import { AuthService, FakeTmdb, isAuthError, TmdbConfig, TmdbHttpClient } from "./built.js"

const FLOWS = Number(process.argv[2] ?? 2000)
const CONCURRENCY = Number(process.argv[3] ?? 50)
const TIMEOUT = Duration.seconds(1)
const SLOW = Duration.seconds(2)
const RETRY = {
  maxRetries: 5,
  maxWait: Duration.seconds(10),
  initialDelay: Duration.millis(100),
  maxRetryAfter: Duration.seconds(2),
  maxRestarts: 3
}
const MAX_IN_FLIGHT = 20
const PASSWORD = "chaos-SECRET-password"
const API_KEY = "chaos-SECRET-api-key-0123456789"

/**
 * The longest one request may take: every attempt timed out, every wait between attempts at the policy's budget, a
 * pause of admission control before each attempt; times the queue ahead of it (CONCURRENCY callers over
 * MAX_IN_FLIGHT places, each ahead taking as long).
 */
const requestBound = Duration.toMillis(TIMEOUT) * (RETRY.maxRetries + 1) + Duration.toMillis(RETRY.maxWait) +
  Duration.toMillis(RETRY.maxRetryAfter) * (RETRY.maxRetries + 1)
// A flow: a login (3 requests, started over up to maxRestarts times), a delete and a guest session.
const flowBound = (3 * (1 + RETRY.maxRestarts) + 2) * requestBound * Math.ceil(CONCURRENCY / MAX_IN_FLIGHT)

interface Report {
  readonly mode: string
  calls: number
  successes: number
  typed: Map<string, number>
  defects: Array<string>
  overBound: number
  slowest: number
  interrupted: number
  reusedTokens: number
  keptSessions: Set<string>
  destroyedSessionAnswers: number
  secrets: Set<string>
}

const run = (mode: "accessToken" | "apiKey") =>
  Effect.gen(function*() {
    const logs: Array<string> = []
    const spans: Array<Tracer.Span> = []
    const rendered: Array<string> = []
    const report: Report = {
      mode,
      calls: 0,
      successes: 0,
      typed: new Map(),
      defects: [],
      overBound: 0,
      slowest: 0,
      interrupted: 0,
      reusedTokens: 0,
      keptSessions: new Set(),
      destroyedSessionAnswers: 0,
      secrets: new Set([PASSWORD, API_KEY, FakeTmdb.defaults.accessToken])
    }
    const server: FakeTmdbServer = yield* FakeTmdb.serve({
      users: [{ username: "chaos", password: PASSWORD }],
      apiKeys: [API_KEY],
      faults: {
        seed: mode === "accessToken" ? 1 : 2,
        rateLimited: 0.05,
        unavailable: 0.10,
        connectionReset: 0.05,
        truncated: 0.02,
        delayed: 0.05,
        delay: SLOW
      }
    })
    const tracer = Tracer.make({
      span: (name, parent, context, links, startTime, kind, options) => {
        const span = Effect.runSync(
          Effect.map(Effect.tracer, (t) => t.span(name, parent, context, links, startTime, kind, options))
        )
        spans.push(span)
        return span
      },
      context: (f) => f()
    })
    const settings = { baseUrl: server.url, timeout: TIMEOUT, retry: RETRY, admission: { maxInFlight: MAX_IN_FLIGHT } }
    const context = yield* Layer.build(AuthService.layer.pipe(
      Layer.provide(TmdbHttpClient.layer),
      Layer.provide(
        mode === "apiKey"
          ? TmdbConfig.layer({ ...settings, apiKey: API_KEY })
          : TmdbConfig.layer({ ...settings, accessToken: FakeTmdb.defaults.accessToken })
      )
    ))
    const auth = Context.get(context, AuthService)

    /** One call: timed, its outcome classified. */
    const call = <A, E extends { readonly _tag: string }>(name: string, effect: Effect.Effect<A, E>) =>
      Effect.gen(function*() {
        const started = Date.now()
        const exit = yield* Effect.exit(effect)
        const millis = Date.now() - started
        report.calls += 1
        report.slowest = Math.max(report.slowest, millis)
        if (Exit.isSuccess(exit)) {
          report.successes += 1
          return exit
        }
        const failure = Cause.failureOption(exit.cause)
        if (failure._tag === "Some") {
          const error = failure.value as unknown as Error & { readonly _tag: string }
          report.typed.set(`${name}: ${error._tag}`, (report.typed.get(`${name}: ${error._tag}`) ?? 0) + 1)
          if (!isAuthError(error)) report.defects.push(`${name}: undocumented ${error._tag}`)
          // The library's own internals must never reach a caller.
          if (error.message.includes("internal:")) report.defects.push(`${name}: ${error.message}`)
          rendered.push(error.message, String(error), JSON.stringify(error), Cause.pretty(exit.cause))
          const endpoint = (error as { readonly endpoint?: string }).endpoint
          if (endpoint === "POST /3/authentication/session/new" && error._tag === "TokenExpired") {
            report.reusedTokens += 1
          }
          // A login's garbled session/new answers are counted from its log (it starts over, the caller never sees them).
          if (
            name !== "login" && endpoint === "POST /3/authentication/session/new" && error._tag === "MalformedResponse"
          ) {
            report.destroyedSessionAnswers += 1
          }
        } else if (!Cause.isInterruptedOnly(exit.cause)) {
          report.defects.push(`${name}: ${Cause.pretty(exit.cause)}`)
        }
        return exit
      })

    const remember = (secret: Redacted.Redacted<string>) => report.secrets.add(Redacted.value(secret))

    /** A full login, step by step or through `login`; then the session deleted, or kept (held by the caller). */
    const flow = (index: number) =>
      Effect.gen(function*() {
        const started = Date.now()
        let session: Lib.Session | undefined
        if (index % 2 === 0) {
          const exit = yield* call("login", auth.login({ username: "chaos", password: PASSWORD }))
          if (Exit.isSuccess(exit)) session = exit.value
        } else {
          const token = yield* call("createRequestToken", auth.createRequestToken)
          if (Exit.isFailure(token)) return
          remember(token.value.token)
          const approved = yield* call(
            "validateWithLogin",
            auth.validateWithLogin({ username: "chaos", password: PASSWORD, requestToken: token.value })
          )
          if (Exit.isFailure(approved)) return
          const created = yield* call("createSession", auth.createSession(approved.value))
          if (Exit.isSuccess(created)) session = created.value
        }
        if (session !== undefined) {
          // Held by this caller from now on, until its delete succeeds (an interrupted flow still holds it).
          const id = Redacted.value(session.sessionId)
          remember(session.sessionId)
          report.keptSessions.add(id)
          if (index % 3 !== 0) {
            const deleted = yield* call("deleteSession", auth.deleteSession(session))
            if (Exit.isSuccess(deleted)) report.keptSessions.delete(id)
          }
        }
        if (index % 5 === 0) {
          const guest = yield* call("createGuestSession", auth.createGuestSession)
          if (Exit.isSuccess(guest)) remember(guest.value.guestSessionId)
        }
        if (Date.now() - started > flowBound) report.overBound += 1
      })

    /** Every seventh flow is interrupted at a random moment within its first two seconds. */
    const maybeInterrupted = (index: number) =>
      index % 7 !== 0 ? flow(index) : Effect.gen(function*() {
        const fiber = yield* Effect.fork(flow(index))
        const after = yield* Random.nextIntBetween(0, 2000)
        yield* Effect.sleep(Duration.millis(after))
        const exit = yield* Fiber.interrupt(fiber)
        if (Exit.isInterrupted(exit)) report.interrupted += 1
      })

    yield* Effect.forEach(Array.from({ length: FLOWS }, (_, i) => i), maybeInterrupted, {
      concurrency: CONCURRENCY,
      discard: true
    }).pipe(
      Effect.withTracer(tracer),
      Effect.provide(Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ annotations, cause, message }) => {
          const fields = Object.fromEntries(annotations)
          if (
            String(message).startsWith("AuthService: a login step failed") &&
            fields["endpoint"] === "POST /3/authentication/session/new" && fields["error"] === "MalformedResponse"
          ) {
            report.destroyedSessionAnswers += 1
          }
          logs.push(`${String(message)} ${JSON.stringify(fields)} ${Cause.pretty(cause)}`)
        })
      )),
      Logger.withMinimumLogLevel(LogLevel.All)
    )

    // Sessions whose answers came late are deleted in the background: wait until the fake holds only what callers
    // hold and what faults destroyed, or the grace period is over.
    const expected = () => report.keptSessions.size + report.destroyedSessionAnswers
    const deadline = Date.now() + 130_000
    let live = yield* server.sessions
    while (live.length > expected() && Date.now() < deadline) {
      yield* Effect.sleep("500 millis")
      live = yield* server.sessions
    }
    // Sessions nobody holds, beyond those whose answer a fault destroyed (no client can learn those ids).
    const unheld = live.filter((s) => !report.keptSessions.has(Redacted.value(s.sessionId))).length
    const orphans = Math.max(0, unheld - report.destroyedSessionAnswers)

    // Secrets: in logs, spans (names, attributes, events) and rendered errors.
    const texts = [
      ...logs,
      ...rendered,
      ...spans.map((s) => `${s.name} ${JSON.stringify(Object.fromEntries(s.attributes), (_, v) => String(v))}`)
    ]
    let leaks = 0
    for (const secret of report.secrets) {
      if (secret.length >= 8 && texts.some((t) => t.includes(secret))) leaks += 1
    }
    const requests = (yield* server.requests).length
    return { report, orphans, leaks, texts: texts.length, requests }
  }).pipe(Effect.scoped)

const started = Date.now()
const outcomes = [await Effect.runPromise(run("accessToken")), await Effect.runPromise(run("apiKey"))]

console.log(
  `${new Date().toISOString().slice(0, 10)}: ${FLOWS} flows at concurrency ${CONCURRENCY} per credential mode; ` +
    `timeout ${Duration.format(TIMEOUT)}, answers delayed ${Duration.format(SLOW)}; faults 5% 429, 10% 503, ` +
    `5% resets, 2% truncated, 5% slow; admission maxInFlight ${MAX_IN_FLIGHT}`
)
console.log(`worst-case bound: ${requestBound} ms per request, ${flowBound} ms per flow`)
let violations = 0
for (const { leaks, orphans, report, requests, texts } of outcomes) {
  const typed = [...report.typed].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`).join(", ")
  console.log(`\n${report.mode}: ${report.calls} calls over ${requests} requests; ${report.successes} succeeded`)
  console.log(`  typed errors: ${typed}`)
  console.log(`  flows interrupted at a random moment: ${report.interrupted}; slowest call ${report.slowest} ms`)
  console.log(`  defects: ${report.defects.length}`)
  console.log(`  calls past the bound: ${report.overBound}`)
  console.log(
    `  orphan sessions: ${orphans} (kept by callers: ${report.keptSessions.size}; ` +
      `session/new answers destroyed by a fault after the fake created the session: ${report.destroyedSessionAnswers})`
  )
  console.log(`  request tokens used for two sessions: ${report.reusedTokens}`)
  console.log(`  secrets found in ${texts} captured log lines, spans and rendered errors: ${leaks}`)
  for (const defect of report.defects.slice(0, 5)) console.log(`  defect: ${defect}`)
  violations += report.defects.length + report.overBound + orphans + report.reusedTokens + leaks
}
console.log(
  `\n${violations === 0 ? "OK" : "FAILED"}: ${violations} violations in ${((Date.now() - started) / 1000).toFixed(0)} s`
)
process.exitCode = violations === 0 ? 0 : 1
