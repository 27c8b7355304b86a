/**
 * The HTTP transport of `AuthService.layerLive`: undici on Node, lean on the path every TMDB request takes.
 *
 * It is an ordinary `HttpClient` (the platform's undici client over a keep-alive `Agent`), so anything can use it;
 * `TmdbClient` recognises it and sends its own requests through a leaner exchange over an `Agent` of their own: no
 * per-request `AbortController`, `URL`, response stream or response object, and a timeout that is a timer, not two
 * forked fibers. `AuthService` behaves the same over any `HttpClient` (the platform's undici and fetch clients, a test
 * client); this one is faster (BENCHMARKS.md).
 *
 * {@link layerFetch} is the same idea over `fetch`, for browsers, edge runtimes and Node apps that want `fetch`: the
 * platform's `FetchHttpClient` for anything else, a lean fetch exchange for `TmdbClient`'s own requests.
 *
 * @since 0.3.0
 */
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { fetchTransport } from "./internal/fetchExchange.js"
import { nodeUndici } from "./internal/nodePlatform.js"
import { type Dispatcher, undiciTransport } from "./internal/undiciExchange.js"
import { LeanTransportId } from "./internal/wireExchange.js"
import { TmdbConfig } from "./TmdbConfig.js"

/**
 * Options of {@link make}.
 *
 * @since 0.3.0
 */
export interface TmdbHttpClientOptions {
  /**
   * Connections per origin for `TmdbClient`'s own requests, at most; `undefined` for no limit. {@link layer} sets it
   * to the admission cap (`admission.maxInFlight`). Requests through the `HttpClient` interface (an app's, or
   * `TmdbClient.httpClient`) use an agent of their own without a limit, so that a response whose body an app has not
   * read yet never holds a connection `TmdbClient` needs.
   */
  readonly connections?: number | undefined
  /** How long an idle connection is kept open. Default 4 seconds (undici's default). */
  readonly keepAliveTimeout?: Duration.Input | undefined
}

/**
 * The client over new undici `Agent`s, closed with the scope. Fails with a `ConfigError` naming the package to
 * install when `@effect/platform-node` (an optional peer dependency, which brings undici) is missing.
 *
 * @since 0.3.0
 */
export const make = (
  options: TmdbHttpClientOptions = {}
): Effect.Effect<HttpClient.HttpClient, Config.ConfigError, Scope.Scope> =>
  Effect.flatMap(nodeUndici("TmdbHttpClient"), ({ NodeHttpClient, Undici }) => {
    const keepAliveTimeout = Duration.toMillis(options.keepAliveTimeout ?? "4 seconds")
    const agent = (connections: number | undefined) =>
      Effect.acquireRelease(
        Effect.sync(() =>
          new Undici.Agent({ ...(connections === undefined ? {} : { connections }), keepAliveTimeout })
        ),
        (agent) => Effect.promise(() => agent.destroy())
      )
    return Effect.flatMap(Effect.zip(agent(options.connections), agent(undefined)), ([lean, general]) =>
      Effect.map(
        Effect.provideService(NodeHttpClient.makeUndici, NodeHttpClient.Dispatcher, general),
        (client) => Object.assign(client, { [LeanTransportId]: undiciTransport(lean as unknown as Dispatcher) })
      ))
  })

/**
 * The client as a layer, for the context's `TmdbConfig`: `TmdbClient`'s requests on a keep-alive agent with as many
 * connections as admission lets requests in flight (no limit when admission is off); other requests on an agent of
 * their own.
 *
 * @example
 * ```ts
 * // What AuthService.layerLive is, with the configuration given in code:
 * const live = AuthService.layer.pipe(
 *   Layer.provide(TmdbHttpClient.layer),
 *   Layer.provide(TmdbConfig.layer({ accessToken }))
 * )
 * ```
 * @since 0.3.0
 */
export const layer: Layer.Layer<HttpClient.HttpClient, Config.ConfigError, TmdbConfig> = Layer.effect(
  HttpClient.HttpClient,
  Effect.flatMap(
    TmdbConfig,
    (config) => make({ connections: config.admission === false ? undefined : config.admission.maxInFlight })
  )
)

/**
 * The platform's `FetchHttpClient`, with a lean fetch exchange for `TmdbClient`'s own requests: `fetch` called with the
 * request as built, the body read with its reader and a byte count, the timeout a timer that aborts the fetch; no
 * per-request `URL`, `Headers` or response objects (over the plain `FetchHttpClient.layer`, a login costs about
 * twice the CPU: BENCHMARKS.md). For browsers, edge runtimes and any app on `fetch`; nothing Node-only is loaded.
 *
 * Both paths use the `FetchHttpClient.Fetch` and `FetchHttpClient.RequestInit` found in the context where the client
 * is built (else `globalThis.fetch`, looked up at each request, so that a `fetch` replaced later, e.g. by a test, is
 * used); the lean path does not see either when it is provided only around a single call.
 *
 * @since 0.6.0
 */
export const makeFetch: Effect.Effect<HttpClient.HttpClient> = Effect.gen(function*() {
  const context = yield* Effect.context<never>()
  // Only what the context holds: the `Fetch` reference's default is the `fetch` of the first request that read it.
  const fetch = Context.getOrUndefined(context, FetchHttpClient.Fetch)
  const init = Context.getOrUndefined(context, FetchHttpClient.RequestInit)
  // A layer of its own (not one memoized elsewhere): its requests see this context's `Fetch` and `RequestInit`.
  const client = yield* Effect.provide(Effect.service(HttpClient.HttpClient), FetchHttpClient.layer, { local: true })
  const fetchOf = fetch === undefined ? () => globalThis.fetch : () => fetch
  // Without a `Fetch` of the context's, the platform's requests get `globalThis.fetch` as it is at each request (as
  // 0.x did): the reference's default is the `fetch` of the first request that read it, for the whole process.
  const platform = fetch === undefined
    ? HttpClient.transform(client, (effect) =>
      Effect.flatMap(
        Effect.context<never>(),
        (current) =>
          Context.getOrUndefined(current, FetchHttpClient.Fetch) === undefined
            ? Effect.provideService(effect, FetchHttpClient.Fetch, currentFetch)
            : effect
      ))
    : client
  return Object.assign(platform, { [LeanTransportId]: fetchTransport(fetchOf, init) })
})

/** `globalThis.fetch` as it is when called. */
const currentFetch: typeof globalThis.fetch = (input, init) => globalThis.fetch(input, init)

/**
 * {@link makeFetch} as a layer: the transport for `AuthService.layer` in a browser or edge app.
 *
 * @example
 * ```ts
 * const live = AuthService.layer.pipe(
 *   Layer.provide(TmdbConfig.layer({ accessToken })),
 *   Layer.provide(TmdbHttpClient.layerFetch)
 * )
 * ```
 * @since 0.6.0
 */
export const layerFetch: Layer.Layer<HttpClient.HttpClient> = Layer.effect(HttpClient.HttpClient, makeFetch)
