/**
 * Late answers (issue 12): a request that creates something (session/new, convert/4, v4 access_token) goes on after
 * its caller stops waiting, for `lateAnswerGrace`, and what it creates then is deleted in the client's background.
 * Cleanups are deletes, safe to repeat: a transient failure is tried again within the grace. On the fused path the
 * keeping costs two timers (tmdbClient.ts); elsewhere `keepingLateAnswer` runs the attempt in a fiber of its own.
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { isRetryableWhenRepeatable } from "../RetryPolicy.js"
import type { TransportError } from "../TmdbError.js"

/** What to do with an answer that comes after the caller stopped waiting (a session: delete it). */
export interface LateAnswer<A> {
  /** What the answer creates, for the debug log: "a session". */
  readonly what: string
  readonly cleanup: (value: A) => Effect.Effect<void, unknown>
}

/** How many requests may be left to finish in the background at once (see `keepingLateAnswer`). */
export const MAX_LATE_ANSWERS = 1000

/** When a cleanup whose own retries ran out tries again: 1 s, doubling up to 30 s, jittered. */
const cleanupSchedule = Schedule.min([Schedule.exponential("1 second"), Schedule.spaced("30 seconds")]).pipe(
  Schedule.jittered
)

type Fork = <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<Fiber.Fiber<A, E>>

/** Late answers of one client: `forkBackground` runs kept attempts, `forkCleanup` the cleanups (the layer's scope). */
export const makeLateAnswers = (options: {
  readonly forkBackground: Fork
  readonly forkCleanup: Fork
  readonly lateAnswerGrace: Duration.Input
  /** How long a caller waits for its answer. */
  readonly timeout: Duration.Duration
  readonly timeoutError: (endpoint: string) => TransportError
}) => {
  const { forkBackground, forkCleanup, lateAnswerGrace, timeout, timeoutError } = options
  /**
   * A cleanup (a delete: safe to repeat) whose own retries ran out on a transient failure (the network, a 5xx, 429s
   * under a limit) tries again, 1 s apart doubling up to 30 s, jittered, until the caller's bound (`lateAnswerGrace`)
   * ends it: a session left at TMDB is what a cleanup exists to prevent.
   */
  const persisting = <E>(effect: Effect.Effect<void, E>): Effect.Effect<void, E> =>
    Effect.retry(effect, {
      schedule: cleanupSchedule,
      while: (error) =>
        typeof error === "object" && error !== null && "_tag" in error &&
        isRetryableWhenRepeatable(true, error as { readonly _tag: string })
    })

  /**
   * The one place cleanups run: the client's background (the layer's scope), bounded by `lateAnswerGrace`, a
   * transient failure tried again (see `persisting`).
   */
  const background = <E>(what: string, effect: Effect.Effect<void, E>) =>
    forkCleanup(
      persisting(effect).pipe(
        Effect.timeoutOrElse({
          duration: lateAnswerGrace,
          orElse: () => Effect.fail({ message: "lateAnswerGrace ran out" })
        }),
        // Forked from a finalizer, a fiber would inherit its uninterruptibility: closing the layer could not stop it.
        Effect.interruptible,
        Effect.catchCause((cause) =>
          Cause.hasInterruptsOnly(cause)
            ? Effect.void
            : Effect.logWarning(`${what}: did not complete in the background`, cause)
        )
      )
    )

  /** Work whose answer may come after its caller stopped waiting: at most MAX_LATE_ANSWERS at once; then inline. */
  const pending = { count: 0 }

  /** Hands a late answer to its cleanup (tried again while transient, within the grace), logged at debug. */
  const lateCleanup = <A>(late: LateAnswer<A>, endpoint: string, value: A) =>
    persisting(late.cleanup(value)).pipe(
      Effect.timeoutOrElse({
        duration: lateAnswerGrace,
        orElse: () => Effect.fail({ message: "lateAnswerGrace ran out" })
      }),
      Effect.andThen(Effect.logDebug(`${late.what} that came after its caller stopped waiting was deleted`)),
      Effect.catchCause((cause) =>
        Effect.logDebug(`${late.what} that came after its caller stopped waiting could not be deleted`, cause)
      ),
      Effect.annotateLogs({ endpoint })
    )

  /**
   * A late answer that failed, logged at debug: a garbled body (MalformedResponse) may hide something TMDB created
   * that no client can learn; a transport failure leaves it unknown.
   */
  const lateUnreadable = (late: { readonly what: string }, endpoint: string, error: unknown) =>
    Effect.logDebug(`${late.what} that came after its caller stopped waiting could not be read`).pipe(
      Effect.annotateLogs({ endpoint, error: (error as { readonly _tag?: string } | undefined)?._tag ?? "unknown" })
    )

  /**
   * Runs one attempt (timed after the grace period) in a background fiber; the caller waits for its answer at most
   * `timeout` from the moment the request goes on the wire (`sent`: admission's wait is not counted, as for any
   * request). When the caller stops waiting (its timeout, or an interruption) before the answer, the work goes on for
   * the grace period, and a success that comes late is handed to `late.cleanup` (logged at debug, never with the
   * value). A caller interrupted before its request was sent takes it back: nothing was sent. A failure of the work
   * itself is the caller's, as for any attempt.
   */
  const keepingLateAnswer = <A, E>(
    work: (sent: Deferred.Deferred<void>) => Effect.Effect<A, E>,
    endpoint: string,
    late: LateAnswer<A>
  ): Effect.Effect<A, E | TransportError> =>
    Effect.flatMap(Effect.zip(Deferred.make<void>(), Deferred.make<A, E>()), ([sent, answer]) => {
      const state: { abandoned: boolean; result: Exit.Exit<A, E> | undefined } = { abandoned: false, result: undefined }
      const cleanUp = (value: A) => lateCleanup(late, endpoint, value)
      const attemptInBackground = work(sent).pipe(
        Effect.exit,
        Effect.flatMap((exit) => {
          state.result = exit
          if (!state.abandoned) return Deferred.done(answer, exit)
          if (Exit.isSuccess(exit)) return cleanUp(exit.value)
          const failure = Cause.findErrorOption(exit.cause)
          return Option.isSome(failure) ? lateUnreadable(late, endpoint, failure.value) : Effect.void
        }),
        // Whatever happened, the caller's wait for the request to be sent is over.
        Effect.ensuring(Effect.andThen(
          Deferred.succeed(sent, undefined),
          Effect.sync(() => {
            if (state.abandoned) pending.count -= 1
          })
        ))
      )
      return Effect.flatMap(forkBackground(attemptInBackground), (fiber) =>
        Deferred.await(sent).pipe(
          Effect.andThen(
            Deferred.await(answer).pipe(
              Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.fail(timeoutError(endpoint)) })
            )
          ),
          Effect.onExit((exit) => {
            if (Exit.isSuccess(exit) || (state.result !== undefined && Exit.isFailure(state.result))) return Effect.void
            // The caller stopped waiting: the work goes on (or is taken back, if nothing was sent yet), or its success
            // came too late to be handed over.
            if (state.result === undefined) {
              state.abandoned = true
              pending.count += 1
              return Effect.flatMap(Deferred.isDone(sent), (wasSent) =>
                wasSent ? Effect.void : Effect.withFiber((self) => {
                  // Not awaited, as the request is not: its interruption runs on.
                  fiber.interruptUnsafe(self.id)
                  return Effect.void
                }))
            }
            return Effect.asVoid(background(late.what, cleanUp(state.result.value)))
          })
        ))
    })

  return { background, lateCleanup, lateUnreadable, keepingLateAnswer, pending }
}
