/**
 * `npm run bench:profile`: only this library's `login` (or, with TRANSPORT `raw`, the same three requests over raw
 * `undici.request`), FLOWS flows at concurrency CONCURRENCY against the stand-in of bench/login.ts. The CPU profile
 * covers the measured flows only (the inspector's profiler is started after the warm-up, so module loading and JIT
 * warm-up are not in it) and lands in bench/profiles/TRANSPORT.cpuprofile. Used to find where the time goes before
 * changing the hot path; bench/top-functions.mjs summarises a profile by self time.
 *
 *   npm run bench:profile [-- FLOWS CONCURRENCY TRANSPORT]   (defaults 10000 32 live; TRANSPORT: live | undici | fetch | layerFetch | raw)
 */
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { type ConfigError, Context, Effect, Exit, Layer, Redacted, Scope } from "effect"
import { fork } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { fileURLToPath } from "node:url"
import { Agent, request } from "undici"
import type * as Lib from "../src/index.js"
import { AuthService, FakeTmdb, TmdbConfig, TmdbHttpClient } from "./built.js"

const FLOWS = Number(process.argv[2] ?? 10_000)
const CONCURRENCY = Number(process.argv[3] ?? 32)
const TRANSPORT = process.argv[4] ?? "live"

const server = await new Promise<{ url: string; stop: () => void }>((resolve) => {
  const child = fork(fileURLToPath(new URL("./login-server.mjs", import.meta.url)), [], {
    stdio: ["ignore", "inherit", "inherit", "ipc"]
  })
  child.once("message", (message: { url: string }) => resolve({ url: message.url, stop: () => child.send("stop") }))
})

const config = { accessToken: FakeTmdb.defaults.accessToken, baseUrl: server.url }
// The defaults read their settings from the environment, as an app's do.
process.env["TMDB_ACCESS_TOKEN"] = config.accessToken
process.env["TMDB_BASE_URL"] = config.baseUrl
const http: Layer.Layer<HttpClient.HttpClient> = TRANSPORT === "fetch"
  ? FetchHttpClient.layer
  : TRANSPORT === "layerFetch"
  ? TmdbHttpClient.layerFetch
  : NodeHttpClient.layerUndici
const live: Layer.Layer<Lib.AuthService, ConfigError.ConfigError> = TRANSPORT === "live"
  ? AuthService.layerLive
  : AuthService.layer.pipe(
    Layer.provide(TmdbConfig.layer(config)),
    Layer.provide(http)
  )
const scope = await Effect.runPromise(Scope.make())
const auth = Context.get(await Effect.runPromise(Layer.buildWithScope(live, scope)), AuthService)
const login = auth.login({ username: "demo", password: Redacted.make("demo-password") })

/** The same three requests over raw undici (TRANSPORT `raw`): the baseline of the comparison. */
const rawLogin = () => {
  const dispatcher = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 60_000 })
  const headers = { authorization: `Bearer ${config.accessToken}`, accept: "application/json" }
  const call = async (method: "GET" | "POST", path: string, body?: unknown) => {
    const response = await request(`${server.url}${path}`, {
      method,
      headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      dispatcher
    })
    return response.body.json() as Promise<Record<string, string>>
  }
  return async () => {
    const token = await call("GET", "/3/authentication/token/new")
    const body = { username: "demo", password: "demo-password", request_token: token["request_token"] }
    await call("POST", "/3/authentication/token/validate_with_login", body)
    return call("POST", "/3/authentication/session/new", { request_token: token["request_token"] })
  }
}
const flow = TRANSPORT === "raw" ? rawLogin() : () => Effect.runPromise(login)

const drive = async (flows: number) => {
  let next = 0
  const worker = async () => {
    while (next < flows) {
      next += 1
      await flow()
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
}
await drive(1000) // warm-up: JIT, connections
const profiler = new Session()
profiler.connect()
await profiler.post("Profiler.enable")
await profiler.post("Profiler.start")
const started = performance.now()
const cpu = process.cpuUsage()
await drive(FLOWS)
const used = process.cpuUsage(cpu)
const { profile } = await profiler.post("Profiler.stop")
const directory = fileURLToPath(new URL("./profiles/", import.meta.url))
mkdirSync(directory, { recursive: true })
writeFileSync(`${directory}${TRANSPORT}.cpuprofile`, JSON.stringify(profile))
console.log(
  `${FLOWS} logins over ${TRANSPORT}: ${(FLOWS / ((performance.now() - started) / 1000)).toFixed(0)} flows/s, ` +
    `${
      ((used.user + used.system) / 1000 / FLOWS).toFixed(3)
    } ms CPU per flow (profile: bench/profiles/${TRANSPORT}.cpuprofile)`
)
server.stop()
await Effect.runPromise(Scope.close(scope, Exit.void))
