/**
 * The cap on requests in flight, the first part of admission control (docs/admission.md): a FIFO of waiters, each
 * released permit handed to exactly one of them.
 */
import * as Effect from "effect/Effect"

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
