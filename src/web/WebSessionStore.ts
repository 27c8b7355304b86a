/**
 * Server-side storage of signed-in browsers, over `@effect/platform`'s `KeyValueStore`: in memory, in files of its
 * own (owner-only), or in Redis (for apps with several instances; entries expire there by TTL).
 *
 * @since 0.5.0
 */
import * as RateLimiter from "@effect/experimental/RateLimiter"
import type { PlatformError } from "@effect/platform/Error"
import { SystemError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Path from "@effect/platform/Path"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Redis as IoRedis } from "ioredis"
import { connectRedis } from "../internal/redisConnection.js"
import { defineTokenBucket, tokenBucketStore } from "../internal/redisLimiter.js"
import type { RedisConnectionOptions } from "../internal/redisOptions.js"

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
  /**
   * Writes `value` like `setWithTtl`, only if `key` still holds a value; whether it did. A session written back after
   * use must not come back once signed out.
   *
   * @since 0.6.0
   */
  readonly setIfPresent: (key: string, value: string, ttl: Duration.Duration) => Effect.Effect<boolean, PlatformError>
  /** True when the store removes expired entries by itself (Redis). */
  readonly expiresEntries: boolean
  /**
   * Sets of members with a score (an end time in epoch milliseconds): the login's indexes (the sessions of an account,
   * the sessions to sweep). Each call is atomic within the store (Redis: a sorted set; others: one process's lock).
   *
   * @since 0.6.0
   */
  readonly sets: WebSessionSets
  /**
   * The keys under a prefix, where the store can list them (memory, files, Redis by SCAN): used once, to end the
   * sessions a 0.5.0 store holds.
   *
   * @since 0.6.0
   */
  readonly listKeys: ((prefix: string) => Effect.Effect<ReadonlyArray<string>, PlatformError>) | undefined
  /**
   * A shared store for the login route's rate limit (Redis), so that every instance counts together; others count
   * in memory.
   *
   * @since 0.6.0
   */
  readonly rateLimiterStore: RateLimiter.RateLimiterStore["Type"] | undefined
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

/**
 * Options of {@link WebSessionStore.layerRedis}: the same names and defaults as `TmdbLimiter.layerRedis` (`host`,
 * `port`, `commandTimeout`, default 1 second); other ioredis options pass through.
 */
export interface WebSessionRedisOptions extends RedisConnectionOptions {
  /** Default `tmdb-web:`. */
  readonly prefix?: string | undefined
}

const storeError = (method: string) => (message: string, cause?: unknown) =>
  new SystemError({ module: "KeyValueStore", method, reason: "Unknown", description: message, cause })

/** Adds a member; the set expires with its last member. */
const ADD_SCRIPT = `redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], math.ceil(tonumber(last[2])) + 600000)
return 1`

/** Removes and returns the members up to a score, atomically. */
const TAKE_SCRIPT = `local taken = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #taken > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1]) end
return taken`

const SetEntries = Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Number }))

/** Sets as one JSON value per set (the login keeps each small), read and written under one lock (one process). */
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

/** The same store, where removing what is not there is not an error (a file store says NotFound). */
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

const plain = (
  underlying: KeyValueStore.KeyValueStore,
  listKeys: WebSessionStoreShape["listKeys"]
): Effect.Effect<WebSessionStoreShape> =>
  Effect.map(Effect.makeSemaphore(1), (lock) => {
    const unlocked = removingMissing(underlying)
    // Removing and writing back-if-present take the same lock, so that a sign-out and a write-back do not cross.
    const writeLock = Effect.unsafeMakeSemaphore(1)
    const store = KeyValueStore.make({
      get: unlocked.get,
      getUint8Array: unlocked.getUint8Array,
      set: unlocked.set,
      remove: (key) => writeLock.withPermits(1)(unlocked.remove(key)),
      clear: unlocked.clear,
      size: unlocked.size
    })
    return {
      store,
      setWithTtl: (key, value) => store.set(key, value),
      setIfPresent: (key, value) =>
        writeLock.withPermits(1)(
          Effect.flatMap(
            unlocked.get(key),
            (current) => Option.isNone(current) ? Effect.succeed(false) : Effect.as(unlocked.set(key, value), true)
          )
        ),
      expiresEntries: false,
      sets: plainSets(store, lock),
      listKeys,
      rateLimiterStore: undefined
    }
  })

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Files in a directory of the owner's only (0700), each 0600, written whole through a temporary file and a rename. */
const fileStore = (directory: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(directory, { recursive: true, mode: 0o700 })
    const info = yield* fs.stat(directory)
    if ((info.mode & 0o077) !== 0) {
      yield* Effect.logWarning(
        `WebSessionStore.layerFileSystem: ${directory} was readable by others (mode ${
          (info.mode & 0o777).toString(8)
        }); made owner-only (700)`
      )
      yield* fs.chmod(directory, 0o700)
    }
    const file = (key: string) => path.join(directory, encodeURIComponent(key))
    const get = (key: string): Effect.Effect<Option.Option<Uint8Array>, PlatformError> =>
      fs.readFile(file(key)).pipe(
        Effect.map((bytes): Option.Option<Uint8Array> => Option.some(bytes)),
        Effect.catchIf((error) => error._tag === "SystemError" && error.reason === "NotFound", () => Effect.succeedNone)
      )
    let sequence = 0
    const set = (key: string, value: string | Uint8Array) =>
      Effect.suspend(() => {
        const temporary = path.join(directory, `.tmp-${process.pid}-${++sequence}`)
        const bytes = typeof value === "string" ? encoder.encode(value) : value
        return fs.writeFile(temporary, bytes, { mode: 0o600 }).pipe(
          Effect.zipRight(fs.rename(temporary, file(key))),
          Effect.tapError(() => Effect.ignore(fs.remove(temporary)))
        )
      })
    const keys = fs.readDirectory(directory).pipe(
      Effect.map((names) => names.filter((name) => !name.startsWith(".tmp-")).map(decodeURIComponent))
    )
    const store = KeyValueStore.make({
      get: (key) => Effect.map(get(key), Option.map((bytes) => decoder.decode(bytes))),
      getUint8Array: get,
      set,
      remove: (key) => fs.remove(file(key)),
      clear: Effect.flatMap(keys, (all) => Effect.forEach(all, (key) => fs.remove(file(key)), { discard: true })),
      size: Effect.map(keys, (all) => all.length)
    })
    return yield* plain(store, (prefix) => Effect.map(keys, (all) => all.filter((key) => key.startsWith(prefix))))
  })

/** Sets as Maps: every operation is O(1) per member (no value rewritten whole). */
const memorySets = (): WebSessionSets => {
  const all = new Map<string, Map<string, number>>()
  const of = (set: string) => {
    let members = all.get(set)
    if (members === undefined) all.set(set, members = new Map())
    return members
  }
  return {
    add: (set, member, score) => Effect.sync(() => void of(set).set(member, score)),
    takeUpTo: (set, upTo) =>
      Effect.sync(() => {
        const members = all.get(set)
        if (members === undefined) return []
        const taken: Array<string> = []
        for (const [member, score] of members) {
          if (score <= upTo) {
            taken.push(member)
            members.delete(member)
          }
        }
        if (members.size === 0) all.delete(set)
        return taken
      }),
    members: (set) => Effect.sync(() => Array.from(all.get(set) ?? [])),
    remove: (set, member) =>
      Effect.sync(() => {
        const members = all.get(set)
        members?.delete(member)
        if (members?.size === 0) all.delete(set)
      })
  }
}

/** A Map, whose keys can be listed. */
const memoryStore = Effect.suspend(() => {
  const entries = new Map<string, string | Uint8Array>()
  const store = KeyValueStore.make({
    get: (key) =>
      Effect.sync(() => {
        const value = entries.get(key)
        return value === undefined
          ? Option.none()
          : Option.some(typeof value === "string" ? value : decoder.decode(value))
      }),
    getUint8Array: (key) =>
      Effect.sync(() => {
        const value = entries.get(key)
        return value === undefined
          ? Option.none()
          : Option.some(typeof value === "string" ? encoder.encode(value) : value)
      }),
    set: (key, value) => Effect.sync(() => void entries.set(key, value)),
    remove: (key) => Effect.sync(() => void entries.delete(key)),
    clear: Effect.sync(() => entries.clear()),
    size: Effect.sync(() => entries.size)
  })
  return Effect.map(
    plain(store, (prefix) => Effect.sync(() => Array.from(entries.keys()).filter((key) => key.startsWith(prefix)))),
    (shape): WebSessionStoreShape => ({ ...shape, sets: memorySets() })
  )
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
  static readonly layerMemory: Layer.Layer<WebSessionStore> = Layer.effect(WebSessionStore, memoryStore)

  /** Over any `KeyValueStore` the app provides (its keys cannot be listed: 0.5.0 entries are found by its index). */
  static readonly layerKeyValueStore: Layer.Layer<WebSessionStore, never, KeyValueStore.KeyValueStore> = Layer
    .effect(WebSessionStore, Effect.flatMap(KeyValueStore.KeyValueStore, (store) => plain(store, undefined)))

  /**
   * Files in `directory` (provide `NodeContext.layer` from `@effect/platform-node`): sessions survive a restart. The
   * directory is the owner's only (0700; a wider existing one is tightened, with a warning), each file 0600, written
   * through a temporary file and a rename. Ended entries are removed by the login's sweep.
   */
  static layerFileSystem(
    directory: string
  ): Layer.Layer<WebSessionStore, PlatformError, FileSystem.FileSystem | Path.Path> {
    return Layer.effect(WebSessionStore, fileStore(directory))
  }

  /**
   * Redis (through the optional peer dependency `ioredis`), for apps with several instances: entries are written
   * with `SET ... PX`, so Redis removes a session a few minutes after its idle or absolute lifetime ends (the login's
   * sweep ends it at TMDB first). The connection is `TmdbLimiter.layerRedis`'s: a command timeout (default 1 s), no
   * offline queue, reconnection in the background; a Redis that is down makes sign-in answer 503, never "signed out".
   */
  static layerRedis(options: WebSessionRedisOptions = {}): Layer.Layer<WebSessionStore, ConfigError.ConfigError> {
    return Layer.scoped(
      WebSessionStore,
      Effect.gen(function*() {
        const { prefix = "tmdb-web:", ...connection } = options
        const { command, redis } = yield* connectRedis<IoRedis>(
          "WebSessionStore.layerRedis",
          connection,
          defineTokenBucket
        )
        const key = (k: string) => `${prefix}${k}`
        const run = <A>(method: string, f: () => Promise<A>) => command(f, method, storeError(method))
        const scan = (match: string, f: (keys: Array<string>) => Promise<unknown>) => async () => {
          let cursor = "0"
          let count = 0
          do {
            const [next, keys] = await redis.scan(cursor, "MATCH", match, "COUNT", 100)
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
          clear: Effect.asVoid(run("clear", scan(`${prefix}*`, (keys) => redis.del(...keys)))),
          size: run("size", scan(`${prefix}*`, async () => {}))
        })
        return {
          store,
          setWithTtl: (k, value, ttl) =>
            Effect.asVoid(run("set", () => redis.set(key(k), value, "PX", Math.max(1, Duration.toMillis(ttl))))),
          setIfPresent: (k, value, ttl) =>
            Effect.map(
              run("set", () => redis.set(key(k), value, "PX", Math.max(1, Duration.toMillis(ttl)), "XX")),
              (answer) => answer === "OK"
            ),
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
          },
          // One SCAN step per command (each within the command timeout): a large Redis is listed, not timed out.
          listKeys: (listed) =>
            Effect.gen(function*() {
              const found: Array<string> = []
              let cursor = "0"
              do {
                const [next, keys] = yield* run(
                  "scan",
                  () => redis.scan(cursor, "MATCH", `${prefix}${listed}*`, "COUNT", 1000)
                )
                cursor = next
                for (const k of keys) found.push(k.slice(prefix.length))
              } while (cursor !== "0")
              return found
            }),
          rateLimiterStore: tokenBucketStore(
            redis,
            prefix,
            (f, what) => command(f, what, (message, cause) => new RateLimiter.RateLimitStoreError({ message, cause }))
          )
        } satisfies WebSessionStoreShape
      })
    )
  }
}

/**
 * The session store cannot be read or written (Redis down or slow, a file system error): the app cannot tell who is
 * signed in. Answered 503 "temporarily unavailable" (JSON for API routes, a page for pages), never "sign in".
 *
 * @since 0.6.0
 */
export class SessionStoreUnavailable extends Schema.TaggedError<SessionStoreUnavailable>()(
  "SessionStoreUnavailable",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 503 })
) {
  /** From a store's error (logged where it happens): a message for the browser, without the store's details. */
  static fromStore(_error: PlatformError): SessionStoreUnavailable {
    return new SessionStoreUnavailable({
      message: "Sign-in is temporarily unavailable; try again in a moment."
    })
  }
}
