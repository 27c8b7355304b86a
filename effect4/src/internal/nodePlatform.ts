/**
 * The Node-only modules (`@effect/platform-node`, `node:http`), loaded when a Node-only feature is first used:
 * `AuthService.layerLive`, `TmdbHttpClient`, `FakeTmdb.serve`, `awaitApproval`.
 *
 * Why loaded this way: `@effect/platform-node` is an optional peer dependency, absent in browser and edge apps. The
 * specifiers are computed, so bundlers (esbuild, Vite, webpack) do not follow them into a browser bundle, and a
 * missing package becomes a typed error that says what to install instead of a failed import.
 */
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as HttpServerError from "effect/http/HttpServerError"
import type * as Http from "node:http"

type NodeHttpClient = typeof import("@effect/platform-node/NodeHttpClient")
type NodeUndici = typeof import("@effect/platform-node/Undici")
type NodeHttpServer = typeof import("@effect/platform-node/NodeHttpServer")
type NodeHttpServerRequest = typeof import("@effect/platform-node/NodeHttpServerRequest")

const install = "npm install @effect/platform-node@~4.1.5"

/** Why loading failed, in one sentence that says what to do. */
export const missingMessage = (feature: string) =>
  `${feature} runs on Node and needs the optional peer dependency @effect/platform-node: ${install}` +
  " (in a browser or edge app, use AuthService.layer with TmdbHttpClient.layerFetch or FetchHttpClient.layer instead)"

const load = <M>(specifier: string, feature: string): Effect.Effect<M, string> =>
  Effect.tryPromise({
    // A variable specifier: see the module comment.
    try: () => import(/* @vite-ignore */ specifier) as Promise<M>,
    catch: () => missingMessage(feature)
  })

/** A missing package as a `ConfigError`: Effect 4 has no `Unsupported` variant, the source's error says it. */
const missing = (message: string): Config.ConfigError =>
  new Config.ConfigError(new ConfigProvider.SourceError({ message }))

/** `@effect/platform-node/NodeHttpClient`, or a `ConfigError` naming the package to install. */
export const nodeHttpClient = (feature: string): Effect.Effect<NodeHttpClient, Config.ConfigError> =>
  Effect.mapError(load<NodeHttpClient>("@effect/platform-node/NodeHttpClient", feature), missing)

/** undici, as `@effect/platform-node` ships it, and its HTTP client; a `ConfigError` naming the package to install. */
export const nodeUndici = (feature: string): Effect.Effect<
  { readonly NodeHttpClient: NodeHttpClient; readonly Undici: NodeUndici },
  Config.ConfigError
> =>
  Effect.all({
    NodeHttpClient: load<NodeHttpClient>("@effect/platform-node/NodeHttpClient", feature),
    Undici: load<NodeUndici>("@effect/platform-node/Undici", feature)
  }).pipe(Effect.mapError(missing))

/** What a loopback HTTP server needs; a `ServeError` naming the package to install when it is missing. */
export const nodeHttpServer = (feature: string): Effect.Effect<
  {
    readonly NodeHttpServer: NodeHttpServer
    readonly NodeHttpServerRequest: NodeHttpServerRequest
    readonly Http: typeof Http
  },
  HttpServerError.ServeError
> =>
  Effect.all({
    NodeHttpServer: load<NodeHttpServer>("@effect/platform-node/NodeHttpServer", feature),
    NodeHttpServerRequest: load<NodeHttpServerRequest>("@effect/platform-node/NodeHttpServerRequest", feature),
    Http: load<typeof Http>("node:http", feature)
  }).pipe(Effect.mapError((message) =>
    // ServeError has no message of its own: give it this one, so that `Cause.pretty` and logs show what to do.
    Object.assign(new HttpServerError.ServeError({ cause: new Error(message) }), { message })
  ))
