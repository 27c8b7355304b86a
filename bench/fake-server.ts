/**
 * `npm run bench:fake`: how many requests per second FakeTmdb.serve answers on loopback, side by side with a bare
 * `node:http` server that answers the same route with a constant body (the ceiling of this machine and load
 * generator). Rounds alternate between the two, so both see the same machine noise.
 * The load comes from a separate process (bench/load.mjs) over keep-alive connections; each round sends
 * GET /3/authentication/token/new, which creates a request token in the fake's state.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { execFile } from "node:child_process"
import * as Http from "node:http"
import { fileURLToPath } from "node:url"
import { FakeTmdb } from "../src/testing/index.js"

const rounds = Number(process.env["ROUNDS"] ?? 5)
const requests = Number(process.env["REQUESTS"] ?? 20_000)
const concurrency = Number(process.env["CONCURRENCY"] ?? 32)
const load = fileURLToPath(new URL("./load.mjs", import.meta.url))

interface Round {
  readonly rps: number
  readonly seconds: number
  readonly statuses: Record<string, number>
}

const round = (url: string) =>
  Effect.async<Round, Error>((resume) => {
    const child = execFile(
      process.execPath,
      [load, url, String(requests), String(concurrency), FakeTmdb.defaults.accessToken],
      (error, stdout) => resume(error ? Effect.fail(error) : Effect.succeed(JSON.parse(stdout) as Round))
    )
    return Effect.sync(() => child.kill())
  })

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const constantBody = JSON.stringify({
  success: true,
  expires_at: "2016-08-26 17:04:39 UTC",
  request_token: "ff5c7eeb5a8870efe3cd7fc5c282cffd26800ecd"
})

/** The baseline: node:http answering a constant body, nothing else. */
const bareServer = Effect.acquireRelease(
  Effect.async<Http.Server>((resume) => {
    const server = Http.createServer((request, response) => {
      request.resume()
      request.on("end", () => {
        response.writeHead(200, { "content-type": "application/json;charset=utf-8" })
        response.end(constantBody)
      })
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
  }),
  (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
).pipe(Effect.map((server) => `http://127.0.0.1:${(server.address() as { port: number }).port}`))

const program = Effect.gen(function*() {
  const fake = yield* FakeTmdb.serve()
  const bare = yield* bareServer
  yield* Console.log(
    `FakeTmdb.serve on ${fake.url} and a bare node:http server on ${bare}: ${rounds} rounds each x ${requests} requests, ${concurrency} connections`
  )
  yield* round(fake.url) // warm-up
  yield* round(bare)
  const results: { fake: Array<number>; bare: Array<number> } = { fake: [], bare: [] }
  for (let i = 1; i <= rounds; i++) {
    const f = yield* round(fake.url)
    const b = yield* round(bare)
    results.fake.push(f.rps)
    results.bare.push(b.rps)
    yield* Console.log(
      `round ${i}: FakeTmdb ${f.rps.toFixed(0)} req/s (statuses ${JSON.stringify(f.statuses)}), bare ${
        b.rps.toFixed(0)
      } req/s`
    )
  }
  const summary = (name: string, rps: ReadonlyArray<number>) =>
    `${name}: median ${median(rps).toFixed(0)} req/s, min ${Math.min(...rps).toFixed(0)}, max ${
      Math.max(...rps).toFixed(0)
    }`
  yield* Console.log(summary("FakeTmdb.serve", results.fake))
  yield* Console.log(summary("bare node:http", results.bare))
  yield* Console.log(`ratio of medians (FakeTmdb / bare): ${(median(results.fake) / median(results.bare)).toFixed(2)}`)
}).pipe(Effect.scoped)

NodeRuntime.runMain(program)
