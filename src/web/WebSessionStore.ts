/**
 * Server-side storage of signed-in browsers, over `@effect/platform`'s `KeyValueStore`: in memory, on the file
 * system, or in Redis (for apps with several instances; entries expire there by TTL).
 *
 * @since 0.5.0
 */
import type { PlatformError } from "@effect/platform/Error"
import { SystemError } from "@effect/platform/Error"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import type * as Path from "@effect/platform/Path"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { Redis as IoRedis, RedisOptions } from "ioredis"

/**
 * Where the web login keeps its sessions: a `KeyValueStore` and, when the store expires entries itself (Redis),
 * how entries are written with a lifetime.
 *
 * @since 0.5.0
 */
export interface WebSessionStoreShape {
  readonly store: KeyValueStore.KeyValueStore
  /** Writes `value` to live at most `ttl`; stores without expiry write it plainly (the login checks lifetimes). */
  readonly setWithTtl: (key: string, value: string, ttl: Duration.Duration) => Effect.Effect<void, PlatformError>
  /** True when the store removes expired entries by itself (Redis). */
  readonly expiresEntries: boolean
}

/** Options of {@link WebSessionStore.layerRedis}: ioredis's connection options plus a key prefix. */
export interface WebSessionRedisOptions extends RedisOptions {
  /** Default `tmdb-web:`. */
  readonly prefix?: string
}

const redisError = (method: string) => (cause: unknown) =>
  new SystemError({
    module: "KeyValueStore",
    method,
    reason: "Unknown",
    description: `Redis ${method} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
    cause
  })

const missing = "WebSessionStore.layerRedis needs the optional peer dependency ioredis: npm install ioredis@^5"

const plain = (store: KeyValueStore.KeyValueStore): WebSessionStoreShape => ({
  store,
  setWithTtl: (key, value) => store.set(key, value),
  expiresEntries: false
})

/**
 * The web login's session storage.
 *
 * @since 0.5.0
 */
export class WebSessionStore extends Context.Tag("effect-tmdb-auth/web/WebSessionStore")<
  WebSessionStore,
  WebSessionStoreShape
>() {
  /** In this process's memory (the default): sessions end when the process does; one instance only. */
  static readonly layerMemory: Layer.Layer<WebSessionStore> = Layer.effect(
    WebSessionStore,
    Effect.map(KeyValueStore.KeyValueStore, plain)
  ).pipe(Layer.provide(KeyValueStore.layerMemory))

  /** Over any `KeyValueStore` the app provides. */
  static readonly layerKeyValueStore: Layer.Layer<WebSessionStore, never, KeyValueStore.KeyValueStore> = Layer
    .effect(WebSessionStore, Effect.map(KeyValueStore.KeyValueStore, plain))

  /**
   * Files in `directory` (platform's `KeyValueStore.layerFileSystem`; provide `NodeContext.layer` from
   * `@effect/platform-node`): sessions survive a restart. Expired entries are removed when read and by the login's
   * sweep.
   */
  static layerFileSystem(
    directory: string
  ): Layer.Layer<WebSessionStore, PlatformError, FileSystem.FileSystem | Path.Path> {
    return WebSessionStore.layerKeyValueStore.pipe(Layer.provide(KeyValueStore.layerFileSystem(directory)))
  }

  /**
   * Redis (through the optional peer dependency `ioredis`), for apps with several instances: entries are written
   * with `SET ... PX`, so Redis removes a session when its idle or absolute lifetime ends.
   */
  static layerRedis(options: WebSessionRedisOptions = {}): Layer.Layer<WebSessionStore, ConfigError.ConfigError> {
    return Layer.scoped(
      WebSessionStore,
      Effect.gen(function*() {
        const { prefix = "tmdb-web:", ...redisOptions } = options
        const specifier = "ioredis" // a variable, so that bundlers do not pull ioredis into other builds
        const { Redis } = yield* Effect.tryPromise({
          try: () => import(/* @vite-ignore */ specifier) as Promise<typeof import("ioredis")>,
          catch: () => ConfigError.Unsupported(["ioredis"], missing)
        })
        const redis: IoRedis = yield* Effect.acquireRelease(
          Effect.sync(() => {
            const client = new Redis({ maxRetriesPerRequest: 1, ...(redisOptions as RedisOptions) })
            // Without a listener ioredis prints connection errors on stderr; commands report them as PlatformErrors.
            client.on("error", () => {})
            return client
          }),
          (client) => Effect.promise(() => client.quit().catch(() => client.disconnect()))
        )
        const key = (k: string) => `${prefix}${k}`
        const run = <A>(method: string, f: () => Promise<A>) => Effect.tryPromise({ try: f, catch: redisError(method) })
        const scan = (f: (keys: Array<string>) => Promise<unknown>) => async () => {
          let cursor = "0"
          let count = 0
          do {
            const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 100)
            cursor = next
            count += keys.length
            if (keys.length > 0) await f(keys)
          } while (cursor !== "0")
          return count
        }
        const store = KeyValueStore.make({
          get: (k) => Effect.map(run("get", () => redis.get(key(k))), Option.fromNullable),
          getUint8Array: (k) =>
            Effect.map(
              run("getUint8Array", () => redis.getBuffer(key(k))),
              (buffer) => Option.map(Option.fromNullable(buffer), (b) => new Uint8Array(b))
            ),
          set: (k, value) => Effect.asVoid(run("set", () => redis.set(key(k), Buffer.from(value)))),
          remove: (k) => Effect.asVoid(run("remove", () => redis.del(key(k)))),
          clear: Effect.asVoid(run("clear", scan((keys) => redis.del(...keys)))),
          size: run("size", scan(async () => {}))
        })
        return {
          store,
          setWithTtl: (k, value, ttl) =>
            Effect.asVoid(run("set", () => redis.set(key(k), value, "PX", Math.max(1, Duration.toMillis(ttl))))),
          expiresEntries: true
        }
      })
    )
  }
}
