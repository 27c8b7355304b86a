/**
 * Admission control: when a TMDB request may be sent. Three parts, each documented in docs/admission.md:
 *
 * - a cap on requests in flight (`InFlightGate`, a FIFO; waiting for it is interruptible and removes the waiter);
 * - a rate learned from TMDB's 429s (`LearnedRate`): unknown (no pacing at all) until TMDB first limits the client;
 *   then requests are paced one slot at a time, so that retries and queued requests are released spread out, never as
 *   a wave; a pause shared by every fiber honours the server's `Retry-After`;
 * - an explicit limit, when the user sets one, obeyed as given (`@effect/experimental`'s RateLimiter, in memory or on
 *   Redis: see `TmdbLimiter`).
 */
import type * as RateLimiter from "@effect/experimental/RateLimiter"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

import type { ExplicitLimit, Outcome, TmdbLimiterShape as LimiterShape } from "../TmdbLimiter.js"

export type { ExplicitLimit, LimiterShape, Outcome }

/** Share of 429s among the last second's answers from which a 429 is a limit being hit, not an accident. */
export const CLUSTER_SHARE = 0.1
/** The learned rate starts this far below the success rate observed when the limit was hit (30 ms of jitter a second). */
export const LEARN_FACTOR = 0.97
/** Below this share of the ceiling the rate recovers quickly (+10% a second), above it slowly (+1%). */
const RECOVERY_BAND = 0.9
/** "Sustained success": this long without any 429 before the rate goes up. */
const SUSTAINED_MILLIS = 5000
const MIN_RATE = 1
const BUCKET_MILLIS = 100
const BUCKETS = 10

/**
 * The rate TMDB is willing to answer, learned from its 429s: additive-increase/multiplicative-decrease around a
 * ceiling (the success rate seen when the limit was last hit). Pure state over millisecond timestamps from `Clock`.
 */
export class LearnedRate {
  /** Requests per second, or undefined while TMDB has never limited this client (then nothing is paced). */
  rate: number | undefined = undefined
  /** The success rate observed when the limit was last hit. */
  ceiling = 0
  /** An explicit limit paces the requests: a 429 is then a lone one unless many answers are 429s. */
  explicitLimit = false
  pausedUntil = 0
  private nextSlot = 0
  private decreaseLockedUntil = 0
  private lastLimitedAt = -Infinity
  private periodStart = 0
  private waitedThisPeriod = false
  private readonly answered = new Array<number>(BUCKETS).fill(0)
  private readonly limited = new Array<number>(BUCKETS).fill(0)
  private bucketAt = 0

  /**
   * When the next request may be sent: after any pause, and, once a rate is known, one interval after the previous
   * send. Nothing is reserved ahead: each fiber asks when it wakes, and the first to find the time come takes it.
   */
  nextSendAt(now: number): number {
    const start = Math.max(now, this.pausedUntil)
    return this.rate === undefined ? start : Math.max(start, this.nextSlot)
  }

  /**
   * Takes the send time that has come (`nextSendAt(now) <= now`). A send a little late (within one interval) keeps
   * the schedule, so timer lateness does not slow the rate; after a longer stall (GC, a busy CPU) the schedule starts
   * again from now, so the fibers that waited do not leave together.
   */
  take(now: number): void {
    if (this.rate === undefined) return
    const interval = 1000 / this.rate
    this.nextSlot = now - this.nextSlot <= interval ? this.nextSlot + interval : now + interval
  }

  /** Notes that a request had to wait for its turn (demand at the rate: the rate may grow). */
  waited(): void {
    this.waitedThisPeriod = true
  }

  record(now: number, outcome: Outcome): void {
    this.roll(now)
    if (outcome._tag === "Answered") {
      this.answered[this.bucketIndex(now)]! += 1
      this.maybeIncrease(now)
      return
    }
    this.limited[this.bucketIndex(now)]! += 1
    this.lastLimitedAt = now
    const answered = sum(this.answered)
    const limited = sum(this.limited)
    // Before anything is known, a 429 means the limit is reached; after, it takes a share of the answers (and more
    // than one: a single 429 among a handful of answers is not a pattern).
    const cluster = (this.rate === undefined && !this.explicitLimit) ||
      (limited >= 2 && limited / (answered + limited) >= CLUSTER_SHARE)
    if (now >= this.decreaseLockedUntil) {
      // One decrease per Retry-After period, as TCP reacts once per loss event.
      this.decreaseLockedUntil = now + outcome.retryAfterMillis
      if (cluster && answered > 0) {
        this.ceiling = answered
        this.rate = Math.max(MIN_RATE, Math.min(this.rate ?? Infinity, answered) * LEARN_FACTOR)
      } else if (!cluster && this.rate !== undefined) {
        // A lone 429 after the rate went up: back to the rate that held when the limit was learned.
        this.rate = Math.max(MIN_RATE, Math.min(this.rate, LEARN_FACTOR * this.ceiling))
      }
      this.periodStart = now
      this.waitedThisPeriod = false
    }
    // Everyone waits out the Retry-After. A 429 that comes back during a pause was sent before it began: it tells
    // nothing new and does not extend the pause.
    if (cluster && now >= this.pausedUntil) {
      this.pausedUntil = now + outcome.retryAfterMillis
      this.nextSlot = this.pausedUntil
    }
  }

  /** Holds everyone back until `until` (a pause another process reported). */
  pause(until: number): void {
    if (until <= this.pausedUntil) return
    this.pausedUntil = until
    this.nextSlot = Math.max(this.nextSlot, until)
  }

  /**
   * Each second in which requests waited for their slot, once TMDB has not limited the client for a while (sustained
   * success): the rate goes up.
   */
  private maybeIncrease(now: number): void {
    if (this.rate === undefined || now - this.periodStart < 1000) return
    if (this.waitedThisPeriod && now - this.lastLimitedAt >= SUSTAINED_MILLIS) {
      const step = this.rate < RECOVERY_BAND * this.ceiling ? 0.1 : 0.01
      this.rate = Math.max(this.rate + 0.5, this.rate * (1 + step))
      this.ceiling = Math.max(this.ceiling, this.rate)
    }
    this.periodStart = now
    this.waitedThisPeriod = false
  }

  private bucketIndex(now: number): number {
    return Math.floor(now / BUCKET_MILLIS) % BUCKETS
  }

  /** Clears the buckets that fell out of the last second. */
  private roll(now: number): void {
    const current = Math.floor(now / BUCKET_MILLIS)
    const stale = Math.min(BUCKETS, current - this.bucketAt)
    for (let i = 1; i <= stale; i++) {
      const index = (this.bucketAt + i) % BUCKETS
      this.answered[index] = 0
      this.limited[index] = 0
    }
    this.bucketAt = current
  }
}

const sum = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0)

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
      Effect.zipRight(token ?? Effect.void),
      Effect.zipRight(Effect.flatMap(Clock.currentTimeMillis, (now) => rate.pausedUntil > now ? loop : awaitSlot(rate)))
    )
  )
  return loop
}

/** Waits for this fiber's turn at `rate` (see `nextSendAt` and `take`); interruptible, and nothing to give back. */
export const awaitSlot = (rate: LearnedRate): Effect.Effect<void> =>
  Effect.clockWith((clock) => {
    const now = clock.unsafeCurrentTimeMillis()
    const at = rate.nextSendAt(now)
    if (at <= now) {
      rate.take(now)
      return Effect.void
    }
    rate.waited()
    // Whole milliseconds, rounded up: a clock of whole milliseconds then finds the time come when it wakes.
    return Effect.zipRight(Effect.sleep(Math.ceil(at - now)), awaitSlot(rate))
  })

/**
 * Headroom under an explicit limit: TMDB counts requests when they arrive, and arrival times jitter, so requests
 * spaced exactly at the limit would now and then arrive a little closer than that. 5% of the window absorbs 50 ms of
 * jitter per second of window.
 */
export const EXPLICIT_HEADROOM = 0.95

/**
 * The explicit limit as `@effect/experimental`'s RateLimiter takes it: one token per slot (no burst), the slots
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
      : Effect.zipRight(Effect.orDie(awaitToken(rateLimiter, limit)), awaitSlot(learned)),
  record: (outcome) =>
    Effect.clockWith((clock) => {
      learned.record(clock.unsafeCurrentTimeMillis(), outcome)
      return Effect.void
    }),
  pace: (now) => ({ nextSendAt: learned.nextSendAt(now), rate: learned.rate })
})

export interface Waiter {
  readonly grant: () => void
  state: "waiting" | "granted" | "cancelled"
}

/**
 * The cap on requests in flight: a FIFO of waiters, each released permit handed to exactly one of them. (Effect's
 * `Semaphore` wakes every waiter on each release, and each re-queues: with thousands of queued calls that is
 * quadratic work and garbage, measured at 3 GB of heap for 3,000 calls.) Interrupting a waiter removes it from the
 * queue; a permit granted to a fiber interrupted at that very moment is passed on.
 */
export class InFlightGate {
  private free: number
  private queue: Array<Waiter> = []
  private head = 0

  constructor(permits: number) {
    this.free = permits
  }

  /** How many calls wait for a permit. */
  get waiting(): number {
    return this.queue.length - this.head
  }

  /** Waits for a permit: taken at once while one is free, else a place in the queue. */
  private readonly acquire: Effect.Effect<void> = Effect.suspend(() => {
    if (this.free > 0) {
      this.free -= 1
      return Effect.void
    }
    return this.wait
  })

  private readonly wait: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.free > 0) {
      this.free -= 1
      return resume(Effect.void)
    }
    const waiter: Waiter = {
      state: "waiting",
      grant: () => resume(Effect.void)
    }
    this.queue.push(waiter)
    return Effect.sync(() => {
      if (waiter.state === "granted") this.release()
      waiter.state = "cancelled"
    })
  })

  private readonly releaseEffect: Effect.Effect<void> = Effect.sync(() => this.release())

  /** Takes a permit if one is free, without waiting. */
  tryTake(): boolean {
    if (this.free === 0) return false
    this.free -= 1
    return true
  }

  /**
   * Queues `grant`, called with the permit when it comes (inside the `release` that hands it over). The waiter is
   * cancelled by setting its state to `"cancelled"` while it waits; after the grant, the permit is the caller's.
   */
  enqueue(grant: () => void): Waiter {
    const waiter: Waiter = { state: "waiting", grant }
    this.queue.push(waiter)
    return waiter
  }

  /** Gives a permit back: to the first waiter still waiting, else to the pool. */
  release(): void {
    while (this.head < this.queue.length) {
      const waiter = this.queue[this.head]!
      this.queue[this.head] = undefined as unknown as Waiter
      this.head += 1
      if (waiter.state === "waiting") {
        waiter.state = "granted"
        this.compact()
        return waiter.grant()
      }
    }
    this.compact()
    this.free += 1
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
  }

  /**
   * Runs `effect` holding one permit: waits (interruptibly) for it, and always gives it back. `onSuccess` runs, still
   * holding the permit, when `effect` succeeds (the pipeline records the answer there).
   */
  withPermit<A, E, R>(
    effect: Effect.Effect<A, E, R>,
    onSuccess?: (a: A) => Effect.Effect<void>
  ): Effect.Effect<A, E, R> {
    const release = this.releaseEffect
    return Effect.uninterruptibleMask((restore) =>
      Effect.zipRight(
        restore(this.acquire),
        Effect.matchCauseEffect(restore(effect), {
          onFailure: (cause) => Effect.zipRight(release, Effect.failCause(cause)),
          onSuccess: (a) =>
            onSuccess === undefined
              ? Effect.as(release, a)
              : Effect.matchCauseEffect(onSuccess(a), {
                onFailure: (cause) => Effect.zipRight(release, Effect.failCause(cause)),
                onSuccess: () => Effect.as(release, a)
              })
        })
      )
    )
  }
}
