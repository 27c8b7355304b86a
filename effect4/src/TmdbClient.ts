/**
 * The one pipeline every TMDB request goes through, the library's own and the app's: base URL, credential,
 * admission control, timeout, retries and TMDB's error table.
 *
 * @since 0.2.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import { makeClient } from "./internal/tmdbClient.js"
import type { GuestSession, Session } from "./Session.js"
import { TmdbConfig, type TmdbConfigShape } from "./TmdbConfig.js"
import type { EndpointErrorOf, EndpointErrorTag, RequestError, SessionNotFound } from "./TmdbError.js"
import { TmdbLimiter } from "./TmdbLimiter.js"

/**
 * The HTTP methods TMDB's API uses.
 *
 * @since 0.2.0
 */
export type TmdbMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE"

/**
 * One request for {@link TmdbClientShape.request}.
 *
 * @since 0.2.0
 */
export interface TmdbClientRequest<A, I, T extends EndpointErrorTag = never> {
  readonly method: TmdbMethod
  /** The path from the API origin, version included: `/3/account`. */
  readonly path: string
  /** Query parameters; `undefined` values are left out. */
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>> | undefined
  /** A JSON body. */
  readonly body?: unknown
  /** Adds `session_id` (a `Session`) or `guest_session_id` (a `GuestSession`) to the query, as TMDB expects. */
  readonly session?: Session | GuestSession | undefined
  /** Decodes the success body. */
  readonly response: Schema.Codec<A, I>
  /** The endpoint-specific errors this request may produce (`["SessionNotFound"]`); other codes become `TmdbError`. */
  readonly errors?: ReadonlyArray<T> | undefined
  /**
   * Safe to repeat (a GET always is): timeouts, broken connections, 5xx and garbled answers are then retried as for
   * a GET. Mark a DELETE or PUT whose repetition is harmless; never a POST that creates something.
   */
  readonly idempotent?: boolean | undefined
}

/**
 * `request`'s type: the error type holds `RequestError`, the `errors` named, and `SessionNotFound` when a session is
 * sent (TMDB answers 401 with code 3 for a session it does not know).
 *
 * @since 0.2.0
 */
export interface TmdbClientRequestFn {
  <A, I, T extends EndpointErrorTag = never>(
    options: TmdbClientRequest<A, I, T> & { readonly session?: undefined }
  ): Effect.Effect<A, RequestError | EndpointErrorOf<T>>
  <A, I, T extends EndpointErrorTag = never>(
    options: TmdbClientRequest<A, I, T>
  ): Effect.Effect<A, RequestError | SessionNotFound | EndpointErrorOf<T>>
}

/**
 * What {@link TmdbClient} provides.
 *
 * @since 0.2.0
 */
export interface TmdbClientShape {
  /** Sends a TMDB request through the whole pipeline and decodes the answer with `response`. */
  readonly request: TmdbClientRequestFn
  /**
   * The authenticated client (base URL, credential, admission control) without retries or decoding, for anything
   * `request` does not cover. Paths are relative to the API origin.
   */
  readonly httpClient: HttpClient.HttpClient
  /** The configuration it was built with. */
  readonly config: TmdbConfigShape
  /**
   * Runs cleanup work that outlives its caller (a late answer's session deleted, a delete that took longer than its
   * caller waits) where the client's background work runs: the layer's scope (closing it interrupts the work), detached
   * fibers for `TmdbClient.make`. The work is bounded by `lateAnswerGrace`: a transient failure (a `TransportError`,
   * a 5xx, a 429: `isRetryableWhenRepeatable(true, error)`) is tried again, 1 s apart doubling up to 30 s, until
   * then; a failure that ends it is logged as a warning. The work should be safe to repeat (a delete is).
   */
  readonly background: <E>(what: string, effect: Effect.Effect<void, E>) => Effect.Effect<Fiber.Fiber<void>>
  /**
   * How long a request made now would wait for admission, estimated: the pause and the rate's next slot, plus the
   * requests queued for a place in flight at the learned (or explicit) rate. Zero while TMDB has not limited the
   * client. For shedding load (the web login's `/login` answers 503 above 2 seconds), not a promise.
   *
   * @since 0.6.0
   */
  readonly admissionWait: Effect.Effect<Duration.Duration>
}

/**
 * Builds the client from the configuration, the context's `HttpClient` and, when provided, `TmdbLimiter`; work left to
 * finish in the background (a session whose answer came after its caller stopped waiting) is forked with `fork`.
 */
const makeWith = (
  fork: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<Fiber.Fiber<A, E>>,
  forkCleanup: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<Fiber.Fiber<A, E>> = fork
): Effect.Effect<TmdbClientShape, never, TmdbConfig | HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const config = yield* TmdbConfig
    const httpClient = yield* HttpClient.HttpClient
    const shared = yield* Effect.serviceOption(TmdbLimiter)
    const limiter = shared._tag === "Some" ? shared.value : yield* TmdbLimiter.make
    return makeClient(config, httpClient, limiter, fork, forkCleanup)
  })

/** The real clock, for what must not wait on a TestClock nobody moves. */
const liveClock = Context.get(Context.empty(), Clock.Clock)

/**
 * Background work starts in its forker's turn, as it would inline: a request handed to the background goes on the wire
 * before its caller can stop waiting (a fiber started on the scheduler's next turn may not be, and is then taken back).
 */
const startNow = { startImmediately: true } as const

// Without a scope, background work runs as detached fibers, each bounded by `lateAnswerGrace`.
const make = makeWith((effect) => Effect.forkDetach(effect, startNow))

/**
 * The TMDB client every request goes through: `AuthService` is built on it, and an app uses it for its own TMDB calls
 * (account, watchlist, ratings), which then share the admission gate, retries and error decoding with the library's.
 * `AuthService.layer` provides it too: an app that provides `AuthService.layer` gets the same `TmdbClient`, with one
 * admission gate for both.
 *
 * @example
 * ```ts
 * const Account = Schema.Struct({ id: Schema.Number, username: Schema.String })
 *
 * const program = Effect.gen(function*() {
 *   const auth = yield* AuthService
 *   const tmdb = yield* TmdbClient
 *   const session = yield* auth.login({ username, password })
 *   const account = yield* tmdb.request({ method: "GET", path: "/3/account", session, response: Account })
 * })
 * ```
 * @since 0.2.0
 */
export class TmdbClient extends Context.Service<TmdbClient, TmdbClientShape>()("effect-tmdb-auth/TmdbClient") {
  /** Builds the client from `TmdbConfig` and the context's `HttpClient` (and `TmdbLimiter` when provided). */
  static readonly make: Effect.Effect<TmdbClientShape, never, TmdbConfig | HttpClient.HttpClient> = make

  /**
   * The client as a layer (its background work, late answers being cleaned up, ends when the layer's scope closes).
   * Built once per layer graph: every service built with it in the same graph (as
   * `AuthService.layer` is) shares one admission gate.
   */
  static readonly layer: Layer.Layer<TmdbClient, never, TmdbConfig | HttpClient.HttpClient> = Layer.effect(
    TmdbClient,
    Effect.gen(function*() {
      // Background work (late answers, deletes that outlived their caller) belongs to the layer. Closing it gives the
      // pending cleanups (deletes) one request's timeout of real time to finish, then ends everything and says how
      // many were left undone. Real time: under TestClock, nothing would move it.
      const config = yield* TmdbConfig
      const scope = yield* Scope.make()
      const cleanups = new Set<Fiber.Fiber<unknown, unknown>>()
      yield* Effect.addFinalizer(() =>
        Effect.gen(function*() {
          const fibers = Array.from(cleanups)
          if (fibers.length > 0) {
            // In a fiber of its own: a finalizer cannot be interrupted by its own timeout.
            yield* Effect.forkDetach(
              Effect.interruptible(Effect.ignore(Effect.timeout(Fiber.awaitAll(fibers), config.timeout))).pipe(
                Effect.provideService(Clock.Clock, liveClock)
              )
            ).pipe(Effect.flatMap(Fiber.await))
            const left = fibers.filter((fiber) => fiber.pollUnsafe() === undefined).length
            if (left > 0) {
              yield* Effect.logWarning(
                `TmdbClient: closed with ${left} cleanup(s) unfinished (a session or token TMDB may still hold)`
              )
            }
          }
          yield* Scope.close(scope, Exit.void)
        })
      )
      const fork = <A, E>(effect: Effect.Effect<A, E>) => Effect.forkIn(effect, scope, startNow)
      return yield* makeWith(fork, (effect) =>
        Effect.tap(fork(effect), (fiber) =>
          Effect.sync(() => {
            cleanups.add(fiber)
            fiber.addObserver(() => cleanups.delete(fiber))
          })))
    })
  )
}
