import * as HttpClient from "@effect/platform/HttpClient"
import { describe, expect, it } from "@effect/vitest"
import { DateTime, Duration, Effect, Fiber, Layer, Ref, Schema, TestClock } from "effect"
import type { AdmissionOptions, TmdbConfigSettings } from "../src/index.js"
import { AuthService, Session, TmdbClient, TmdbConfig } from "../src/index.js"
import { LearnedRate } from "../src/internal/admission.js"
import type { FakeTmdbOptions } from "../src/testing/index.js"
import { FakeTmdb, Fault } from "../src/testing/index.js"

/** Counts the requests on the wire at once, around FakeTmdb's in-memory client. */
class InFlight extends Effect.Service<InFlight>()("test/InFlight", {
  effect: Effect.map(Ref.make({ now: 0, max: 0 }), (ref) => ({ ref }))
}) {}

const countingClient = Layer.effect(
  HttpClient.HttpClient,
  Effect.gen(function*() {
    const { ref } = yield* InFlight
    const client = yield* HttpClient.HttpClient
    return HttpClient.transform(client, (effect) =>
      Effect.acquireUseRelease(
        Ref.update(ref, ({ max, now }) => ({ now: now + 1, max: Math.max(max, now + 1) })),
        () => effect,
        () => Ref.update(ref, (s) => ({ ...s, now: s.now - 1 }))
      ))
  })
)

/** AuthService and TmdbClient over FakeTmdb (in memory, TestClock time), counting requests in flight. */
const setup = (fake: FakeTmdbOptions = {}, settings: TmdbConfigSettings = {}) => {
  // One fake: the same layer value is built once in the graph.
  const fakeLayer = FakeTmdb.layer(fake)
  return AuthService.layer.pipe(
    Layer.provideMerge(TmdbConfig.layer({ accessToken: FakeTmdb.defaults.accessToken, ...settings })),
    Layer.provideMerge(countingClient.pipe(Layer.provide(fakeLayer))),
    Layer.provideMerge(Layer.merge(fakeLayer, InFlight.Default))
  )
}

/** The fake's log: milliseconds since the epoch (TestClock starts there) and status, per request. */
const log = Effect.flatMap(FakeTmdb, (fake) => fake.requests).pipe(
  Effect.map((requests) => requests.map((r) => ({ at: DateTime.toEpochMillis(r.at), status: r.status })))
)

/** Moves TestClock in small steps until the fiber is done (or the limit is reached). */
const runToEnd = <A, E>(fiber: Fiber.RuntimeFiber<A, E>, step: Duration.DurationInput = "10 millis", limit = 100_000) =>
  Effect.gen(function*() {
    for (let i = 0; i < limit && (yield* fiber.poll)._tag === "None"; i++) yield* TestClock.adjust(step)
    return yield* Fiber.join(fiber)
  })

const admission = (options: AdmissionOptions): TmdbConfigSettings => ({ admission: options })

describe("admission control", () => {
  it.effect("the in-flight cap holds: never more requests on the wire than maxInFlight", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* fake.fail("*", ...Array.from({ length: 10 }, () => Fault.Delay({ duration: "1 second" })))
      const fiber = yield* Effect.fork(Effect.all(Array.from({ length: 10 }, () => auth.createRequestToken), {
        concurrency: "unbounded"
      }))
      yield* runToEnd(fiber, "100 millis")
      const { ref } = yield* InFlight
      expect((yield* Ref.get(ref)).max).toBe(3)
      // 10 requests of one second each, 3 at a time: 4 rounds.
      expect(yield* TestClock.currentTimeMillis).toBe(4000)
    }).pipe(Effect.provide(setup({}, admission({ maxInFlight: 3 })))))

  it.effect("against a server that never answers 429 it adds no waiting: 50 calls at once end at time 0", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const tokens = yield* Effect.all(Array.from({ length: 50 }, () => auth.createRequestToken), {
        concurrency: "unbounded"
      })
      expect(tokens).toHaveLength(50)
      expect(yield* TestClock.currentTimeMillis).toBe(0)
    }).pipe(Effect.provide(setup())))

  it.effect("a 429 pauses everyone for its Retry-After; then requests are released spread out, and none fails", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fiber = yield* Effect.fork(Effect.all(Array.from({ length: 20 }, () => auth.createRequestToken), {
        concurrency: "unbounded"
      }))
      const tokens = yield* runToEnd(fiber)
      expect(tokens).toHaveLength(20)
      const requests = yield* log
      const first429 = requests.find((r) => r.status === 429)!
      expect(first429.at).toBe(0)
      // The pause: after the first 429 at t=0 (Retry-After: 1), nobody sends before t=1000.
      expect(requests.filter((r) => r.at > 0 && r.at < 1000)).toEqual([])
      // The 429s all came from the first wave, before the limit was learned: at most one in-flight window.
      const limited = requests.filter((r) => r.status === 429)
      expect(limited.every((r) => r.at === 0)).toBe(true)
      expect(limited.length).toBeLessThanOrEqual(20)
      // Spread: after the pause, requests come one at a time at the learned rate (5/s * 0.95), never as a wave.
      const later = requests.filter((r) => r.at >= 1000).map((r) => r.at)
      expect(later.length).toBe(15)
      for (let i = 1; i < later.length; i++) expect(later[i]! - later[i - 1]!).toBeGreaterThanOrEqual(200)
      expect(later.every((at, i) => i === 0 || at !== later[i - 1])).toBe(true)
    }).pipe(Effect.provide(setup({ rateLimit: { requests: 5, window: "1 second" } }))))

  it.effect("an explicit limit is obeyed as given: 5 per second, evenly spaced (5% headroom), no 429", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fiber = yield* Effect.fork(Effect.all(Array.from({ length: 20 }, () => auth.createRequestToken), {
        concurrency: "unbounded"
      }))
      yield* runToEnd(fiber)
      const requests = yield* log
      expect(requests.map((r) => r.status)).toEqual(Array.from({ length: 20 }, () => 200))
      // One every 200 ms / 0.95: never more than 5 in any second, and no slower than the headroom.
      const interval = 200 / 0.95
      const times = requests.map((r) => r.at)
      times.forEach((at, i) => expect(Math.abs(at - i * interval)).toBeLessThanOrEqual(1))
    }).pipe(Effect.provide(setup(
      { rateLimit: { requests: 5, window: "1 second" } },
      admission({ rateLimit: { limit: 5, window: "1 second" } })
    ))))

  it.effect("the app's own calls through TmdbClient and AuthService's share one gate", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const tmdb = yield* TmdbClient
      const fake = yield* FakeTmdb
      yield* fake.fail("*", ...Array.from({ length: 4 }, () => Fault.Delay({ duration: "1 second" })))
      const own = tmdb.request({
        method: "GET",
        path: "/3/authentication",
        response: Schema.Struct({ success: Schema.Boolean })
      })
      const fiber = yield* Effect.fork(Effect.all([auth.createRequestToken, own, auth.validateKey, own], {
        concurrency: "unbounded"
      }))
      yield* runToEnd(fiber, "100 millis")
      expect((yield* Ref.get((yield* InFlight).ref)).max).toBe(1)
      expect(yield* TestClock.currentTimeMillis).toBe(4000)
    }).pipe(Effect.provide(setup({}, admission({ maxInFlight: 1 })))))

  it.effect("interrupting a queued call removes it from the queue: it never reaches TMDB", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* fake.fail("*", Fault.Delay({ duration: "5 seconds" }))
      const slow = yield* Effect.fork(auth.createRequestToken)
      yield* TestClock.adjust("1 millis")
      const queued = yield* Effect.fork(auth.createGuestSession)
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(queued)
      yield* TestClock.adjust("4 seconds")
      yield* Fiber.join(slow)
      yield* auth.validateKey
      expect((yield* fake.requests).map((r) => r.path)).toEqual([
        "/3/authentication/token/new",
        "/3/authentication"
      ])
    }).pipe(Effect.provide(setup({}, admission({ maxInFlight: 1 })))))

  it.effect("admission: false sends at once, however many", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* fake.fail("*", ...Array.from({ length: 30 }, () => Fault.Delay({ duration: "1 second" })))
      const fiber = yield* Effect.fork(
        Effect.all(Array.from({ length: 30 }, () => auth.validateKey), { concurrency: "unbounded" })
      )
      yield* runToEnd(fiber, "100 millis")
      expect((yield* Ref.get((yield* InFlight).ref)).max).toBe(30)
    }).pipe(Effect.provide(setup({}, { admission: false }))))
})

describe("LearnedRate", () => {
  const answered = { _tag: "Answered" } as const
  const limited = (retryAfterMillis = 1000) => ({ _tag: "RateLimited", retryAfterMillis }) as const

  it("learns nothing, and paces nothing, until TMDB limits the client", () => {
    const rate = new LearnedRate()
    for (let i = 0; i < 100; i++) rate.record(i, answered)
    expect(rate.rate).toBeUndefined()
    expect(rate.nextSendAt(100)).toBe(100)
    rate.take(100)
    expect(rate.nextSendAt(100)).toBe(100)
  })

  it("a first 429 sets the rate from the successes of the last second and pauses for Retry-After", () => {
    const rate = new LearnedRate()
    for (let i = 0; i < 50; i++) rate.record(i, answered)
    rate.record(60, limited(1000))
    expect(rate.rate).toBeCloseTo(48.5)
    expect(rate.pausedUntil).toBe(1060)
    expect(rate.nextSendAt(100)).toBe(1060)
    rate.take(1060)
    expect(rate.nextSendAt(1060)).toBeCloseTo(1060 + 1000 / 48.5)
  })

  it("lowers the rate once per Retry-After period, not once per 429", () => {
    const rate = new LearnedRate()
    for (let i = 0; i < 50; i++) rate.record(i, answered)
    for (let i = 0; i < 20; i++) rate.record(60 + i, limited(1000))
    expect(rate.rate).toBeCloseTo(48.5)
  })

  it("a lone 429 among many successes does not pause the others, nor lower the learned rate", () => {
    const rate = new LearnedRate()
    for (let i = 0; i < 50; i++) rate.record(i, answered)
    rate.record(50, limited(1000))
    const learned = rate.rate!
    // Two seconds later, at the learned rate: 95 answers, then one 429.
    for (let t = 2000; t < 4000; t += 20) rate.record(t, answered)
    rate.record(4000, limited(1000))
    expect(rate.pausedUntil).toBe(1050)
    expect(rate.rate).toBe(learned)
  })

  it("two 429s that make a tenth of the last second's answers pause everyone again", () => {
    const rate = new LearnedRate()
    for (let i = 0; i < 50; i++) rate.record(i, answered)
    rate.record(50, limited(1000))
    for (let t = 2000; t < 3000; t += 100) rate.record(t, answered)
    rate.record(3000, limited(1000))
    expect(rate.pausedUntil).toBe(1050)
    rate.record(3010, limited(1000))
    expect(rate.pausedUntil).toBe(4010)
  })

  it("sustained success while requests wait for their slot raises the rate again", () => {
    const rate = new LearnedRate()
    for (let i = 0; i < 50; i++) rate.record(i, answered)
    rate.record(50, limited(1000))
    const learned = rate.rate!
    let now = 1050
    for (let second = 0; second < 8; second++) {
      for (let i = 0; i < 50; i++) {
        rate.waited()
        now = Math.max(now, rate.nextSendAt(now))
        rate.take(now)
        rate.record(now, answered)
      }
    }
    expect(rate.rate!).toBeGreaterThan(learned)
  })

  it("a send a little late keeps the schedule; after a stall the schedule starts again from now (no wave)", () => {
    const rate = new LearnedRate()
    for (let i = 0; i < 50; i++) rate.record(i, answered)
    rate.record(50, limited(1000))
    const interval = 1000 / rate.rate!
    rate.take(1050)
    rate.take(1050 + interval + 2) // two milliseconds late: the next slot stays on the schedule
    expect(rate.nextSendAt(1050 + interval + 2)).toBeCloseTo(1050 + 2 * interval)
    rate.take(1050 + 2 * interval + 500) // half a second late: the next one is an interval after now
    expect(rate.nextSendAt(1050 + 2 * interval + 500)).toBeCloseTo(1050 + 3 * interval + 500)
  })
})

describe("TmdbClient.request", () => {
  const Account = Schema.Struct({ id: Schema.Number, username: Schema.String, name: Schema.String })

  it.effect("an app's own call with a session: GET /3/account against FakeTmdb, session_id in the query", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const tmdb = yield* TmdbClient
      const session = yield* auth.login({ username: "demo", password: "demo-password" })
      const account = yield* tmdb.request({ method: "GET", path: "/3/account", session, response: Account })
      expect(account.username).toBe("demo")
      expect(typeof account.id).toBe("number")
      yield* auth.deleteSession(session)
      // 401 with code 3 on a request with a session: the session is not valid.
      const error = yield* Effect.flip(tmdb.request({ method: "GET", path: "/3/account", session, response: Account }))
      expect(error._tag).toBe("SessionNotFound")
      expect(error).toMatchObject({ statusCode: 3, httpStatus: 401 })
    }).pipe(Effect.provide(setup())))

  it.effect("code 3 without a session is InvalidApiKey", () =>
    Effect.gen(function*() {
      const tmdb = yield* TmdbClient
      const error = yield* Effect.flip(tmdb.request({ method: "GET", path: "/3/account", response: Account }))
      expect(error._tag).toBe("InvalidApiKey")
    }).pipe(Effect.provide(setup())))

  it.effect("query parameters and a JSON body reach TMDB; the raw httpClient is authenticated", () =>
    Effect.gen(function*() {
      const tmdb = yield* TmdbClient
      const fake = yield* FakeTmdb
      const response = yield* tmdb.httpClient.get("/3/authentication")
      expect(response.status).toBe(200)
      const unknown = new Session({ sessionId: Schema.decodeSync(Schema.Redacted(Schema.String))("nope") })
      const error = yield* Effect.flip(tmdb.request({
        method: "GET",
        path: "/3/account",
        query: { language: "en-US", page: 1, ignored: undefined },
        session: unknown,
        response: Account
      }))
      expect(error._tag).toBe("SessionNotFound")
      expect((yield* fake.requests).map((r) => r.credential)).toEqual(["bearer", "bearer"])
    }).pipe(Effect.provide(setup())))

  it.effect("a body JSON cannot encode fails as TransportError InvalidBody, nothing sent, never a throw", () =>
    Effect.gen(function*() {
      const tmdb = yield* TmdbClient
      const fake = yield* FakeTmdb
      const error = yield* Effect.flip(
        tmdb.request({ method: "POST", path: "/3/list", body: { n: BigInt(1) }, response: Schema.Unknown })
      )
      expect(error).toMatchObject({ _tag: "TransportError", reason: "InvalidBody", endpoint: "POST /3/list" })
      expect(yield* fake.requests).toEqual([])
    }).pipe(Effect.provide(setup())))

  it.effect("a request through TmdbClient waits for no one when admission is off, and decodes with the Schema", () =>
    Effect.gen(function*() {
      const tmdb = yield* TmdbClient
      const body = yield* tmdb.request({
        method: "GET",
        path: "/3/authentication/guest_session/new",
        response: Schema.Struct({ guest_session_id: Schema.Redacted(Schema.String), expires_at: Schema.String })
      })
      expect(body.expires_at).toMatch(/ UTC$/)
      expect(String(body.guest_session_id)).not.toMatch(/[0-9a-f]{32}/)
    }).pipe(Effect.provide(setup({}, { admission: false }))))
})

// Type-level: a session adds SessionNotFound to the error type; without one it is not there.
export const _typeCheck = Effect.gen(function*() {
  const tmdb = yield* TmdbClient
  const withSession = tmdb.request({
    method: "GET",
    path: "/3/account",
    session: new Session({ sessionId: Schema.decodeSync(Schema.Redacted(Schema.String))("x") }),
    response: Schema.Unknown
  })
  yield* Effect.catchTag(withSession, "SessionNotFound", () => Effect.void)
  // An optional session (Session | undefined) may be sent: SessionNotFound is in the type too.
  const maybe = undefined as Session | undefined
  yield* Effect.catchTag(
    tmdb.request({ method: "GET", path: "/3/account", session: maybe, response: Schema.Unknown }),
    "SessionNotFound",
    () => Effect.void
  )
  return Duration.zero
})
