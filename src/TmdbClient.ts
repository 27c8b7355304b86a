/**
 * The one pipeline every TMDB request goes through, the library's own and the app's: base URL, credential,
 * admission control, timeout, retries and TMDB's error table.
 *
 * @since 0.2.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type ClientShape, makeClient, type Method, type RequestFn, type TmdbRequest } from "./internal/tmdbClient.js"
import { TmdbConfig } from "./TmdbConfig.js"
import type { EndpointErrorTag } from "./TmdbError.js"
import { TmdbLimiter } from "./TmdbLimiter.js"

/**
 * The HTTP methods of {@link TmdbClientRequest}.
 *
 * @since 0.2.0
 */
export type TmdbMethod = Method

/**
 * One request for {@link TmdbClientShape.request}: method, path (version included: `/3/account`), query, JSON body,
 * optionally a `Session` or `GuestSession` (sent as `session_id` or `guest_session_id`), the `Schema` of the success
 * body, and the endpoint-specific errors it may produce (`errors: ["SessionNotFound"]`).
 *
 * @since 0.2.0
 */
export type TmdbClientRequest<A, I, T extends EndpointErrorTag = never> = TmdbRequest<A, I, T>

/**
 * `request`'s type: the error type holds `RequestError`, the `errors` named, and `SessionNotFound` when a session is
 * sent (TMDB answers 401 with code 3 for a session it does not know).
 *
 * @since 0.2.0
 */
export type TmdbClientRequestFn = RequestFn

/**
 * What {@link TmdbClient} provides.
 *
 * @since 0.2.0
 */
export interface TmdbClientShape extends ClientShape {
  /** Sends a TMDB request through the whole pipeline and decodes the answer with `response`. */
  readonly request: RequestFn
  /**
   * The authenticated client (base URL, credential, admission control) without retries or decoding, for anything
   * `request` does not cover. Paths are relative to the API origin.
   */
  readonly httpClient: HttpClient.HttpClient
}

/** Builds the client from the configuration, the context's `HttpClient` and, when provided, `TmdbLimiter`. */
const make: Effect.Effect<TmdbClientShape, never, TmdbConfig | HttpClient.HttpClient> = Effect.gen(function*() {
  const config = yield* TmdbConfig
  const httpClient = yield* HttpClient.HttpClient
  const shared = yield* Effect.serviceOption(TmdbLimiter)
  const limiter = shared._tag === "Some" ? shared.value : yield* TmdbLimiter.make
  return makeClient(config, httpClient, limiter)
})

/**
 * The TMDB client every request goes through: `AuthService` is built on it, and an app uses it for its own TMDB calls
 * (account, watchlist, ratings), which then share the admission gate, retries and error decoding with the library's.
 * `AuthService.layer` provides it too: an app that provides `AuthService.layer` gets the same `TmdbClient`, with one
 * admission gate for both.
 *
 * @example
 * ```ts
 * const Account = Schema.Struct({ id: Schema.Number, username: Schema.String })
 *
 * const program = Effect.gen(function*() {
 *   const auth = yield* AuthService
 *   const tmdb = yield* TmdbClient
 *   const session = yield* auth.login({ username, password })
 *   const account = yield* tmdb.request({ method: "GET", path: "/3/account", session, response: Account })
 * })
 * ```
 * @since 0.2.0
 */
export class TmdbClient extends Context.Tag("effect-tmdb-auth/TmdbClient")<TmdbClient, TmdbClientShape>() {
  /** Builds the client from `TmdbConfig` and the context's `HttpClient` (and `TmdbLimiter` when provided). */
  static readonly make: Effect.Effect<TmdbClientShape, never, TmdbConfig | HttpClient.HttpClient> = make

  /**
   * The client as a layer. Built once per layer graph: every service built with it in the same graph (as
   * `AuthService.layer` is) shares one admission gate.
   */
  static readonly layer: Layer.Layer<TmdbClient, never, TmdbConfig | HttpClient.HttpClient> = Layer.effect(
    TmdbClient,
    make
  )
}
