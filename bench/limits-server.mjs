// The TMDB stand-in of bench/limits.ts, in its own process: FakeTmdb.serve (the built package), limited to LIMIT
// requests per sliding second (Retry-After: 1 on a 429; 0 = no limit), answering a share RANDOM_429 of requests with
// a 429 (Retry-After: 1) at random whatever the rate, and every other answer after LATENCY_MS. Sends {"url"} once
// listening; answers "counters" over IPC with the answers per status, and stops on "stop".
//   node bench/limits-server.mjs LIMIT [RANDOM_429 [LATENCY_MS]]   (started by bench/limits.ts with an IPC channel)
import { Effect, Exit, Scope } from "effect"
import { FakeTmdb } from "../dist/src/testing/index.js"

const limit = Number(process.argv[2] ?? "50")
const random429 = Number(process.argv[3] ?? "0")
const latencyMillis = Number(process.argv[4] ?? "0")
const scope = await Effect.runPromise(Scope.make())
const server = await Effect.runPromise(
  Scope.extend(
    FakeTmdb.serve({
      ...(limit > 0 ? { rateLimit: { requests: limit, window: "1 second" } } : {}),
      ...(random429 > 0 || latencyMillis > 0
        ? {
          faults: {
            seed: 7,
            rateLimited: random429,
            // Every answer that is not a random 429 comes after the latency.
            ...(latencyMillis > 0 ? { delayed: 1, delay: `${latencyMillis} millis` } : {})
          }
        }
        : {})
    }),
    scope
  )
)
process.on("message", async (message) => {
  if (message === "counters") {
    const counters = await Effect.runPromise(server.counters)
    const byStatus = {}
    for (const { count, status } of counters) byStatus[status] = (byStatus[status] ?? 0) + count
    process.send({ counters: byStatus })
  } else if (message === "stop") {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    process.exit(0)
  }
})
process.send({ url: server.url })
