/**
 * The library's Redis connections (`TmdbLimiter.layerRedis`, `WebSessionStore.layerRedis`): an ioredis client of our
 * own with the same defaults and option names everywhere. It fails fast rather than hang: no offline queue, one
 * attempt per command, a command timeout (default 1 second), reconnection in the background; building waits for
 * `ready` at most that timeout (at least 1 second), and a Redis that is down then is logged, not a startup failure.
 */
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Redis as IoRedis, RedisOptions } from "ioredis"
import type { RedisConnectionOptions } from "./redisOptions.js"

export type { RedisConnectionOptions } from "./redisOptions.js"

export interface RedisConnection<R extends IoRedis> {
  readonly redis: R
  readonly timeoutMillis: number
  /** A command, failed with `onError(message, cause)` on an error or after the command timeout. */
  readonly command: <A, E>(
    run: () => Promise<A>,
    what: string,
    onError: (message: string, cause?: unknown) => E
  ) => Effect.Effect<A, E>
}

const errorText = (cause: unknown) => cause instanceof Error ? cause.message : String(cause)

/** Connects (scoped); `layer` names the layer in messages, `setup` defines scripts on the new client. */
export const connectRedis = <R extends IoRedis = IoRedis>(
  layer: string,
  options: RedisConnectionOptions,
  setup: (client: IoRedis) => void = () => {}
): Effect.Effect<RedisConnection<R>, ConfigError.ConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const { commandTimeout, ...redisOptions } = options
    const timeoutMillis = Duration.toMillis(Duration.decode(commandTimeout ?? "1 second"))
    const specifier = "ioredis" // a variable, so that bundlers do not pull ioredis into other builds
    const { Redis } = yield* Effect.tryPromise({
      try: () => import(/* @vite-ignore */ specifier) as Promise<typeof import("ioredis")>,
      catch: () =>
        ConfigError.Unsupported(
          ["ioredis"],
          `${layer} needs the optional peer dependency ioredis: npm install ioredis@^5`
        )
    })
    let lastError = "not connected yet"
    const redis = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const client = new Redis({
          ...(redisOptions as RedisOptions),
          lazyConnect: true,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          commandTimeout: timeoutMillis,
          connectTimeout: Math.max(timeoutMillis, 1000),
          retryStrategy: (times: number) => Math.min(times * 200, 2000)
        })
        // Without a listener ioredis prints every connection error on stderr; commands report them.
        client.on("error", (error: Error) => {
          lastError = error.message
        })
        setup(client)
        return client as R
      }),
      (client) => Effect.sync(() => client.disconnect())
    )
    yield* Effect.tryPromise(() => redis.connect()).pipe(
      Effect.timeout(Math.max(timeoutMillis, 1000)),
      Effect.catchAll(() => Effect.logWarning(`${layer}: Redis is not reachable yet (${lastError})`))
    )
    const command = <A, E>(run: () => Promise<A>, what: string, onError: (message: string, cause?: unknown) => E) =>
      Effect.tryPromise({ try: run, catch: (cause) => onError(`Redis ${what} failed: ${errorText(cause)}`, cause) })
        .pipe(
          Effect.timeoutFail({ duration: timeoutMillis, onTimeout: () => onError(`Redis ${what} timed out`) })
        )
    return { redis, timeoutMillis, command }
  })
