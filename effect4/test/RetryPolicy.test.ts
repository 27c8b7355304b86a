import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Schedule } from "effect"
import type { RetryableError, RetryOptions } from "../src/index.js"
import { RateLimited, retrySchedule, TmdbUnavailable } from "../src/index.js"

const unavailable = new TmdbUnavailable({ endpoint: "GET /3/authentication", httpStatus: 503 })
const rateLimited = (seconds: number) =>
  new RateLimited({ endpoint: "GET /3/authentication", httpStatus: 429, retryAfter: Duration.seconds(seconds) })

/** The waits the policy asks for, failure after failure, until it gives up (`"stop"`). */
const waits = (options: RetryOptions, failures: ReadonlyArray<RetryableError>) =>
  Effect.gen(function*() {
    const step = yield* Schedule.toStep(retrySchedule(options))
    const out: Array<number | "stop"> = []
    for (const failure of failures) {
      const exit = yield* Effect.exit(step(0, failure))
      out.push(Exit.isSuccess(exit) ? Duration.toMillis(exit.value[1]) : "stop")
    }
    return out
  })

describe("retrySchedule", () => {
  it.effect("waits what Retry-After says, capped at maxRetryAfter", () =>
    Effect.gen(function*() {
      expect(yield* waits({ maxRetryAfter: "5 seconds" }, [rateLimited(2), rateLimited(3600)])).toEqual([2000, 5000])
    }))

  it.effect("without Retry-After backs off from initialDelay, doubling, with jitter (0.8 to 1.2)", () =>
    Effect.gen(function*() {
      const [first, second, third] = yield* waits({ initialDelay: "1 second" }, [unavailable, unavailable, unavailable])
      expect(first).toBeGreaterThanOrEqual(800)
      expect(first).toBeLessThanOrEqual(1200)
      expect(second).toBeGreaterThanOrEqual(1600)
      expect(second).toBeLessThanOrEqual(2400)
      expect(third).toBeGreaterThanOrEqual(3200)
      expect(third).toBeLessThanOrEqual(4800)
    }))

  it.effect("gives up after maxRetries retries", () =>
    Effect.gen(function*() {
      expect(yield* waits({ maxRetries: 2 }, [rateLimited(1), rateLimited(1), rateLimited(1)])).toEqual([
        1000,
        1000,
        "stop"
      ])
      expect(yield* waits({ maxRetries: 0 }, [rateLimited(1)])).toEqual(["stop"])
    }))

  it.effect("gives up before the wait that would take the total past maxWait", () =>
    Effect.gen(function*() {
      // 4 + 4 = 8 s; 8 + 3 = 11 s is past 10 s: stop before that wait.
      expect(yield* waits({ maxWait: "10 seconds" }, [rateLimited(4), rateLimited(4), rateLimited(3)])).toEqual([
        4000,
        4000,
        "stop"
      ])
      expect(yield* waits({ maxWait: "10 seconds" }, [rateLimited(4), rateLimited(4), rateLimited(2)])).toEqual([
        4000,
        4000,
        2000
      ])
      expect(yield* waits({ maxWait: 0 }, [rateLimited(1)])).toEqual(["stop"])
    }))

  it.effect("a schedule of your own replaces the default", () =>
    Effect.gen(function*() {
      expect(yield* waits({ schedule: Schedule.recurs(0) }, [rateLimited(1)])).toEqual(["stop"])
    }))
})
