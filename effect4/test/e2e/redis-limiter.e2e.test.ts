/**
 * TmdbLimiter.layerRedis against a real redis-server on 127.0.0.1 (started and stopped here) and FakeTmdb.serve:
 * worker processes sharing one limit, a pause that crosses processes, and Redis down.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Exit, Fiber, Layer, Scope } from "effect"
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { AuthService, TmdbConfig, TmdbLimiter } from "../../src/index.js"
import type { FakeTmdbServer } from "../../src/testing/index.js"
import { FakeTmdb, Fault } from "../../src/testing/index.js"
import { freePort, type RedisServer, startRedis } from "../support/redis.js"

const worker = fileURLToPath(new URL("../fixtures/limiter-worker.mjs", import.meta.url))

let redis: RedisServer
beforeAll(async () => {
  redis = await startRedis()
}, 30_000)
afterAll(() => redis.stop())

const serve = (options: Parameters<typeof FakeTmdb.serve>[0]) =>
  Effect.runPromise(
    Effect.flatMap(Scope.make(), (scope) =>
      Effect.map(Scope.provide(FakeTmdb.serve(options), scope), (server) => ({
        server,
        close: () => Effect.runPromise(Scope.close(scope, Exit.void))
      })))
  )

const runWorker = (args: ReadonlyArray<string>) =>
  new Promise<{ ok: number; failures: Array<string>; millis: number; slots: Array<number> }>((resolve, reject) =>
    execFile(
      process.execPath,
      [worker, ...args],
      { timeout: 60_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout.trim().split("\n").pop()!))
    )
  )

const layerWith = (server: FakeTmdbServer, limiter: Layer.Layer<TmdbLimiter, unknown>) =>
  AuthService.layer.pipe(
    Layer.provide(limiter),
    Layer.provide(TmdbConfig.layer({ accessToken: FakeTmdb.defaults.accessToken, baseUrl: server.url })),
    Layer.provide(NodeHttpClient.layerUndici)
  )

describe("TmdbLimiter.layerRedis", () => {
  it(
    "4 worker processes told one limit of 20 req/s share it: at most 20 slots in any second, no call fails",
    async () => {
      const limit = 20
      const { close, server } = await serve({ rateLimit: { requests: limit, window: "1 second" } })
      try {
        const started = Date.now()
        const results = await Promise.all(
          Array.from({ length: 4 }, () => runWorker([server.url, String(redis.port), String(limit), "40", "shared:"]))
        )
        const wall = Date.now() - started
        expect(results.flatMap((r) => r.failures)).toEqual([])
        expect(results.reduce((n, r) => n + r.ok, 0)).toBe(160)
        // What the limiter controls: the slots it reserves in Redis, at most 20 in any sliding second across the 4
        // processes. (When they are sent depends on how soon a busy machine wakes them: TMDB's 429 share on an idle
        // machine is bench:limits' figure.)
        const slots = results.flatMap((r) => r.slots).sort((a, b) => a - b)
        // One slot per attempt at least (a 429 from TMDB or a pause voids a slot: the retry takes another).
        expect(slots.length).toBeGreaterThanOrEqual(160)
        let most = 0
        for (let first = 0, last = 0; last < slots.length; last++) {
          while (slots[last]! - slots[first]! >= 1000) first++
          most = Math.max(most, last - first + 1)
        }
        expect(most).toBeLessThanOrEqual(limit)
        // 160 requests at 20 per second between them: about 8 seconds, as one budget (4 budgets would take 2).
        expect(wall).toBeGreaterThan(7_000)
      } finally {
        await close()
      }
    },
    60_000
  )

  it("a limit one process confirmed holds the others back: the pause crosses processes through Redis", async () => {
    const { close, server } = await serve({})
    try {
      const limiter = (prefix: string) => TmdbLimiter.layerRedis({ port: redis.port, host: "127.0.0.1", prefix })
      await Effect.runPromise(Effect.gen(function*() {
        const scope = yield* Scope.make()
        // Two limiters on one prefix: as two processes would have.
        const first = yield* Layer.buildWithScope(layerWith(server, limiter("pause:")), scope)
        const second = yield* Layer.buildWithScope(layerWith(server, limiter("pause:")), scope)
        // Five 429s in a row: a limit confirmed (docs/admission.md), which pauses everyone; a lone one would not.
        yield* server.fail(
          "GET /3/authentication",
          ...Array.from({ length: 5 }, () => Fault.RateLimited({ retryAfter: 2 }))
        )
        const firstAuth = yield* Effect.provide(AuthService, first)
        const secondAuth = yield* Effect.provide(AuthService, second)
        // The first process gets the 429s and pauses (then retries after 2 s); the second waits out the same pause.
        const one = yield* Effect.forkChild(
          Effect.all(Array.from({ length: 5 }, () => firstAuth.validateKey), { concurrency: "unbounded" })
        )
        yield* Effect.sleep("300 millis")
        const started = Date.now()
        yield* secondAuth.createGuestSession
        expect(Date.now() - started).toBeGreaterThan(1_400)
        yield* Fiber.await(one)
        yield* Scope.close(scope, Exit.void)
      }))
    } finally {
      await close()
    }
  }, 30_000)

  it(
    "with Redis down, requests still go through at once (in-process fallback), with no ioredis noise on stderr",
    async () => {
      const { close, server } = await serve({})
      const written: Array<string> = []
      const original = process.stderr.write.bind(process.stderr)
      const originalError = console.error
      process.stderr.write = ((chunk: string | Uint8Array, ...rest: Array<never>) => {
        written.push(String(chunk))
        return original(chunk, ...rest)
      }) as typeof process.stderr.write
      console.error = (...args: Array<unknown>) => written.push(args.join(" "))
      try {
        const deadPort = await freePort()
        const started = Date.now()
        const exit = await Effect.runPromiseExit(
          Effect.gen(function*() {
            const auth = yield* AuthService
            yield* Effect.all(Array.from({ length: 5 }, () => auth.createRequestToken), { concurrency: "unbounded" })
          }).pipe(Effect.provide(layerWith(server, TmdbLimiter.layerRedis({ host: "127.0.0.1", port: deadPort }))))
        )
        expect(Exit.isSuccess(exit)).toBe(true)
        expect(Date.now() - started).toBeLessThan(5_000)
        expect(written.join("")).not.toContain("ioredis")
      } finally {
        process.stderr.write = original
        console.error = originalError
        await close()
      }
    },
    30_000
  )
})
