/**
 * `npm run bench:limits`: calls started all at once against a TMDB stand-in limited to 50 requests per second with
 * `Retry-After: 1` (FakeTmdb.serve in its own process, restarted for each case), side by side in one run:
 *
 * - this library with its defaults, not told the limit (it learns it from the 429s): 300, 1,000 and 3,000
 *   `createRequestToken` calls;
 * - `@lorenzopant/tmdb` with its own throttle set to the server's limit (50 per 1,000 ms), the same calls;
 * - 4 worker processes x 300 calls of this library, told the limit and sharing it on Redis (a real redis-server on
 *   127.0.0.1, started and stopped here);
 * - noise: the same server answering 5% of requests 429 at random (not from the rate), 1,000 and 3,000 calls; and a
 *   server with no limit answering after 40 ms (TMDB's latency from nearby), 10,000 calls without and with 5% random
 *   429s, the second timed against the first.
 *
 * It prints wall time against the ideal (calls / 50 per second, or the run without 429s), failed calls and the
 * server's 429s. Each in-process case warms up first (20 requests one after the other, then 1.1 s for the window to
 * clear), outside the timing.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { TMDB } from "@lorenzopant/tmdb"
import { Effect, Layer } from "effect"
import { execFile, fork } from "node:child_process"
import { cpus } from "node:os"
import { fileURLToPath } from "node:url"
import { AuthService, FakeTmdb, TmdbConfig } from "./built.js"

import { startRedis } from "../test/support/redis.js"
import { redirectTmdbFetch } from "./redirect-fetch.js"

const LIMIT = 50
const serverScript = fileURLToPath(new URL("./limits-server.mjs", import.meta.url))
const workerScript = fileURLToPath(new URL("../test/fixtures/limiter-worker.mjs", import.meta.url))

interface Server {
  readonly url: string
  readonly counters: () => Promise<Record<string, number>>
  readonly stop: () => Promise<void>
}

/** The stand-in: its limit per second (0: none), the share of random 429s, the latency of its other answers. */
interface ServerOptions {
  readonly limit: number
  readonly random429?: number
  readonly latencyMillis?: number
}

const startServer = (options: ServerOptions): Promise<Server> =>
  new Promise((resolve, reject) => {
    const args = [options.limit, options.random429 ?? 0, options.latencyMillis ?? 0].map(String)
    const child = fork(serverScript, args, { stdio: ["ignore", "inherit", "inherit", "ipc"] })
    const waiters: Array<(counters: Record<string, number>) => void> = []
    child.on("message", (message: { url?: string; counters?: Record<string, number> }) => {
      if (message.counters !== undefined) waiters.shift()?.(message.counters)
      if (message.url !== undefined) {
        const url = message.url
        resolve({
          url,
          counters: () =>
            new Promise((done) => {
              waiters.push(done)
              child.send("counters")
            }),
          stop: () =>
            new Promise((done) => {
              child.once("exit", () => done())
              child.send("stop")
            })
        })
      }
    })
    child.once("error", reject)
  })

interface Row {
  /** The server's counters when the timed calls started (after the warm-up). */
  readonly baseline?: Record<string, number>
  readonly client: string
  readonly calls: number
  readonly millis: number
  readonly failed: number
  readonly failures: string
  readonly limited: number
  readonly requests: number
}

const ours = async (server: Server, calls: number, client = "effect-tmdb-auth, defaults"): Promise<
  Omit<Row, "limited" | "requests">
> => {
  const Live = AuthService.layer.pipe(
    Layer.provide(TmdbConfig.layer({ accessToken: FakeTmdb.defaults.accessToken, baseUrl: server.url })),
    Layer.provide(NodeHttpClient.layerUndici)
  )
  // The clock starts when the calls do, with the service built and warmed up.
  let baseline: Record<string, number> = {}
  const { millis, results } = await Effect.gen(function*() {
    const auth = yield* AuthService
    yield* warmUp(auth.validateKey)
    baseline = yield* Effect.promise(() => server.counters())
    const started = performance.now()
    const results = yield* Effect.all(Array.from({ length: calls }, () => Effect.either(auth.createRequestToken)), {
      concurrency: "unbounded"
    })
    return { results, millis: performance.now() - started }
  }).pipe(Effect.provide(Live), Effect.runPromise)
  const failures = results.filter((r) => r._tag === "Left").map((r) => r._tag === "Left" ? r.left._tag : "")
  return {
    client,
    calls,
    millis,
    failed: failures.length,
    failures: summary(failures),
    baseline
  }
}

const lorenzopant = async (server: Server, calls: number): Promise<Omit<Row, "limited" | "requests">> => {
  const restoreFetch = redirectTmdbFetch(server.url)
  try {
    const tmdb = new TMDB(FakeTmdb.defaults.accessToken, {
      rate_limit: { max_requests: LIMIT, per_ms: 1000 },
      // Otherwise identical concurrent GETs collapse into one request.
      deduplication: false
    })
    await Effect.runPromise(warmUp(Effect.promise(() => tmdb.authentication.validate_key())))
    const baseline = await server.counters()
    const started = performance.now()
    const results = await Promise.allSettled(
      Array.from({ length: calls }, () => tmdb.authentication.create_request_token())
    )
    const millis = performance.now() - started
    const failures = results.filter((r) => r.status === "rejected").map((r) =>
      String((r as PromiseRejectedResult).reason?.http_status_code ?? (r as PromiseRejectedResult).reason?.name)
    )
    return {
      client: "@lorenzopant/tmdb 1.26, throttle 50/1000 ms",
      calls,
      millis,
      failed: failures.length,
      failures: summary(failures),
      baseline
    }
  } finally {
    restoreFetch()
  }
}

/**
 * Before the timed calls: 20 requests one after the other (connections open, both processes past their cold start),
 * then 1.1 s for the server's one-second window to forget them.
 */
const warmUp = <E>(request: Effect.Effect<unknown, E>) =>
  Effect.zipRight(Effect.repeatN(Effect.ignore(request), 19), Effect.sleep("1100 millis"))

const summary = (failures: ReadonlyArray<string>) => {
  const counts: Record<string, number> = {}
  for (const f of failures) counts[f] = (counts[f] ?? 0) + 1
  return Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(", ")
}

const sharedOnRedis = async (server: Server, workers: number, calls: number, redisPort: number) => {
  const prefix = `bench-${Date.now()}:`
  const results = await Promise.all(
    Array.from(
      { length: workers },
      () =>
        new Promise<{ ok: number; failures: Array<string>; millis: number }>((resolve, reject) =>
          execFile(
            process.execPath,
            [workerScript, server.url, String(redisPort), String(LIMIT), String(calls), prefix],
            { timeout: 300_000 },
            (error, stdout, stderr) =>
              error
                ? reject(new Error(`${error.message}\n${stderr}`))
                : resolve(JSON.parse(stdout.trim().split("\n").pop()!))
          )
        )
    )
  )
  // From each worker's calls' start (its process started and its service built) to its last answer: the slowest.
  const millis = Math.max(...results.map((r) => r.millis))
  const failures = results.flatMap((r) => r.failures)
  return {
    client: `effect-tmdb-auth, ${workers} processes told ${LIMIT}/s, shared on Redis`,
    calls: workers * calls,
    millis,
    failed: failures.length,
    failures: summary(failures)
  }
}

const measure = async (
  run: (server: Server) => Promise<Omit<Row, "limited" | "requests">>,
  options: ServerOptions = { limit: LIMIT }
): Promise<Row> => {
  const server = await startServer(options)
  try {
    const row = await run(server)
    const after = await server.counters()
    const counters = Object.fromEntries(
      Object.entries(after).map(([status, count]) => [status, count - (row.baseline?.[status] ?? 0)])
    )
    const requests = Object.values(counters).reduce((a, b) => a + b, 0)
    return { ...row, limited: counters["429"] ?? 0, requests }
  } finally {
    await server.stop()
  }
}

/** One row; `reference` is the ideal's stand-in when the server has no limit (the run without 429s). */
const print = (row: Row, reference?: Row) => {
  const ideal = reference === undefined ? row.calls / LIMIT : reference.millis / 1000
  const wall = row.millis / 1000
  console.log(
    `| ${row.client} | ${row.calls} | ${wall.toFixed(2)} | ${ideal.toFixed(reference === undefined ? 1 : 2)}${
      reference === undefined ? "" : " (no 429s)"
    } | ${(wall / ideal).toFixed(2)} | ${row.failed}${
      row.failures === "" ? "" : ` (${row.failures})`
    } | ${row.limited} (${(100 * row.limited / row.requests).toFixed(1)}% of ${row.requests}) |`
  )
}

// `npm run bench:limits -- SIZES [PARTS]`: SIZES like 300,1000,3000; PARTS a comma list of limit, redis, noise.
const sizes = (process.argv[2] ?? "300,1000,3000").split(",").map(Number)
const parts = new Set((process.argv[3] ?? "limit,redis,noise").split(","))
const NOISE = 0.05
const LATENCY = 40
console.log(`${new Date().toISOString().slice(0, 10)}, ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}`)
console.log(`server: FakeTmdb.serve in its own process, ${LIMIT} requests per sliding second, Retry-After: 1`)
console.log("| client | calls | wall (s) | ideal (s) | wall / ideal | failed calls | server 429s |")
console.log("|---|---|---|---|---|---|---|")
if (parts.has("limit")) {
  for (const calls of sizes) {
    print(await measure((server) => ours(server, calls)))
    print(await measure((server) => lorenzopant(server, calls)))
  }
}
if (parts.has("redis")) {
  const redis = await startRedis()
  try {
    print(await measure((server) => sharedOnRedis(server, 4, 300, redis.port)))
  } finally {
    await redis.stop()
  }
}
if (parts.has("noise")) {
  for (const calls of sizes.filter((n) => n >= 1000)) {
    print(
      await measure(
        (server) =>
          ours(server, calls, `effect-tmdb-auth, defaults; ${LIMIT}/s limit plus ${100 * NOISE}% random 429s`),
        { limit: LIMIT, random429: NOISE }
      )
    )
  }
  // Long enough that the Retry-After tail (a call answered 429 twice waits 2 s) is not most of the run.
  const calls = 10_000
  const clean = await measure(
    (server) => ours(server, calls, `effect-tmdb-auth, defaults; no limit, answers after ${LATENCY} ms`),
    { limit: 0, latencyMillis: LATENCY }
  )
  print(clean, clean)
  print(
    await measure(
      (server) =>
        ours(server, calls, `effect-tmdb-auth, defaults; no limit, ${LATENCY} ms, ${100 * NOISE}% random 429s`),
      { limit: 0, random429: NOISE, latencyMillis: LATENCY }
    ),
    clean
  )
}
