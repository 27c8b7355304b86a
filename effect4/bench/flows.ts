/**
 * The 1.x line's rows of `npm run bench` (bench/login.ts at the repository's root runs them beside the 0.x rows, in
 * one process on Node 22): this line's built package (effect4/dist) on Effect 4, and Effect 4's own HTTP clients alone
 * as the baselines of the rows over them. Imported dynamically by bench/login.ts, so that each line's `effect` is its
 * own.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Context, Effect, Layer, Redacted, Scope } from "effect"
import type * as Config from "effect/Config"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import type * as Lib from "../src/index.js"

const dist = new URL("../dist/src/", import.meta.url)
if (!existsSync(fileURLToPath(new URL("index.js", dist)))) {
  throw new Error("effect4/dist/ is missing: run `npm run build -w effect4` first (npm run bench does)")
}
const { AuthService, TmdbConfig, TmdbHttpClient } = (await import(new URL("index.js", dist).href)) as typeof Lib

/** One login flow, as a promise. */
export type Flow = () => Promise<unknown>

/** A row of the table: its name, its flow, and the name of the row it is measured against. */
export interface Row {
  readonly name: string
  readonly flow: Flow
  readonly vs?: string
}

export interface Settings {
  readonly url: string
  readonly accessToken: string
  readonly login: { readonly username: string; readonly password: string }
}

/** The rows of the 1.x line; `zeroX` names the 0.x rows they are compared with. */
export const rows = async (settings: Settings): Promise<ReadonlyArray<Row & { readonly zeroX?: string }>> => {
  const headers = { authorization: `Bearer ${settings.accessToken}`, accept: "application/json" }
  const jsonHeaders = { ...headers, "content-type": "application/json" }

  const build = async <A, I>(layer: Layer.Layer<A, unknown>, tag: Context.Key<A, I>): Promise<I> => {
    // Built once into a scope that stays open for the whole run, as an app's layer is.
    const scope = await Effect.runPromise(Scope.make())
    return Context.get(await Effect.runPromise(Layer.buildWithScope(layer, scope)), tag)
  }

  /** Effect 4's HttpClient alone, as an app uses it for its own requests: `execute` and `response.json`. */
  const platformFlow = async (http: Layer.Layer<HttpClient.HttpClient>): Promise<Flow> => {
    const client = await build(http, HttpClient.HttpClient)
    const call = (method: "GET" | "POST", path: string, body?: unknown) => {
      const request = HttpClientRequest.make(method)(`${settings.url}${path}`, {
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
      Effect.andThen(
        call("POST", "/3/authentication/token/validate_with_login", {
          ...settings.login,
          request_token: token["request_token"]
        }),
        call("POST", "/3/authentication/session/new", { request_token: token["request_token"] })
      ))
    return () => Effect.runPromise(flow)
  }

  const over = (http: Layer.Layer<HttpClient.HttpClient>) =>
    AuthService.layer.pipe(
      Layer.provide(TmdbConfig.layer({ accessToken: settings.accessToken, baseUrl: settings.url })),
      Layer.provide(http)
    )

  const oursFlow = async (
    live: Layer.Layer<Lib.AuthService, Config.ConfigError>,
    tracing: boolean
  ): Promise<Flow> => {
    const auth = await build(live, AuthService)
    const login = auth.login({ username: settings.login.username, password: Redacted.make(settings.login.password) })
    const program = tracing ? login : Effect.withTracerEnabled(login, false)
    return () => Effect.runPromise(program)
  }

  return [
    {
      name: "1.x: Effect 4 HttpClient alone, undici (layerUndici)",
      flow: await platformFlow(NodeHttpClient.layerUndici)
    },
    {
      name: "1.x: Effect 4 HttpClient alone, fetch (FetchHttpClient)",
      flow: await platformFlow(FetchHttpClient.layer)
    },
    {
      name: "1.x login, defaults (layerLive)",
      flow: await oursFlow(AuthService.layerLive, true),
      vs: "undici.request, raw",
      zeroX: "effect-tmdb-auth login, defaults (layerLive)"
    },
    {
      name: "1.x login, tracing off",
      flow: await oursFlow(AuthService.layerLive, false),
      vs: "undici.request, raw",
      zeroX: "effect-tmdb-auth login, tracing off"
    },
    {
      name: "1.x login, platform undici client",
      flow: await oursFlow(over(NodeHttpClient.layerUndici), true),
      vs: "1.x: Effect 4 HttpClient alone, undici (layerUndici)",
      zeroX: "effect-tmdb-auth login, platform undici client"
    },
    {
      name: "1.x login, FetchHttpClient",
      flow: await oursFlow(over(FetchHttpClient.layer), true),
      vs: "1.x: Effect 4 HttpClient alone, fetch (FetchHttpClient)",
      zeroX: "effect-tmdb-auth login, FetchHttpClient"
    },
    {
      name: "1.x login, TmdbHttpClient.layerFetch",
      flow: await oursFlow(over(TmdbHttpClient.layerFetch), true),
      vs: "fetch, raw",
      zeroX: "effect-tmdb-auth login, TmdbHttpClient.layerFetch"
    }
  ]
}

/** The 1.x line's defaults (`AuthService.layerLive`), for the flood. */
export const defaultsFlow = async (settings: Settings): Promise<Flow> => {
  const scope = await Effect.runPromise(Scope.make())
  const auth = Context.get(await Effect.runPromise(Layer.buildWithScope(AuthService.layerLive, scope)), AuthService)
  const login = auth.login({ username: settings.login.username, password: Redacted.make(settings.login.password) })
  return () => Effect.runPromise(login)
}
