/**
 * `TmdbLimiter.layerRedis`: the explicit limit as one budget for every process (`@effect/experimental`'s RateLimiter
 * over a Redis store of ours), and a shared pause key so that a 429 seen by one process holds them all back.
 *
 * Why our own ioredis client rather than the experimental Redis store's: its client is private, cannot be given an
 * `error` listener (ioredis then prints "Unhandled error event" on stderr while Redis is down) and queues commands
 * while disconnected (a request would hang). Ours fails fast: no offline queue, a command timeout, reconnection in
 * the background. Every failure falls back to this process's in-process limiter for that request.
 */
import * as RateLimiter from "@effect/experimental/RateLimiter"
import * as Clock from "effect/Clock"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Redis as IoRedis, RedisOptions } from "ioredis"
import type { RedisLimiterOptions } from "../TmdbLimiter.js"
import { admitWith, awaitToken, LearnedRate, type LimiterShape, makeLimiter } from "./admission.js"

interface RedisWithScripts extends IoRedis {
  tmdbTokenBucket(
    key: string,
    tokens: number,
    refillMillis: number,
    limit: number,
    now: number,
    overflow: 0 | 1
  ): Promise<number>
  tmdbPause(key: string, until: number, millis: number): Promise<number>
}

// A token bucket in one hash: `tokens` left and the time `at` (microseconds) they were last refilled. Tokens may go
// below zero (overflow): each such token is a reservation of a future slot, which is what spaces requests evenly.
const tokenBucketScript = `
local tokens = tonumber(ARGV[1])
local refill = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local overflow = ARGV[5] == "1"
local state = redis.call("HMGET", KEYS[1], "tokens", "at")
local available = tonumber(state[1])
local at = tonumber(state[2])
if available == nil or at == nil then
  available = limit
  at = now
end
local refilled = math.floor((now - at) / refill)
if refilled > 0 then
  available = math.min(limit, available + refilled)
  at = at + refilled * refill
end
local after = available - tokens
if after >= 0 or overflow then
  available = after
end
redis.call("HSET", KEYS[1], "tokens", available, "at", at)
redis.call("PEXPIRE", KEYS[1], math.ceil(refill * (limit - available + 1) / 1000) + 60000)
return after
`

// The pause only ever moves later.
const pauseScript = `
local current = tonumber(redis.call("GET", KEYS[1]))
local untilMillis = tonumber(ARGV[1])
if current == nil or untilMillis > current then
  redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
end
return 1
`

const missing = "TmdbLimiter.layerRedis needs the optional peer dependency ioredis: npm install ioredis@^5"

export const makeRedisLimiter = (
  options: RedisLimiterOptions
): Effect.Effect<LimiterShape, ConfigError.ConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const { commandTimeout, prefix = "tmdb:", ...redisOptions } = options
    const timeoutMillis = Duration.toMillis(Duration.decode(commandTimeout ?? "1 second"))
    const specifier = "ioredis" // a variable, so that bundlers do not pull ioredis into other builds
    const { Redis } = yield* Effect.tryPromise({
      try: () => import(/* @vite-ignore */ specifier) as Promise<typeof import("ioredis")>,
      catch: () => ConfigError.Unsupported(["ioredis"], missing)
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
        }) as RedisWithScripts
        // Without a listener ioredis prints every connection error on stderr; the fallback warning reports it.
        client.on("error", (error: Error) => {
          lastError = error.message
        })
        client.defineCommand("tmdbTokenBucket", { lua: tokenBucketScript, numberOfKeys: 1 })
        client.defineCommand("tmdbPause", { lua: pauseScript, numberOfKeys: 1 })
        return client
      }),
      (client) => Effect.sync(() => client.disconnect())
    )
    // A Redis that is down now is not a startup failure: the first requests fall back, reconnection goes on.
    yield* Effect.tryPromise(() => redis.connect()).pipe(
      Effect.timeout(Math.max(timeoutMillis, 1000)),
      Effect.catchAll(() => Effect.logWarning(`TmdbLimiter.layerRedis: Redis is not reachable yet (${lastError})`))
    )

    const command = <A>(run: () => Promise<A>, what: string) =>
      Effect.tryPromise({
        try: run,
        catch: (cause) =>
          new RateLimiter.RateLimitStoreError({ message: `Redis ${what} failed: ${errorText(cause)}`, cause })
      }).pipe(
        Effect.timeoutFail({
          duration: timeoutMillis,
          onTimeout: () => new RateLimiter.RateLimitStoreError({ message: `Redis ${what} timed out` })
        })
      )

    const store = RateLimiter.RateLimiterStore.of({
      tokenBucket: (bucket) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          command(
            () =>
              redis.tmdbTokenBucket(
                `${prefix}${bucket.key}`,
                bucket.tokens,
                // In whole microseconds, rounded up: a limit is never exceeded by rounding.
                Math.ceil(Duration.toMillis(bucket.refillRate) * 1000),
                bucket.limit,
                Math.round(now * 1000),
                bucket.allowOverflow ? 1 : 0
              ),
            "token bucket"
          )),
      fixedWindow: () =>
        Effect.fail(
          new RateLimiter.RateLimitStoreError({ message: "TmdbLimiter's Redis store has token buckets only" })
        )
    })
    const shared = yield* RateLimiter.make.pipe(Effect.provideService(RateLimiter.RateLimiterStore, store))
    const learned = new LearnedRate()
    const local = makeLimiter(yield* RateLimiter.make.pipe(Effect.provide(RateLimiter.layerStoreMemory)), learned)
    const pauseKey = `${prefix}pause`

    let warnedAt = -Infinity
    const fallback = (error: RateLimiter.RateLimiterError) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (now - warnedAt < 10_000) return Effect.void
        warnedAt = now
        return Effect.logWarning(
          `TmdbLimiter.layerRedis: Redis is unavailable (${error.message}); this process limits itself until it answers`
        )
      })

    const readPause = command(() => redis.get(pauseKey), "pause read").pipe(
      Effect.flatMap((value) => Effect.sync(() => value === null ? undefined : learned.pause(Number(value))))
    )

    // The token is taken in the shared bucket; after its wait, the shared pause is read again, so that a pause
    // another process began meanwhile is honoured (admitWith then takes a new token after it).
    const admit: LimiterShape["admit"] = (limit) => {
      if (limit !== undefined) learned.explicitLimit = true
      const token = limit === undefined ? readPause : Effect.zipRight(awaitToken(shared, limit), readPause)
      return Effect.zipRight(readPause, admitWith(learned, token)).pipe(
        Effect.catchAll((error) => Effect.zipRight(fallback(error), local.admit(limit)))
      )
    }

    const record: LimiterShape["record"] = (outcome) =>
      Effect.gen(function*() {
        const before = learned.pausedUntil
        yield* local.record(outcome)
        const until = learned.pausedUntil
        if (until <= before) return
        const now = yield* Clock.currentTimeMillis
        yield* command(() => redis.tmdbPause(pauseKey, until, Math.max(1, Math.ceil(until - now))), "pause write").pipe(
          Effect.catchAll(fallback)
        )
      })

    return { admit, record }
  })

const errorText = (cause: unknown) => cause instanceof Error ? cause.message : String(cause)
