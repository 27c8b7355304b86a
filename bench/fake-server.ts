/**
 * `npm run bench:fake`: how many requests per second FakeTmdb.serve answers on loopback.
 * The load comes from a separate process (bench/load.mjs) over keep-alive connections; each round sends
 * GET /3/authentication/token/new, which creates a request token in the fake's state.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { execFile } from "node:child_process"
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

const program = Effect.gen(function*() {
  const server = yield* FakeTmdb.serve()
  yield* Console.log(
    `FakeTmdb.serve on ${server.url}: ${rounds} rounds x ${requests} requests, ${concurrency} connections`
  )
  yield* round(server.url) // warm-up
  const results: Array<Round> = []
  for (let i = 1; i <= rounds; i++) {
    const result = yield* round(server.url)
    results.push(result)
    yield* Console.log(
      `round ${i}: ${result.rps.toFixed(0)} req/s (${result.seconds.toFixed(2)} s, statuses ${
        JSON.stringify(result.statuses)
      })`
    )
  }
  const rps = results.map((r) => r.rps)
  yield* Console.log(
    `median ${median(rps).toFixed(0)} req/s, min ${Math.min(...rps).toFixed(0)}, max ${Math.max(...rps).toFixed(0)}`
  )
}).pipe(Effect.scoped)

NodeRuntime.runMain(program)
