/**
 * The HTTP transport of `AuthService.layerLive`: undici on Node, lean on the path every TMDB request takes.
 *
 * It is an ordinary `HttpClient` (the platform's undici client over a keep-alive `Agent`), so anything can use it;
 * `TmdbClient` recognises it and sends its own requests through a leaner exchange over an `Agent` of their own: no
 * per-request `AbortController`, `URL`, response stream or response object, and a timeout that is a timer, not two
 * forked fibers. `AuthService` behaves the same over any `HttpClient` (the platform's undici and fetch clients, a test
 * client); this one is faster (BENCHMARKS.md).
 *
 * @since 0.3.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
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
