import { describe, expect, it } from "@effect/vitest"
import { Clock, Context, DateTime, Duration, Effect, Fiber, Layer, Ref, Schema } from "effect"
import * as HttpClient from "effect/http/HttpClient"
import { TestClock } from "effect/testing"
import type { AdmissionOptions, TmdbConfigSettings } from "../src/index.js"
import { AuthService, Session, TmdbClient, TmdbConfig } from "../src/index.js"
import { LearnedRate } from "../src/internal/admission.js"
import type { FakeTmdbOptions } from "../src/testing/index.js"
import { FakeTmdb, Fault } from "../src/testing/index.js"

/** Counts the requests on the wire at once, around FakeTmdb's in-memory client. */
class InFlight extends Context.Service<InFlight, { readonly ref: Ref.Ref<{ now: number; max: number }> }>()(
  "test/InFlight"
) {
  static readonly layer = Layer.effect(InFlight, Effect.map(Ref.make({ now: 0, max: 0 }), (ref) => ({ ref })))
}

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
    Layer.provideMerge(Layer.merge(fakeLayer, InFlight.layer))
  )
}

/** The fake's log: milliseconds since the epoch (TestClock starts there) and status, per request. */
const log = Effect.flatMap(FakeTmdb, (fake) => fake.requests).pipe(
  Effect.map((requests) => requests.map((r) => ({ at: DateTime.toEpochMillis(r.at), status: r.status })))
)

/** Moves TestClock in small steps until the fiber is done (or the limit is reached). */
const runToEnd = <A, E>(fiber: Fiber.Fiber<A, E>, step: Duration.Input = "10 millis", limit = 100_000) =>
  Effect.gen(function*() {
    for (let i = 0; i < limit && fiber.pollUnsafe() === undefined; i++) yield* TestClock.adjust(step)
    return yield* Fiber.join(fiber)
  })

const admission = (options: AdmissionOptions): TmdbConfigSettings => ({ admission: options })

describe("admission control", () => {
  it.effect("the in-flight cap holds: never more requests on the wire than maxInFlight", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* fake.fail("*", ...Array.from({ length: 10 }, () => Fault.Delay({ duration: "1 second" })))
      const fiber = yield* Effect.forkChild(Effect.all(Array.from({ length: 10 }, () => auth.createRequestToken), {
        concurrency: "unbounded"
      }))
      yield* runToEnd(fiber, "100 millis")
      const { ref } = yield* InFlight
      expect((yield* Ref.get(ref)).max).toBe(3)
      // 10 requests of one second each, 3 at a time: 4 rounds.
      expect(yield* Clock.currentTimeMillis).toBe(4000)
    }).pipe(Effect.provide(setup({}, admission({ maxInFlight: 3 })))))

  it.effect("against a server that never answers 429 it adds no waiting: 50 calls at once end at time 0", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const tokens = yield* Effect.all(Array.from({ length: 50 }, () => auth.createRequestToken), {
        concurrency: "unbounded"
      })
      expect(tokens).toHaveLength(50)
      expect(yield* Clock.currentTimeMillis).toBe(0)
    }).pipe(Effect.provide(setup())))

  it.effect("a 429 pauses everyone for its Retry-After; then requests are released spread out, and none fails", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fiber = yield* Effect.forkChild(Effect.all(Array.from({ length: 20 }, () => auth.createRequestToken), {
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
      const fiber = yield* Effect.forkChild(Effect.all(Array.from({ length: 20 }, () => auth.createRequestToken), {
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
      const fiber = yield* Effect.forkChild(Effect.all([auth.createRequestToken, own, auth.validateKey, own], {
        concurrency: "unbounded"
      }))
      yield* runToEnd(fiber, "100 millis")
      expect((yield* Ref.get((yield* InFlight).ref)).max).toBe(1)
      expect(yield* Clock.currentTimeMillis).toBe(4000)
    }).pipe(Effect.provide(setup({}, admission({ maxInFlight: 1 })))))

  it.effect("interrupting a queued call removes it from the queue: it never reaches TMDB", () =>
    Effect.gen(function*() {
      const auth = yield* AuthService
      const fake = yield* FakeTmdb
      yield* fake.fail("*", Fault.Delay({ duration: "5 seconds" }))
      const slow = yield* Effect.forkChild(auth.createRequestToken)
      yield* TestClock.adjust("1 millis")
      const queued = yield* Effect.forkChild(auth.createGuestSession)
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
      const fiber = yield* Effect.forkChild(
        Effect.all(Array.from({ length: 30 }, () => auth.validateKey), { concurrency: "unbounded" })
      )
      yield* runToEnd(fiber, "100 millis")
      expect((yield* Ref.get((yield* InFlight).ref)).max).toBe(30)
    }).pipe(Effect.provide(setup({}, { admission: false }))))
})

describe("LearnedRate", () => {
  const answered = { _tag: "Answered" } as const
  const limited = (retryAfterMillis = 1000) => ({ _tag: "RateLimited", retryAfterMillis }) as const

  /** 50 answers in the first 50 ms, then five 429s in a row (the noise not measured yet): a limit confirmed at 54. */
  const learnt = () => {
    const rate = new LearnedRate()
    for (let i = 0; i < 50; i++) rate.record(i, answered)
    for (let i = 50; i < 55; i++) rate.record(i, limited(1000))
    return rate
  }

  /** A seeded stream of outcomes: `share` of them 429s at random, `perSecond` answers a second, for `seconds`. */
  const noisy = (rate: LearnedRate, from: number, seconds: number, perSecond: number, share: number, seed = 1) => {
    let state = seed
    const next = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648
    const end = from + seconds * 1000
    for (let t = from; t < end; t += 1000 / perSecond) {
      rate.record(t, next() < share ? limited(1000) : answered)
    }
    return end
  }

  it("learns nothing, and paces nothing, until TMDB limits the client", () => {
    const rate = new LearnedRate()
    for (let i = 0; i < 100; i++) rate.record(i, answered)
    expect(rate.rate).toBeUndefined()
    expect(rate.nextSendAt(100)).toBe(100)
    rate.take(100)
    expect(rate.nextSendAt(100)).toBe(100)
  })

  it("a first 429 paces provisionally and pauses no one; five in a row confirm the limit and pause everyone", () => {
    const rate = new LearnedRate()
    for (let i = 0; i < 50; i++) rate.record(i, answered)
    rate.record(50, limited(1000))
    // Provisional: 97% of the last second's successes, the next send one interval away, no pause.
    expect(rate.rate).toBeCloseTo(48.5)
    expect(rate.pausedUntil).toBe(0)
    expect(rate.nextSendAt(50)).toBeCloseTo(50 + 1000 / 48.5)
    for (let t = 51; t < 54; t++) rate.record(t, limited(1000))
    expect(rate.pausedUntil).toBe(0)
    rate.record(54, limited(1000))
    expect(rate.confirmations).toBe(1)
    expect(rate.rate).toBeCloseTo(48.5)
    expect(rate.pausedUntil).toBe(1054)
    expect(rate.nextSendAt(100)).toBe(1054)
    rate.take(1054)
    expect(rate.nextSendAt(1054)).toBeCloseTo(1054 + 1000 / 48.5)
  })

  it("once the noise is measured at 0, three 429s in a row confirm a limit", () => {
    const rate = new LearnedRate()
    for (let t = 0; t < 2000; t += 20) rate.record(t, answered)
    expect(rate.noise).toBe(0)
    for (let t = 2000; t < 2003; t++) rate.record(t, limited(1000))
    expect(rate.confirmations).toBe(1)
    expect(rate.pausedUntil).toBe(3002)
  })

  it("a provisional rate not confirmed within 10 answers is reverted: nothing is paced", () => {
    const rate = new LearnedRate()
    for (let i = 0; i < 50; i++) rate.record(i, answered)
    rate.record(50, limited(1000))
    for (let i = 0; i < 9; i++) rate.record(51 + i, answered)
    expect(rate.rate).toBeCloseTo(48.5)
    rate.record(60, answered)
    expect(rate.rate).toBeUndefined()
    expect(rate.pausedUntil).toBe(0)
    expect(rate.confirmations).toBe(0)
  })

  it("lowers the rate once per Retry-After period, not once per 429", () => {
    const rate = learnt()
    for (let i = 0; i < 20; i++) rate.record(60 + i, limited(1000))
    expect(rate.rate).toBeCloseTo(48.5)
    expect(rate.confirmations).toBe(1)
  })

  it("5% of answers 429 at random, 400 answers a second for 20 s: no pause, no rate, the noise floor measured", () => {
    const rate = new LearnedRate()
    noisy(rate, 0, 20, 400, 0.05)
    expect(rate.confirmations).toBe(0)
    expect(rate.pausedUntil).toBe(0)
    expect(rate.noise!).toBeGreaterThan(0.02)
    expect(rate.noise!).toBeLessThan(0.08)
    // Nothing paced: at most a provisional rate for the last few answers.
    expect(rate.rate === undefined || rate.rate > 350).toBe(true)
  })

  it("a limit learnt, then 5% random 429s at the learnt rate: the rate holds, no pause, no further decrease", () => {
    const rate = learnt()
    const learntRate = rate.rate!
    noisy(rate, 2000, 30, 48, 0.05, 7)
    expect(rate.confirmations).toBe(1)
    expect(rate.pausedUntil).toBe(1054)
    expect(rate.rate!).toBeGreaterThanOrEqual(learntRate)
  })

  it("with a noise floor of 5%, a block of 40 answers with a quarter of 429s (none in a row) confirms a limit", () => {
    const rate = new LearnedRate()
    const end = noisy(rate, 0, 10, 400, 0.05)
    expect(rate.confirmations).toBe(0)
    // Finish the block under way, then one with a 429 every fourth answer.
    let t = end
    while (rate.confirmations === 0 && t < end + 2500) {
      rate.record(t, (Math.round(t - end) % 4) === 3 ? limited(1000) : answered)
      t += 1
    }
    expect(rate.confirmations).toBe(1)
    expect(rate.pausedUntil).toBeGreaterThan(end)
  })

  it("a share of 429s over 25% confirms a limit whatever the noise floor", () => {
    const under = new LearnedRate()
    under.noise = 0.2
    for (let i = 0; i < 40; i++) under.record(30 * i, i % 5 === 4 ? limited(1000) : answered) // 20%
    expect(under.confirmations).toBe(0)
    const over = new LearnedRate()
    over.noise = 0.2
    for (let i = 0; i < 40; i++) over.record(30 * i, i % 3 === 2 ? limited(1000) : answered) // 13 of 40
    expect(over.confirmations).toBe(1)
  })

  it("where 429s are rare, a lone one after the rate went up brings it back to the learnt rate; noise lowers nothing", () => {
    const rate = learnt()
    rate.rate = rate.ceiling // as if sustained success had raised it
    rate.record(2999, answered)
    rate.record(3000, limited(1000))
    expect(rate.rate).toBeCloseTo(48.5)
    expect(rate.pausedUntil).toBe(1054)
    const noisyServer = learnt()
    noisyServer.noise = 0.05
    noisyServer.rate = noisyServer.ceiling
    noisyServer.record(2999, answered)
    noisyServer.record(3000, limited(1000))
    expect(noisyServer.rate).toBe(50)
    expect(noisyServer.pausedUntil).toBe(1054)
  })

  it("on a noisy server, a probe above the learnt rate meeting 429s beyond the noise goes back to it, with no pause", () => {
    const rate = learnt()
    rate.noise = 0.05
    rate.rate = 60 // a probe: above 97% of the ceiling (50)
    // 40 answers, a 429 every fifth (20%): beyond 5% noise, not enough to confirm a limit.
    for (let i = 0; i < 40; i++) rate.record(2000 + 25 * i, i % 5 === 4 ? limited(1000) : answered)
    expect(rate.rate).toBeCloseTo(48.5)
    expect(rate.confirmations).toBe(1)
    expect(rate.pausedUntil).toBe(1054)
  })

  it("a limit confirmed within a second of a pause lowers the rate by 3%, not to the few answers of the pause", () => {
    const rate = learnt()
    // Just after the pause: a few answers, then three 429s in a row.
    for (let t = 1060; t < 1100; t += 10) rate.record(t, answered)
    for (let t = 1100; t < 1105; t++) rate.record(t, limited(1000))
    expect(rate.confirmations).toBe(2)
    expect(rate.rate).toBeCloseTo(48.5 * 0.97)
  })

  it("answers that come back during a pause are not judged: 429s sent before it neither confirm again nor extend it", () => {
    const rate = learnt()
    for (let t = 100; t < 1000; t += 10) rate.record(t, limited(1000))
    expect(rate.confirmations).toBe(1)
    expect(rate.pausedUntil).toBe(1054)
  })

  it("sustained success while requests wait for their slot raises the rate again", () => {
    const rate = learnt()
    const learntRate = rate.rate!
    let now = 1054
    for (let second = 0; second < 8; second++) {
      for (let i = 0; i < 50; i++) {
        rate.waited()
        now = Math.max(now, rate.nextSendAt(now))
        rate.take(now)
        rate.record(now, answered)
      }
    }
    expect(rate.rate!).toBeGreaterThan(learntRate)
  })

  it("a send a little late keeps the schedule; after a stall the schedule starts again from now (no wave)", () => {
    const rate = learnt()
    const interval = 1000 / rate.rate!
    rate.take(1054)
    rate.take(1054 + interval + 2) // two milliseconds late: the next slot stays on the schedule
    expect(rate.nextSendAt(1054 + interval + 2)).toBeCloseTo(1054 + 2 * interval)
    rate.take(1054 + 2 * interval + 500) // half a second late: the next one is an interval after now
    expect(rate.nextSendAt(1054 + 2 * interval + 500)).toBeCloseTo(1054 + 3 * interval + 500)
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
      const unknown = new Session({ sessionId: Schema.decodeSync(Schema.RedactedFromValue(Schema.String))("nope") })
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
        response: Schema.Struct({
          guest_session_id: Schema.RedactedFromValue(Schema.String),
          expires_at: Schema.String
        })
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
    session: new Session({ sessionId: Schema.decodeSync(Schema.RedactedFromValue(Schema.String))("x") }),
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
