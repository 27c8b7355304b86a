/**
 * Admission control: when a TMDB request may be sent. Three parts, each documented in docs/admission.md:
 *
 * - a cap on requests in flight (`InFlightGate`, inFlightGate.ts: a FIFO; waiting for it is interruptible and removes
 *   the waiter);
 * - a rate learned from TMDB's 429s (`LearnedRate`): unknown (no pacing at all) until TMDB first limits the client;
 *   then requests are paced one slot at a time, so that retries and queued requests are released spread out, never as
 *   a wave; a pause shared by every fiber honours the server's `Retry-After`;
 * - an explicit limit, when the user sets one, obeyed as given (Effect's `persistence/RateLimiter`, in memory or on
 *   Redis: see `TmdbLimiter`).
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as RateLimiter from "effect/persistence/RateLimiter"

import { LearnedRate } from "../../core/learnedRate.js"
import type { ExplicitLimit, Outcome, TmdbLimiterShape as LimiterShape } from "../TmdbLimiter.js"

export type { ExplicitLimit, LimiterShape, Outcome }
export { binomialTail, BLOCK_ANSWERS, LEARN_FACTOR, LearnedRate, LIMIT_SHARE } from "../../core/learnedRate.js"

/** Waits until no pause holds. */
const awaitPause = (rate: LearnedRate): Effect.Effect<void> =>
  Effect.flatMap(
    Clock.currentTimeMillis,
    (now) => rate.pausedUntil > now ? Effect.sleep(rate.pausedUntil - now) : Effect.void
  )

/**
 * Admission: no pause, then the explicit limit's token (when there is one), then a slot of the learned rate. A pause
 * that began while waiting for the token voids it: the token is taken again after the pause, so that requests never
 * leave a pause together.
 */
export const admitWith = <E>(rate: LearnedRate, token: Effect.Effect<void, E> | undefined): Effect.Effect<void, E> => {
  const loop: Effect.Effect<void, E> = Effect.suspend(() =>
    awaitPause(rate).pipe(
      Effect.andThen(token ?? Effect.void),
      Effect.andThen(Effect.flatMap(Clock.currentTimeMillis, (now) => rate.pausedUntil > now ? loop : awaitSlot(rate)))
    )
  )
  return loop
}

/** Waits for this fiber's turn at `rate` (see `nextSendAt` and `take`); interruptible, and nothing to give back. */
export const awaitSlot = (rate: LearnedRate): Effect.Effect<void> =>
  Effect.clockWith((clock) => {
    const now = clock.currentTimeMillisUnsafe()
    const at = rate.nextSendAt(now)
    if (at <= now) {
      rate.take(now)
      return Effect.void
    }
    rate.waited()
    // Whole milliseconds, rounded up: a clock of whole milliseconds then finds the time come when it wakes.
    return Effect.andThen(Effect.sleep(Math.ceil(at - now)), awaitSlot(rate))
  })

/**
 * Headroom under an explicit limit: TMDB counts requests when they arrive, and arrival times jitter, so requests
 * spaced exactly at the limit would now and then arrive a little closer than that. 5% of the window absorbs 50 ms of
 * jitter per second of window.
 */
export const EXPLICIT_HEADROOM = 0.95

/**
 * The explicit limit as Effect's RateLimiter takes it: one token per slot (no burst), the slots
 * evenly spaced with the headroom above.
 */
export const consumeOptions = (limit: ExplicitLimit, key: string) => ({
  algorithm: "token-bucket" as const,
  onExceeded: "delay" as const,
  limit: 1,
  window: Duration.millis(Duration.toMillis(limit.window) / (limit.limit * EXPLICIT_HEADROOM)),
  key
})

/**
 * Waits for the explicit limit's next token, through a RateLimiter whose store may be shared. (Tokens are reserved
 * evenly spaced; fibers that wake late after a stall send together, but never more than the limit in any window,
 * since each sends in a slot the limit allowed.)
 */
export const awaitToken = (
  rateLimiter: RateLimiter.RateLimiter,
  limit: ExplicitLimit
): Effect.Effect<void, RateLimiter.RateLimiterError> =>
  Effect.flatMap(
    rateLimiter.consume(consumeOptions(limit, "explicit")),
    (result) => Duration.isZero(result.delay) ? Effect.void : Effect.sleep(result.delay)
  )

/**
 * Admission without effects, for the lean path (tmdbClient.ts): a limiter whose state lives in this process offers it.
 * `tryAdmit` takes the learned rate's slot when its time has come and says whether it did; it never waits.
 */
export interface SyncAdmission {
  readonly tryAdmit: (now: number) => boolean
  readonly record: (now: number, outcome: Outcome) => void
}

export const SyncAdmissionId: unique symbol = Symbol.for("effect-tmdb-auth/SyncAdmission")

/** The limiter's synchronous admission, if it has one (the in-process limiter without an explicit limit does). */
export const syncAdmissionOf = (limiter: LimiterShape): SyncAdmission | undefined =>
  (limiter as { readonly [SyncAdmissionId]?: SyncAdmission })[SyncAdmissionId]

/** The in-process limiter: the learned rate, and the explicit limit through an in-memory RateLimiter. */
export const makeLimiter = (
  rateLimiter: RateLimiter.RateLimiter,
  learned: LearnedRate
): LimiterShape & { readonly [SyncAdmissionId]: SyncAdmission } => ({
  [SyncAdmissionId]: {
    tryAdmit: (now) => {
      if (learned.nextSendAt(now) > now) return false
      learned.take(now)
      return true
    },
    record: (now, outcome) => learned.record(now, outcome)
  },
  // The in-memory store cannot fail.
  admit: (limit) =>
    limit === undefined
      ? awaitSlot(learned)
      : Effect.andThen(Effect.orDie(awaitToken(rateLimiter, limit)), awaitSlot(learned)),
  record: (outcome) =>
    Effect.clockWith((clock) => {
      learned.record(clock.currentTimeMillisUnsafe(), outcome)
      return Effect.void
    }),
  pace: (now) => ({ nextSendAt: learned.nextSendAt(now), rate: learned.rate })
})
