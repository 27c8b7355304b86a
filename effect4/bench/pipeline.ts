/**
 * `bench/pipeline.ts` (1.x, Effect 4, the sources through tsx): the library's own CPU per login, layer by layer, in one
 * process without a network. The exchange is a stub that answers from memory on the next microtask, so what is
 * measured is the pipeline around it:
 *
 * - floor: three stub exchanges chained in one fiber (the cost of any Effect program of three async steps);
 * - TmdbClient.request with `Schema.Unknown`, admission off, then on (20 permits for 32 callers: they queue);
 * - the same with the wire schemas (dates, `Redacted` secrets);
 * - AuthService.login (one span, expiry checks, the result classes), with tracing on and off.
 *
 *   node --import tsx bench/pipeline.ts [FLOWS]     (default 20000; 32 callers; 3 rounds; PIPELINE_ROW=k for row k)
 */
import { Context, Effect, Exit, Layer, Schema, Scope } from "effect"
import * as HttpClient from "effect/http/HttpClient"
import type * as Lib from "../src/index.js"
import { AuthService, TmdbClient, TmdbConfig } from "../src/index.js"
import type * as WireExchange from "../src/internal/wireExchange.js"

import * as Wire from "../src/internal/wire.js"
import { LeanTransportId } from "../src/internal/wireExchange.js"

const FLOWS = Number(process.argv[2] ?? 20_000)
const expiresAt = `${new Date(Date.now() + 3_600_000).toISOString().slice(0, 19).replace("T", " ")} UTC`
const answers: Record<string, string> = {
  "/3/authentication/token/new": JSON.stringify({
    success: true,
    expires_at: expiresAt,
    request_token: "a".repeat(40)
  }),
  "/3/authentication/token/validate_with_login": JSON.stringify({
    success: true,
    expires_at: expiresAt,
    request_token: "a".repeat(40)
  }),
  "/3/authentication/session/new": JSON.stringify({ success: true, session_id: "b".repeat(40) })
}

/** Answers from memory on the next microtask, as a socket's callback would, later. */
const start: WireExchange.LeanTransport["start"] = (request, _endpoint, _timeout, done) => {
  const text = answers[request.path.split("?")[0]!]!
  queueMicrotask(() => done(Exit.succeed({ status: 200, retryAfter: undefined, text })))
  return () => undefined
}
const stub: WireExchange.LeanTransport["exchange"] = (request, endpoint, timeout) =>
  Effect.callback((resume) => {
    start(request, endpoint, timeout, resume)
  })
const http = Object.assign(HttpClient.make(() => Effect.die(new Error("not used"))), {
  [LeanTransportId]: { start, exchange: stub }
})

const build = async (settings: Partial<Lib.TmdbConfigSettings>) => {
  const layer = AuthService.layer.pipe(
    Layer.provide(TmdbConfig.layer({ accessToken: "token", baseUrl: "http://127.0.0.1:1", ...settings })),
    Layer.provide(Layer.succeed(HttpClient.HttpClient, http))
  )
  const context = await Effect.runPromise(Layer.buildWithScope(layer, await Effect.runPromise(Scope.make())))
  return { auth: Context.get(context, AuthService), client: Context.get(context, TmdbClient) }
}
const on = await build({})
const off = await build({ admission: false })

const wire = (path: string) => ({ method: "GET", origin: "", path, headers: {}, body: undefined, maxBytes: 1 << 20 })
const floor = Effect.flatMap(
  stub(wire("/3/authentication/token/new"), "", undefined),
  () =>
    Effect.flatMap(
      stub(wire("/3/authentication/token/validate_with_login"), "", undefined),
      () => stub(wire("/3/authentication/session/new"), "", undefined)
    )
)
const threeRequests = <A, I, B, J>(
  client: Lib.TmdbClientShape,
  token: Schema.Codec<A, I>,
  session: Schema.Codec<B, J>
) => {
  return Effect.flatMap(
    client.request({
      method: "GET",
      path: "/3/authentication/token/new",
      response: token
    }),
    () =>
      Effect.andThen(
        client.request({
          method: "POST",
          path: "/3/authentication/token/validate_with_login",
          body: { username: "demo", password: "p", request_token: "t" },
          response: token
        }),
        client.request({
          method: "POST",
          path: "/3/authentication/session/new",
          body: { request_token: "t" },
          response: session
        })
      )
  )
}
const login = on.auth.login({ username: "demo", password: "p" })
const allRows: ReadonlyArray<readonly [string, Effect.Effect<unknown, unknown>]> = [
  ["floor: three stub exchanges in one fiber", floor],
  ["TmdbClient, Schema.Unknown, admission off", threeRequests(off.client, Schema.Unknown, Schema.Unknown)],
  ["TmdbClient, Schema.Unknown, admission on", threeRequests(on.client, Schema.Unknown, Schema.Unknown)],
  ["TmdbClient, wire schemas, admission on", threeRequests(on.client, Wire.RequestTokenResponse, Wire.SessionResponse)],
  ["AuthService.login (defaults)", login],
  ["AuthService.login, tracing off", Effect.withTracerEnabled(login, false)]
]
// PIPELINE_ROW=k: only row k (0-based), e.g. under `node --cpu-prof` to profile one layer.
const only = process.env["PIPELINE_ROW"]
const rows = only === undefined ? allRows : [allRows[Number(only)]!]

const drive = async (effect: Effect.Effect<unknown, unknown>, flows: number) => {
  let next = 0
  const worker = async () => {
    while (next < flows) {
      next += 1
      await Effect.runPromise(effect)
    }
  }
  await Promise.all(Array.from({ length: 32 }, worker))
}

const samples = rows.map(() => [] as Array<number>)
for (const [, effect] of rows) await drive(effect, 2000) // warm-up
for (let round = 0; round < 3; round++) {
  for (const [i, [, effect]] of rows.entries()) {
    ;(globalThis as { gc?: () => void }).gc?.()
    const cpu = process.cpuUsage()
    await drive(effect, FLOWS)
    const used = process.cpuUsage(cpu)
    samples[i]!.push((used.user + used.system) / FLOWS)
  }
}
const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
console.log(`${FLOWS} flows of three requests, 32 callers, no network; CPU per flow in µs, median (min-max) of 3`)
console.log("| layer | µs per flow |\n|---|---|")
for (const [i, [name]] of rows.entries()) {
  const s = samples[i]!
  console.log(`| ${name} | ${median(s).toFixed(1)} (${Math.min(...s).toFixed(1)}-${Math.max(...s).toFixed(1)}) |`)
}
