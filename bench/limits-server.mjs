// The TMDB stand-in of bench/limits.ts, in its own process: FakeTmdb.serve (the built package) limited to LIMIT
// requests per second (Retry-After: 1 on a 429). Sends {"url"} once listening; answers "counters" over IPC with the
// answers per status, and stops on "stop".
//   node bench/limits-server.mjs LIMIT   (started by bench/limits.ts with an IPC channel)
import { Effect, Exit, Scope } from "effect"
import { FakeTmdb } from "../dist/testing/index.js"

const limit = Number(process.argv[2] ?? "50")
const scope = await Effect.runPromise(Scope.make())
const server = await Effect.runPromise(
  Scope.extend(FakeTmdb.serve({ rateLimit: { requests: limit, window: "1 second" } }), scope)
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
