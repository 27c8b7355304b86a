/**
 * The fused path of admission (BENCHMARKS.md, issues 11 and 21): where everything admission needs is at hand without
 * effects (the in-process limiter without an explicit limit, the live clock), the permit, the learned rate's slot,
 * the exchange and the answer's record happen in one callback-driven effect. A queued request is sent from the
 * `release` that hands it the permit, without waking its fiber; the fiber is resumed once, with the answer. When the
 * learned rate says to wait (a pause after a 429, or a learned rate), the permit goes back and the request takes the
 * effect path, which waits. Same admission, same FIFO, same records: only cheaper.
 */
import type * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { TransportError } from "../TmdbError.js"
import type { SyncAdmission } from "./admission.js"
import type { InFlightGate, Waiter } from "./inFlightGate.js"
import { answerOf, type Start, type WireAnswer, type WireRequest, type WireResult } from "./wireExchange.js"

/** What the fused path does with a request whose late answer is kept (see `keepingLateAnswer`). */
export interface LateHooks {
  /** How long the caller waits once the request is out. */
  readonly timeoutMillis: number
  /** The caller stopped waiting while the request is out. */
  readonly onAbandoned: () => void
  /** The answer (or failure) of a request its caller stopped waiting for. */
  readonly onLate: (result: WireResult) => void
}

/** The fused path hands a request back to the effect path (a wait is due): internal marker, never seen by callers. */
const TakeEffectPathId: unique symbol = Symbol.for("effect-tmdb-auth/TakeEffectPath")
export const takeEffectPath = Object.assign(
  new TransportError({ reason: "Transport", endpoint: "", description: "internal: effect path" }),
  { [TakeEffectPathId]: true }
)
/** Recognised by a property, not by identity: an error that crosses a span comes back wrapped. */
export const isTakeEffectPath = (error: unknown): boolean =>
  typeof error === "object" && error !== null &&
  (error as { readonly [TakeEffectPathId]?: boolean })[TakeEffectPathId] === true

/**
 * The fused exchange over `permits` and `slots`: `record` notes each answer; `effectPath` takes a request whose slot
 * is not due yet (with late answers kept, the caller's own effect path does: `takeEffectPath`).
 */
export const makeFused = (
  permits: InFlightGate,
  slots: SyncAdmission,
  record: (answer: WireAnswer, now: number) => void,
  effectPath: (
    wire: WireRequest,
    endpoint: string,
    limit: Duration.Duration,
    sent: Deferred.Deferred<void> | undefined
  ) => Effect.Effect<WireAnswer, TransportError>,
  timeoutError: (endpoint: string) => TransportError
) =>
(
  startExchange: Start,
  clock: Clock.Clock,
  wire: WireRequest,
  endpoint: string,
  limit: Duration.Duration,
  sent: Deferred.Deferred<void> | undefined,
  late?: LateHooks
) =>
  Effect.callback<WireAnswer, TransportError>((resume) => {
    let state: "queued" | "granted" | "sending" | "over" = "queued"
    let abandon: (() => void) | undefined
    let waiter: Waiter | undefined
    let abandoned = false
    let callerTimer: ReturnType<typeof setTimeout> | undefined
    const start = () => {
      if (state === "over") return permits.release() // interrupted between the grant and now
      if (!slots.tryAdmit(clock.currentTimeMillisUnsafe())) {
        state = "over"
        permits.release()
        return resume(
          late === undefined ? effectPath(wire, endpoint, limit, sent) : Effect.fail(takeEffectPath)
        )
      }
      state = "sending"
      if (sent !== undefined) Deferred.doneUnsafe(sent, Exit.void)
      abandon = startExchange(wire, endpoint, limit, (result) => {
        state = "over"
        if (callerTimer !== undefined) clearTimeout(callerTimer)
        const answer = answerOf(result)
        if (answer !== undefined) record(answer, clock.currentTimeMillisUnsafe())
        permits.release()
        if (abandoned) return late!.onLate(result)
        resume(result)
      })
      // With late answers kept, the caller waits `timeout` while the request goes on for the grace period.
      if (late !== undefined) {
        callerTimer = setTimeout(() => {
          if (state !== "sending") return
          abandoned = true
          late.onAbandoned()
          resume(Effect.fail(timeoutError(endpoint)))
        }, late.timeoutMillis)
      }
    }
    if (permits.tryTake()) {
      state = "granted"
      start()
    } else {
      // Granted inside another request's completion: sent on the next microtask, outside undici's callback.
      waiter = permits.enqueue(() => {
        state = "granted"
        queueMicrotask(start)
      })
    }
    return Effect.sync(() => {
      switch (state) {
        case "queued":
          waiter!.state = "cancelled"
          break
        case "granted":
          state = "over"
          break
        case "sending":
          if (late !== undefined) {
            // Interrupted while the request is out: it goes on; what it creates is cleaned up when it comes.
            if (callerTimer !== undefined) clearTimeout(callerTimer)
            if (!abandoned) late.onAbandoned()
            abandoned = true
            break
          }
          state = "over"
          abandon!()
          permits.release()
          break
      }
    })
  })
