/**
 * `TmdbLimiter.layerRedis`: the explicit limit as one budget for every process (`effect/persistence`'s RateLimiter
 * over a Redis store of ours), and a shared pause key so that a 429 seen by one process holds them all back.
 *
 * Why our own ioredis client and store rather than `RateLimiter.layerStoreRedis`: that one needs Effect's `Redis`
 * service (node-redis through `@effect/platform-node`), whereas this line keeps ioredis, as 0.x does. Ours fails fast:
 * no offline queue, a command timeout, reconnection in the background. Every failure falls back to this process's
 * in-process limiter for that request.
 */
import * as Clock from "effect/Clock"
import type * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as RateLimiter from "effect/persistence/RateLimiter"
import type * as Scope from "effect/Scope"
import type { Redis as IoRedis } from "ioredis"
import type { RedisLimiterOptions } from "../TmdbLimiter.js"
import { admitWith, awaitToken, LearnedRate, type LimiterShape, makeLimiter } from "./admission.js"
import { connectRedis } from "./redisConnection.js"

interface RedisWithScripts extends IoRedis {
  tmdbTokenBucket(
    key: string,
    tokens: number,
    refillMillis: number,
    limit: number,
    now: number,
    overflow: 0 | 1
  ): Promise<[number, number, number]>
  tmdbPause(key: string, until: number, millis: number): Promise<number>
}

// A token bucket in one hash: `tokens` left and the time `at` (microseconds) they were last refilled (now, when the
// bucket is full). Tokens may go below zero (overflow): each such token is a reservation of a future slot, which is
// what spaces requests evenly.
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
if available >= limit then
  at = now
end
local after = available - tokens
if after >= 0 or overflow then
  available = after
end
redis.call("HSET", KEYS[1], "tokens", available, "at", at)
redis.call("PEXPIRE", KEYS[1], math.ceil(refill * (limit - available + 1) / 1000) + 60000)
-- The slot this take reserved: the refill time its token comes from (on the bucket's grid of refills).
local slot = at
if after < 0 and overflow then
  slot = at + (-after) * refill
end
-- And the time since the current refill began (Effect 4's store contract: RateLimiter counts the delay from it).
return { after, slot, now - at }
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

/** Defines the token bucket script on a client (`connectRedis`'s setup). */
export const defineTokenBucket = (client: IoRedis) =>
  client.defineCommand("tmdbTokenBucket", { lua: tokenBucketScript, numberOfKeys: 1 })

/**
 * `effect/persistence`'s RateLimiterStore over Redis: token buckets only (the library's limiters use no other); no
 * adaptive state, so that `adaptiveConsume` answers "inactive" (no delay) and `adaptiveFeedback` records nothing.
 */
export const tokenBucketStore = (
  redis: IoRedis,
  prefix: string,
  command: <A>(f: () => Promise<A>, what: string) => Effect.Effect<A, RateLimiter.RateLimiterError>
): RateLimiter.RateLimiterStore["Service"] =>
  RateLimiter.RateLimiterStore.of({
    tokenBucket: (bucket) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const refillMicros = Math.ceil(Duration.toMillis(bucket.refillRate) * 1000)
        return command(
          () =>
            (redis as RedisWithScripts).tmdbTokenBucket(
              `${prefix}${bucket.key}`,
              bucket.tokens,
              // In whole microseconds, rounded up: a limit is never exceeded by rounding.
              refillMicros,
              bucket.limit,
              Math.round(now * 1000),
              bucket.allowOverflow ? 1 : 0
            ),
          "token bucket"
        ).pipe(
          // The reserved slot, at Debug: what a test of the shared limit counts, whenever the processes wake up.
          Effect.tap(([, slot]) =>
            Effect.annotateLogs(Effect.logDebug("TmdbLimiter: slot reserved"), { slotAt: slot / 1000 })
          ),
          Effect.map(([after, , elapsedMicros]) => [after, elapsedMicros / 1000] as const)
        )
      }),
    fixedWindow: () => Effect.fail(storeError("this Redis store has token buckets only")),
    adaptiveConsume: () => Effect.succeed({ delay: Duration.zero, epoch: 0, phase: "inactive" }),
    adaptiveFeedback: () => Effect.void
  })

/** A store failure, as `effect/persistence`'s RateLimiter reports one. */
export const storeError = (message: string, cause?: unknown): RateLimiter.RateLimiterError =>
  new RateLimiter.RateLimiterError({ reason: new RateLimiter.RateLimitStoreError({ message, cause }) })

export const makeRedisLimiter = (
  options: RedisLimiterOptions
): Effect.Effect<LimiterShape, Config.ConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const { prefix = "tmdb:", ...connection } = options
    const { command: run, redis } = yield* connectRedis<RedisWithScripts>(
      "TmdbLimiter.layerRedis",
      connection,
      (client) => {
        defineTokenBucket(client)
        client.defineCommand("tmdbPause", { lua: pauseScript, numberOfKeys: 1 })
      }
    )
    const command = <A>(f: () => Promise<A>, what: string) => run(f, what, storeError)

    const store = tokenBucketStore(redis, prefix, command)
    const shared = yield* RateLimiter.make.pipe(Effect.provideService(RateLimiter.RateLimiterStore, store))
    const learned = new LearnedRate()
    const local = makeLimiter(
      yield* RateLimiter.make.pipe(Effect.provide(RateLimiter.layerStoreMemory, { local: true })),
      learned
    )
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
      const token = limit === undefined ? readPause : Effect.andThen(awaitToken(shared, limit), readPause)
      return Effect.andThen(readPause, admitWith(learned, token)).pipe(
        Effect.catch((error) => Effect.andThen(fallback(error), local.admit(limit)))
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
          Effect.catch(fallback)
        )
      })

    return { admit, record, pace: (now) => ({ nextSendAt: learned.nextSendAt(now), rate: learned.rate }) }
  })
