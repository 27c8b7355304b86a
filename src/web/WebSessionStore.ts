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
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
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
  /**
   * Sets of members with a score (an end time in epoch milliseconds): the login's indexes (the sessions of an account,
   * the sessions to sweep). Each call is atomic within the store (Redis: a sorted set; others: one process's lock).
   *
   * @since 0.6.0
   */
  readonly sets: WebSessionSets
}

/**
 * Scored sets in a {@link WebSessionStore}.
 *
 * @since 0.6.0
 */
export interface WebSessionSets {
  /** Adds (or re-scores) `member`. */
  readonly add: (set: string, member: string, score: number) => Effect.Effect<void, PlatformError>
  /** Removes and returns, in one step, the members whose score is `<= upTo`: each is claimed by one caller only. */
  readonly takeUpTo: (set: string, upTo: number) => Effect.Effect<ReadonlyArray<string>, PlatformError>
  /** The members and their scores. */
  readonly members: (set: string) => Effect.Effect<ReadonlyArray<readonly [string, number]>, PlatformError>
  /** Removes `member` (nothing if absent). */
  readonly remove: (set: string, member: string) => Effect.Effect<void, PlatformError>
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

/** Adds a member; the set expires with its last member. */
const ADD_SCRIPT = `redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], math.ceil(tonumber(last[2])))
return 1`

/** Removes and returns the members up to a score, atomically. */
const TAKE_SCRIPT = `local taken = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #taken > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1]) end
return taken`

const SetEntries = Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Number }))

/** Sets as one JSON value per set, read and written under one lock (one process). */
const plainSets = (store: KeyValueStore.KeyValueStore, lock: Effect.Semaphore): WebSessionSets => {
  const read = (set: string) =>
    Effect.map(store.get(`set:${set}`), (text) =>
      Option.isNone(text)
        ? {}
        : Either.getOrElse(Schema.decodeEither(SetEntries)(text.value), () => ({} as Record<string, number>)))
  const update = (set: string, f: (entries: Record<string, number>) => void) =>
    lock.withPermits(1)(Effect.gen(function*() {
      const entries = { ...(yield* read(set)) }
      f(entries)
      yield* Object.keys(entries).length === 0
        ? store.remove(`set:${set}`)
        : store.set(`set:${set}`, Schema.encodeSync(SetEntries)(entries))
    }))
  return {
    add: (set, member, score) =>
      update(set, (entries) => {
        entries[member] = score
      }),
    takeUpTo: (set, upTo) =>
      Effect.suspend(() => {
        const taken: Array<string> = []
        return Effect.as(
          update(set, (entries) => {
            for (const [member, score] of Object.entries(entries)) {
              if (score <= upTo) {
                taken.push(member)
                delete entries[member]
              }
            }
          }),
          taken
        )
      }),
    members: (set) => Effect.map(read(set), (entries) => Object.entries(entries)),
    remove: (set, member) =>
      update(set, (entries) => {
        delete entries[member]
      })
  }
}

/** The same store, where removing what is not there is not an error (the file system's store says NotFound). */
const removingMissing = (store: KeyValueStore.KeyValueStore) =>
  KeyValueStore.make({
    get: store.get,
    getUint8Array: store.getUint8Array,
    set: store.set,
    remove: (key) =>
      Effect.catchIf(
        store.remove(key),
        (error) => error._tag === "SystemError" && error.reason === "NotFound",
        () => Effect.void
      ),
    clear: store.clear,
    size: store.size
  })

const plain = (underlying: KeyValueStore.KeyValueStore): Effect.Effect<WebSessionStoreShape> =>
  Effect.map(Effect.makeSemaphore(1), (lock) => {
    const store = removingMissing(underlying)
    return {
      store,
      setWithTtl: (key, value) => store.set(key, value),
      expiresEntries: false,
      sets: plainSets(store, lock)
    }
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
    Effect.flatMap(KeyValueStore.KeyValueStore, plain)
  ).pipe(Layer.provide(KeyValueStore.layerMemory))

  /** Over any `KeyValueStore` the app provides. */
  static readonly layerKeyValueStore: Layer.Layer<WebSessionStore, never, KeyValueStore.KeyValueStore> = Layer
    .effect(WebSessionStore, Effect.flatMap(KeyValueStore.KeyValueStore, plain))

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
          expiresEntries: true,
          sets: {
            add: (set, member, score) =>
              Effect.asVoid(run("zadd", () => redis.eval(ADD_SCRIPT, 1, key(`set:${set}`), score, member))),
            takeUpTo: (set, upTo) =>
              run("zrangebyscore", () => redis.eval(TAKE_SCRIPT, 1, key(`set:${set}`), upTo) as Promise<Array<string>>),
            members: (set) =>
              Effect.map(run("zrange", () => redis.zrange(key(`set:${set}`), 0, -1, "WITHSCORES")), (flat) => {
                const pairs: Array<readonly [string, number]> = []
                for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i]!, Number(flat[i + 1])])
                return pairs
              }),
            remove: (set, member) => Effect.asVoid(run("zrem", () => redis.zrem(key(`set:${set}`), member)))
          }
        }
      })
    )
  }
}
