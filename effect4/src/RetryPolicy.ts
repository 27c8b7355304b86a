/**
 * When and how long to wait before repeating a failed TMDB request.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { type FailureFacts, retryableWhenRepeatable } from "../core/errorTable.js"
import type { RetryableError } from "./TmdbError.js"

/**
 * A retry policy: a `Schedule` fed with each retryable failure (`RateLimited`, `TmdbUnavailable`,
 * `TransportError`). Which failures reach it is decided by the library (see {@link isRetryable}); the schedule
 * decides how long to wait and when to give up. When it stops, the last failure is returned.
 *
 * @since 0.1.0
 */
export type RetrySchedule = Schedule.Schedule<unknown, RetryableError>

/**
 * Tuning for the default policy, or a `schedule` that replaces it.
 *
 * @since 0.1.0
 */
export type RetryOptions =
  | {
    /** Retries after the first attempt, at most. Default 5. */
    readonly maxRetries?: number | undefined
    /** Total time spent waiting between attempts, at most. Default 60 seconds. */
    readonly maxWait?: Duration.Input | undefined
    /** First backoff delay when the server sent no `Retry-After`; it doubles, with jitter. Default 1 second. */
    readonly initialDelay?: Duration.Input | undefined
    /** The longest single wait a `Retry-After` header may impose. Default 30 seconds. */
    readonly maxRetryAfter?: Duration.Input | undefined
    /**
     * How many times `login` and `scopedSession` start over with a fresh request token when `validate_with_login` or
     * `session/new` fails without telling whether TMDB acted (a timeout, a broken connection, a garbled answer, a 5xx).
     * Counted apart from `maxRetries`. Default 3.
     *
     * @since 0.6.0
     */
    readonly maxRestarts?: number | undefined
  }
  | {
    /** Your own policy; replaces the default entirely. `Schedule.recurs(0)` disables retries. */
    readonly schedule: RetrySchedule
    /** As above: how many times a login starts over after an ambiguous failure. Default 3. */
    readonly maxRestarts?: number | undefined
  }

/**
 * The defaults of {@link retrySchedule}.
 *
 * @since 0.1.0
 */
export const defaultRetryOptions = {
  maxRetries: 5,
  maxRestarts: 3,
  maxWait: Duration.seconds(60),
  initialDelay: Duration.seconds(1),
  maxRetryAfter: Duration.seconds(30)
} as const

/**
 * The default policy: wait what `Retry-After` says when the failure carries it (capped at `maxRetryAfter`),
 * otherwise jittered exponential backoff from `initialDelay`; give up after `maxRetries` retries or when the next
 * wait would take the total past `maxWait`.
 *
 * @example
 * ```ts
 * TmdbConfig.layer({ accessToken, retry: { maxRetries: 2, maxWait: "10 seconds" } })
 * ```
 * @since 0.1.0
 */
export const retrySchedule = (options: RetryOptions = {}): RetrySchedule => {
  if ("schedule" in options) return options.schedule
  const maxRetries = options.maxRetries ?? defaultRetryOptions.maxRetries
  const maxWait = Duration.fromInputUnsafe(options.maxWait ?? defaultRetryOptions.maxWait)
  const initialDelay = options.initialDelay ?? defaultRetryOptions.initialDelay
  const maxRetryAfter = Duration.fromInputUnsafe(options.maxRetryAfter ?? defaultRetryOptions.maxRetryAfter)
  return Schedule.exponential(initialDelay).pipe(
    Schedule.jittered,
    Schedule.setInputType<RetryableError>(),
    Schedule.modifyDelay(({ duration: backoff, input: error }) =>
      Effect.succeed(
        "retryAfter" in error && error.retryAfter !== undefined
          ? Duration.min(error.retryAfter, maxRetryAfter)
          : backoff
      )
    ),
    upToTotalDelay(maxWait),
    Schedule.upTo({ times: maxRetries })
  )
}

/**
 * Stops a schedule before the wait that would take the sum of its delays past `budget`. (`Schedule.upTo` counts
 * elapsed time after the fact, so it does not stop in time.)
 */
const upToTotalDelay =
  (budget: Duration.Duration) =>
  <Out, In, E, R>(self: Schedule.Schedule<Out, In, E, R>): Schedule.Schedule<Out, In, E, R> => {
    const budgetMillis = Duration.toMillis(budget)
    return Schedule.fromStep(Effect.map(Schedule.toStep(self), (step) => {
      let waited = 0
      return (now: number, input: In) =>
        Effect.flatMap(step(now, input), ([out, delay]) => {
          const total = waited + Duration.toMillis(delay)
          if (total > budgetMillis) return Cause.done(out)
          waited = total
          return Effect.succeed([out, delay] as [Out, Duration.Duration])
        })
    }))
  }

/**
 * Whether a failure of a request with this HTTP method may be retried. Rate limiting (429, code 25) and
 * maintenance (503 with code 9 or 46) mean TMDB did not process the request, so any request may be repeated.
 * Other server errors, timeouts, broken connections and garbled answers may hide a request TMDB did process: only
 * GETs are repeated then (and requests marked `idempotent`, see {@link isRetryableWhenRepeatable}), because
 * repeating a POST such as `session/new` would consume the request token twice and come back as a confusing
 * `TokenExpired`.
 *
 * @since 0.1.0
 */
export const isRetryable = (method: string, error: { readonly _tag: string }): error is RetryableError =>
  isRetryableWhenRepeatable(method === "GET", error)

/**
 * {@link isRetryable} for a request that is, or is not, safe to repeat (a GET, or a request marked `idempotent`,
 * such as the delete of a session).
 *
 * @since 0.4.0
 */
export const isRetryableWhenRepeatable = (
  repeatable: boolean,
  error: { readonly _tag: string }
): error is RetryableError => retryableWhenRepeatable(repeatable, error as FailureFacts)
