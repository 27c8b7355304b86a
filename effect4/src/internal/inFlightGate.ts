/**
 * The cap on requests in flight, the first part of admission control (docs/admission.md): the permits and their FIFO
 * (core/permitQueue.ts), waited for as effects.
 */
import * as Effect from "effect/Effect"
import { PermitQueue } from "../../core/permitQueue.js"

export type { Waiter } from "../../core/permitQueue.js"

/**
 * The cap on requests in flight as effects. Interrupting a waiter removes it from the queue; a permit granted to a
 * fiber interrupted at that very moment is passed on.
 */
export class InFlightGate extends PermitQueue {
  /** Waits for a permit: taken at once while one is free, else a place in the queue. */
  private readonly acquire: Effect.Effect<void> = Effect.suspend(() => this.tryTake() ? Effect.void : this.wait)

  private readonly wait: Effect.Effect<void> = Effect.withFiber((fiber) =>
    Effect.callback<void>((resume) => {
      if (this.tryTake()) return resume(Effect.void)
      // Granted inside another fiber's `release`: resumed from the scheduler, not inside that fiber's run.
      const waiter = this.enqueue(() => fiber.currentDispatcher.scheduleTask(() => resume(Effect.void), 0))
      return Effect.sync(() => {
        if (waiter.state === "granted") this.release()
        waiter.state = "cancelled"
      })
    })
  )

  private readonly releaseEffect: Effect.Effect<void> = Effect.sync(() => this.release())

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
      Effect.andThen(
        restore(this.acquire),
        Effect.matchCauseEffect(restore(effect), {
          onFailure: (cause) => Effect.andThen(release, Effect.failCause(cause)),
          onSuccess: (a) =>
            onSuccess === undefined
              ? Effect.as(release, a)
              : Effect.matchCauseEffect(onSuccess(a), {
                onFailure: (cause) => Effect.andThen(release, Effect.failCause(cause)),
                onSuccess: () => Effect.as(release, a)
              })
        })
      )
    )
  }
}
