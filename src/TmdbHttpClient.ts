/**
 * The HTTP transport of `AuthService.layerLive`: undici on Node, lean on the path every TMDB request takes.
 *
 * It is an ordinary `HttpClient` (the platform's undici client over one keep-alive `Agent`), so anything can use it;
 * `TmdbClient` recognises it and sends its own requests through a leaner exchange over the same `Agent`: no
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
   * Connections per origin, at most; `undefined` for no limit. {@link layer} sets it to the admission cap
   * (`admission.maxInFlight`), so that every admitted request has a connection and no more are opened.
   */
  readonly connections?: number | undefined
  /** How long an idle connection is kept open. Default 4 seconds (undici's default). */
  readonly keepAliveTimeout?: Duration.DurationInput | undefined
}

/**
 * The client over a new undici `Agent`, closed with the scope. Fails with a `ConfigError` naming the package to
 * install when `@effect/platform-node` (an optional peer dependency, which brings undici) is missing.
 *
 * @since 0.3.0
 */
export const make = (
  options: TmdbHttpClientOptions = {}
): Effect.Effect<HttpClient.HttpClient, ConfigError.ConfigError, Scope.Scope> =>
  Effect.flatMap(nodeUndici("TmdbHttpClient"), ({ NodeHttpClient, Undici }) =>
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() =>
          new Undici.Agent({
            ...(options.connections === undefined ? {} : { connections: options.connections }),
            keepAliveTimeout: Duration.toMillis(options.keepAliveTimeout ?? "4 seconds")
          })
        ),
        (agent) => Effect.promise(() => agent.destroy())
      ),
      (agent) =>
        Object.assign(NodeHttpClient.makeUndici(agent), {
          [LeanTransportId]: undiciTransport(agent as unknown as Dispatcher)
        })
    ))

/**
 * The client as a layer, its connection limit the admission cap of the context's `TmdbConfig` (no limit when
 * admission control is off).
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
