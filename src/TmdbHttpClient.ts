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
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
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
  readonly keepAliveTimeout?: Duration.DurationInput | undefined
}

/**
 * The client over new undici `Agent`s, closed with the scope. Fails with a `ConfigError` naming the package to
 * install when `@effect/platform-node` (an optional peer dependency, which brings undici) is missing.
 *
 * @since 0.3.0
 */
export const make = (
  options: TmdbHttpClientOptions = {}
): Effect.Effect<HttpClient.HttpClient, ConfigError.ConfigError, Scope.Scope> =>
  Effect.flatMap(nodeUndici("TmdbHttpClient"), ({ NodeHttpClient, Undici }) => {
    const keepAliveTimeout = Duration.toMillis(options.keepAliveTimeout ?? "4 seconds")
    const agent = (connections: number | undefined) =>
      Effect.acquireRelease(
        Effect.sync(() =>
          new Undici.Agent({ ...(connections === undefined ? {} : { connections }), keepAliveTimeout })
        ),
        (agent) => Effect.promise(() => agent.destroy())
      )
    return Effect.zipWith(
      agent(options.connections),
      agent(undefined),
      (lean, general) =>
        Object.assign(NodeHttpClient.makeUndici(general), {
          [LeanTransportId]: undiciTransport(lean as unknown as Dispatcher)
        })
    )
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
export const layer: Layer.Layer<HttpClient.HttpClient, ConfigError.ConfigError, TmdbConfig> = Layer.scoped(
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
 * is built (else `globalThis.fetch`, looked up at each request); the lean path does not see either when it is provided
 * only around a single call.
 *
 * @since 0.6.0
 */
export const makeFetch: Effect.Effect<HttpClient.HttpClient> = Effect.gen(function*() {
  const fetch = yield* Effect.serviceOption(FetchHttpClient.Fetch)
  const init = yield* Effect.serviceOption(FetchHttpClient.RequestInit)
  const client = yield* Effect.provide(HttpClient.HttpClient, FetchHttpClient.layer)
  const fetchOf = Option.match(fetch, {
    onNone: () => () => globalThis.fetch,
    onSome: (f) => () => f
  })
  return Object.assign(client, { [LeanTransportId]: fetchTransport(fetchOf, Option.getOrUndefined(init)) })
})

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
