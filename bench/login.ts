/**
 * `npm run bench`: the full v3 password login (request token, validate with login, session) side by side, in one
 * process run, against a bare node:http TMDB stand-in in its own process (bench/login-server.mjs).
 *
 * Each row does the same work: FLOWS logins at concurrency CONCURRENCY, after a warm-up; the rows are interleaved,
 * RUNS times. It prints flows/s and client CPU per flow (`process.cpuUsage` of this process: the server shares the
 * machine's cores, so CPU per flow is the steadier figure) as median (min-max), and the ratios to raw undici. Then a
 * flood: FLOOD logins started at once through this library's defaults: time, failures, peak RSS, and the live heap per
 * in-flight flow after a GC.
 *
 * Both lines of the package run side by side: the 0.x line (dist/, Effect 3) and the 1.x line (effect4/dist, Effect
 * 4, its rows from effect4/bench/flows.ts), each on its own `effect`. The run is on Node 22 (scripts/node22.mjs): the
 * 1.x line needs it, and figures on Node 20 are not comparable with these.
 *
 *   npm run bench [-- FLOWS CONCURRENCY RUNS FLOOD]     (defaults 2000 32 3 10000)
 */
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { TMDB } from "@lorenzopant/tmdb"
import { type ConfigError, Context, Effect, Layer, Redacted, Scope } from "effect"
import { fork } from "node:child_process"
import { cpus } from "node:os"
import { fileURLToPath } from "node:url"
import { Agent, request } from "undici"
import type * as Lib from "../src/index.js"
import { AuthService, FakeTmdb, TmdbConfig, TmdbHttpClient } from "./built.js"

import { redirectTmdbFetch } from "./redirect-fetch.js"

/** effect4/bench/flows.ts, typed here by what this file uses (its own types are Effect 4's). */
interface Effect4Flows {
  readonly rows: (settings: Effect4Settings) => Promise<ReadonlyArray<Row & { readonly zeroX?: string }>>
  readonly defaultsFlow: (settings: Effect4Settings) => Promise<Flow>
}
interface Effect4Settings {
  readonly url: string
  readonly accessToken: string
  readonly login: { readonly username: string; readonly password: string }
}
interface Row {
  readonly name: string
  readonly flow: Flow
  readonly vs?: string
}
const effect4 = (await import(new URL("../effect4/bench/flows.ts", import.meta.url).href)) as Effect4Flows

const arg = (index: number, fallback: number): number => Number(process.argv[2 + index] ?? fallback)
const FLOWS = arg(0, 2000)
const CONCURRENCY = arg(1, 32)
const RUNS = arg(2, 3)
const FLOOD = arg(3, 10_000)
const ACCESS_TOKEN = FakeTmdb.defaults.accessToken
const LOGIN = { username: "demo", password: "demo-password" }

const server = await new Promise<{ url: string; stop: () => void }>((resolve) => {
  const child = fork(fileURLToPath(new URL("./login-server.mjs", import.meta.url)), [], {
    stdio: ["ignore", "inherit", "inherit", "ipc"]
  })
  child.once("message", (message: { url: string }) => resolve({ url: message.url, stop: () => child.send("stop") }))
})

/** One login flow of a client, as a promise. */
type Flow = () => Promise<unknown>

// Clients ---------------------------------------------------------------------------------------------------------

const headers = { authorization: `Bearer ${ACCESS_TOKEN}`, accept: "application/json" }
const jsonHeaders = { ...headers, "content-type": "application/json" }

/** One request of a raw client: method, path and JSON body in, the parsed JSON answer out. */
type RawCall = (method: "GET" | "POST", path: string, body?: unknown) => Promise<Record<string, string>>

/** The three requests of a login over a raw client. */
const rawFlow = (call: RawCall): Flow => async () => {
  const token = await call("GET", "/3/authentication/token/new")
  await call("POST", "/3/authentication/token/validate_with_login", { ...LOGIN, request_token: token["request_token"] })
  return call("POST", "/3/authentication/session/new", { request_token: token["request_token"] })
}

const requestInit = (method: "GET" | "POST", body: unknown) => ({
  method,
  headers: body === undefined ? headers : jsonHeaders,
  ...(body === undefined ? {} : { body: JSON.stringify(body) })
})

const undiciFlow = (): Flow => {
  const dispatcher = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 60_000 })
  return rawFlow(async (method, path, body) => {
    const response = await request(`${server.url}${path}`, { ...requestInit(method, body), dispatcher })
    return response.body.json() as Promise<Record<string, string>>
  })
}

const fetchFlow = (): Flow =>
  rawFlow(async (method, path, body) => {
    const response = await fetch(`${server.url}${path}`, requestInit(method, body))
    return response.json() as Promise<Record<string, string>>
  })

/**
 * The platform's HttpClient alone, as an app uses it for its own requests: `execute` and `response.json`, the three
 * requests of a login (the platform's own spans on, as by default).
 */
const platformFlow = async (http: Layer.Layer<HttpClient.HttpClient>): Promise<Flow> => {
  const scope = await Effect.runPromise(Scope.make())
  const client = Context.get(await Effect.runPromise(Layer.buildWithScope(http, scope)), HttpClient.HttpClient)
  const call = (method: "GET" | "POST", path: string, body?: unknown) => {
    const request = HttpClientRequest.make(method)(`${server.url}${path}`, {
      headers: body === undefined ? headers : jsonHeaders
    })
    return Effect.flatMap(
      client.execute(
        body === undefined ? request : HttpClientRequest.bodyText(request, JSON.stringify(body), "application/json")
      ),
      (response) => response.json
    ) as Effect.Effect<Record<string, string>, unknown>
  }
  const flow = Effect.flatMap(call("GET", "/3/authentication/token/new"), (token) =>
    Effect.zipRight(
      call("POST", "/3/authentication/token/validate_with_login", { ...LOGIN, request_token: token["request_token"] }),
      call("POST", "/3/authentication/session/new", { request_token: token["request_token"] })
    ))
  return () => Effect.runPromise(flow)
}

const lorenzopantFlow = (): Flow => {
  const tmdb = new TMDB(ACCESS_TOKEN, { deduplication: false })
  return async () => {
    const token = await tmdb.authentication.create_request_token()
    await tmdb.authentication.create_session_with_login({ ...LOGIN, request_token: token.request_token })
    return tmdb.authentication.create_session({ request_token: token.request_token })
  }
}

// The defaults read their settings from the environment, as an app's do.
process.env["TMDB_ACCESS_TOKEN"] = ACCESS_TOKEN
process.env["TMDB_BASE_URL"] = server.url

/** `AuthService.layer` over `http`, configured as the defaults are. */
const over = (http: Layer.Layer<HttpClient.HttpClient>) =>
  AuthService.layer.pipe(
    Layer.provide(TmdbConfig.layer({ accessToken: ACCESS_TOKEN, baseUrl: server.url })),
    Layer.provide(http)
  )

/** This library's `login` from `live`, with tracing on or off; the service built once, as an app would. */
const oursFlow = async (
  live: Layer.Layer<Lib.AuthService, ConfigError.ConfigError>,
  tracing: boolean
): Promise<Flow> => {
  // Built once into a scope that stays open for the whole run, as an app's layer is.
  const scope = await Effect.runPromise(Scope.make())
  const auth = Context.get(await Effect.runPromise(Layer.buildWithScope(live, scope)), AuthService)
  const login = auth.login({ username: LOGIN.username, password: Redacted.make(LOGIN.password) })
  const program = tracing ? login : Effect.withTracerEnabled(login, false)
  return () => Effect.runPromise(program)
}

// Measurement ------------------------------------------------------------------------------------------------------

/** FLOWS flows, CONCURRENCY at a time. */
const drive = async (flow: Flow, flows: number) => {
  let next = 0
  const worker = async () => {
    while (next < flows) {
      next += 1
      await flow()
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
}

const collect = (globalThis as { gc?: () => void }).gc

const measure = async (flow: Flow) => {
  // Each row starts on a collected heap: the garbage of the row before is not collected on this row's time.
  collect?.()
  const cpu = process.cpuUsage()
  const started = performance.now()
  await drive(flow, FLOWS)
  const seconds = (performance.now() - started) / 1000
  const used = process.cpuUsage(cpu)
  return { flowsPerSecond: FLOWS / seconds, cpuMillisPerFlow: (used.user + used.system) / 1000 / FLOWS }
}

const restoreFetch = redirectTmdbFetch(server.url)

/** Each row, and the row its transport is measured against (`vs`: the name of the baseline row). */
const effect4Settings = { url: server.url, accessToken: ACCESS_TOKEN, login: LOGIN }
const effect4Rows = await effect4.rows(effect4Settings)
const clients: Array<Row & { readonly zeroX?: string }> = [
  { name: "undici.request, raw", flow: undiciFlow() },
  { name: "fetch, raw", flow: fetchFlow() },
  { name: "platform HttpClient alone, undici (layerUndici)", flow: await platformFlow(NodeHttpClient.layerUndici) },
  { name: "platform HttpClient alone, fetch (FetchHttpClient)", flow: await platformFlow(FetchHttpClient.layer) },
  { name: "@lorenzopant/tmdb 1.26", flow: lorenzopantFlow() },
  {
    name: "effect-tmdb-auth login, defaults (layerLive)",
    flow: await oursFlow(AuthService.layerLive, true),
    vs: "undici.request, raw"
  },
  {
    name: "effect-tmdb-auth login, tracing off",
    flow: await oursFlow(AuthService.layerLive, false),
    vs: "undici.request, raw"
  },
  {
    name: "effect-tmdb-auth login, platform undici client",
    flow: await oursFlow(over(NodeHttpClient.layerUndici), true),
    vs: "platform HttpClient alone, undici (layerUndici)"
  },
  {
    name: "effect-tmdb-auth login, FetchHttpClient",
    flow: await oursFlow(over(FetchHttpClient.layer), true),
    vs: "platform HttpClient alone, fetch (FetchHttpClient)"
  },
  {
    name: "effect-tmdb-auth login, TmdbHttpClient.layerFetch",
    flow: await oursFlow(over(TmdbHttpClient.layerFetch), true),
    vs: "fetch, raw"
  },
  ...effect4Rows
]

const samples = clients.map(() => [] as Array<{ flowsPerSecond: number; cpuMillisPerFlow: number }>)
for (const client of clients) await drive(client.flow, 200) // warm-up: JIT, connections
for (let run = 0; run < RUNS; run++) {
  for (const [i, client] of clients.entries()) samples[i]!.push(await measure(client.flow))
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const range = (xs: ReadonlyArray<number>, digits: number) =>
  `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)})`

console.log(`${new Date().toISOString().slice(0, 10)}, ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}`)
console.log(`${FLOWS} login flows (token, validate, session) at concurrency ${CONCURRENCY}, ${RUNS} runs interleaved`)
console.log(
  "| client | flows/s | CPU per flow (ms) | flows/s vs undici | CPU vs undici | flows/s vs its transport alone (target 0.8) |"
)
console.log("|---|---|---|---|---|---|")
const base = samples[0]!
const medianRate = (i: number) => median(samples[i]!.map((x) => x.flowsPerSecond))
for (const [i, client] of clients.entries()) {
  const s = samples[i]!
  const rate = s.map((x) => x.flowsPerSecond)
  const cpu = s.map((x) => x.cpuMillisPerFlow)
  const vs = client.vs === undefined ? -1 : clients.findIndex((c) => c.name === client.vs)
  // Per run (the rows are interleaved, so run k of each row shared the machine's state): median (min-max).
  const ratios = vs < 0 ? [] : s.map((x, run) => x.flowsPerSecond / samples[vs]![run]!.flowsPerSecond)
  console.log(
    `| ${client.name} | ${range(rate, 0)} | ${range(cpu, 3)} | ${
      (median(rate) / median(base.map((x) => x.flowsPerSecond))).toFixed(2)
    } | ${(median(cpu) / median(base.map((x) => x.cpuMillisPerFlow))).toFixed(2)} | ${
      vs < 0
        ? ""
        : `${(median(rate) / medianRate(vs)).toFixed(2)} (runs ${
          ratios.map((r) => r.toFixed(2)).join(", ")
        }) vs ${client.vs}`
    } |`
  )
}

// The 1.x line against the 0.x line, transport by transport: the same run, the same server. Paired by run (run k of
// both rows shared the machine's state): the median of the per-run ratios, and each run's.
console.log()
console.log("| transport | 1.x flows/s vs 0.x: median of runs (each run) | 1.x CPU per flow vs 0.x: median of runs |")
console.log("|---|---|---|")
for (const [i, client] of clients.entries()) {
  if (client.zeroX === undefined) continue
  const j = clients.findIndex((c) => c.name === client.zeroX)
  const rates = samples[i]!.map((x, run) => x.flowsPerSecond / samples[j]![run]!.flowsPerSecond)
  const cpus = samples[i]!.map((x, run) => x.cpuMillisPerFlow / samples[j]![run]!.cpuMillisPerFlow)
  console.log(
    `| ${client.name.replace(/^1\.x login, /, "")} | ${median(rates).toFixed(2)} (${
      rates.map((r) => r.toFixed(2)).join(", ")
    }) | ${median(cpus).toFixed(2)} (${cpus.map((r) => r.toFixed(2)).join(", ")}) |`
  )
}

// Flood --------------------------------------------------------------------------------------------------------------

const gc = collect
/** FLOOD logins started at once through a line's defaults. */
const floodOf = async (line: string, flood: Flow) => {
  gc?.()
  const baseline = process.memoryUsage().heapUsed
  let peakRss = process.memoryUsage().rss
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20)
  const started = performance.now()
  const all = Promise.allSettled(Array.from({ length: FLOOD }, () => flood()))
  // While they are queued: a GC, then the live heap per flow in flight or waiting.
  await new Promise((resolve) => setTimeout(resolve, 50))
  gc?.()
  const heapPerFlow = (process.memoryUsage().heapUsed - baseline) / FLOOD
  const results = await all
  const floodSeconds = (performance.now() - started) / 1000
  clearInterval(sampler)
  const failures = results.filter((r) => r.status === "rejected").length
  console.log(
    `flood, ${line}: ${FLOOD} logins at once through the defaults: ${floodSeconds.toFixed(1)} s, ${failures} failed, ` +
      `peak RSS ${(peakRss / 1e6).toFixed(0)} MB, live heap per in-flight flow ${
        gc === undefined ? "n/a (run with --expose-gc)" : `${(heapPerFlow / 1000).toFixed(1)} KB`
      }`
  )
}
console.log()
await floodOf("0.x", await oursFlow(AuthService.layerLive, true))
await floodOf("1.x", await effect4.defaultsFlow(effect4Settings))
restoreFetch()
server.stop()
