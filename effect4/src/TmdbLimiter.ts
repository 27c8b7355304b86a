/**
 * The rate side of admission control, as a service: the pause that honours TMDB's `Retry-After`, the rate learned
 * from its 429s, and an explicit limit. In-process by default; `TmdbLimiter.layerRedis` shares it between processes.
 *
 * @since 0.2.0
 */
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as RateLimiter from "effect/persistence/RateLimiter"
import * as Admission from "./internal/admission.js"
import { makeRedisLimiter } from "./internal/redisLimiter.js"

/**
 * How TMDB answered an admitted request, as far as admission is concerned: answered (anything but a 429), or rate
 * limited with the pause it asks for.
 *
 * @since 0.2.0
 */
export type Outcome =
  | { readonly _tag: "Answered" }
  | { readonly _tag: "RateLimited"; readonly retryAfterMillis: number }

/**
 * An explicit limit: at most `limit` requests per `window`.
 *
 * @since 0.2.0
 */
export interface ExplicitLimit {
  readonly limit: number
  readonly window: Duration.Duration
}

/**
 * What the admission gate of `TmdbClient` asks of a limiter.
 *
 * @since 0.2.0
 */
export interface TmdbLimiterShape {
  /** Waits until one request may be sent: after any pause, at the learned rate, within `limit` when one is given. */
  readonly admit: (limit: ExplicitLimit | undefined) => Effect.Effect<void>
  /**
   * How TMDB answered an admitted request: a limit confirmed from the 429s pauses everyone and lowers the rate (a
   * lone 429 does neither); other answers let it grow.
   */
  readonly record: (outcome: Outcome) => Effect.Effect<void>
  /**
   * Where pacing stands at `now` (epoch milliseconds): when the next request may go (after any pause and the rate's
   * next slot) and the learned rate per second (undefined until TMDB limits the client). For estimates only.
   *
   * @since 0.6.0
   */
  readonly pace?: ((now: number) => { readonly nextSendAt: number; readonly rate: number | undefined }) | undefined
}

/**
 * Options of {@link TmdbLimiter.layerRedis}. Other ioredis options (`password`, `db`, `tls`, ...) pass through.
 *
 * @since 0.2.0
 */
export interface RedisLimiterOptions {
  readonly host?: string | undefined
  readonly port?: number | undefined
  /** Prefix of this library's keys, so that several apps can share one Redis. Default `"tmdb:"`. */
  readonly prefix?: string | undefined
  /** How long one Redis command may take before the limiter falls back to this process alone. Default 1 second. */
  readonly commandTimeout?: Duration.Input | undefined
  readonly [option: string]: unknown
}

/**
 * The limiter behind `TmdbClient`'s admission gate. Without one in the context, each `TmdbClient` makes its own,
 * in-process; provide {@link TmdbLimiter.layerRedis} to share the limit and the pauses between processes.
 *
 * @since 0.2.0
 */
export class TmdbLimiter extends Context.Service<TmdbLimiter, TmdbLimiterShape>()("effect-tmdb-auth/TmdbLimiter") {
  /** An in-process limiter (what a `TmdbClient` makes when none is provided). */
  static readonly make: Effect.Effect<TmdbLimiterShape> = Effect.map(
    // A store of its own (`local`): never one memoized by an enclosing layer graph.
    RateLimiter.make.pipe(Effect.provide(RateLimiter.layerStoreMemory, { local: true })),
    (rateLimiter) => Admission.makeLimiter(rateLimiter, new Admission.LearnedRate())
  )

  /** {@link TmdbLimiter.make} as a layer: one in-process limiter for every `TmdbClient` built in the same graph. */
  static readonly layer: Layer.Layer<TmdbLimiter> = Layer.effect(TmdbLimiter, TmdbLimiter.make)

  /**
   * A limiter shared by every process that uses the same Redis (several workers behind one egress IP): the explicit
   * limit (`admission.rateLimit`) is one budget for all of them (`effect/persistence`'s RateLimiter, token bucket,
   * on a Redis store), and a pause that one process takes after TMDB's 429s holds them all back. The learned rate
   * stays per process.
   *
   * Needs `ioredis` (an optional peer dependency, loaded only here). If Redis cannot be reached, or a command takes
   * longer than `commandTimeout`, the process falls back to its in-process limiter for that request (a warning is
   * logged, at most every 10 seconds) and goes back to Redis once it answers: requests never hang on Redis.
   *
   * @example
   * ```ts
   * const Live = AuthService.layer.pipe(
   *   Layer.provide(TmdbLimiter.layerRedis({ host: "127.0.0.1", port: 6379, prefix: "myapp:tmdb:" })),
   *   Layer.provide(TmdbHttpClient.layer),
   *   Layer.provide(TmdbConfig.layer({ accessToken, admission: { rateLimit: { limit: 40, window: "1 second" } } }))
   * )
   * ```
   */
  static layerRedis(options: RedisLimiterOptions = {}): Layer.Layer<TmdbLimiter, Config.ConfigError> {
    return Layer.effect(TmdbLimiter, makeRedisLimiter(options))
  }
}
