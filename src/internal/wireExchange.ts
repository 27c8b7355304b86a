/**
 * One TMDB request on the wire, as `TmdbClient` sees it: method, URL, headers and a JSON text in; status,
 * `Retry-After` and the body's text out. Any `HttpClient` can carry it (`overHttpClient`); the lean undici transport
 * of `TmdbHttpClient` carries it without the platform's per-request objects (`LeanExchange`).
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type { TransportError } from "../TmdbError.js"

/** A request, fully built: `path` is the URL's path and query, to be sent to `origin`. */
export interface WireRequest {
  readonly method: string
  readonly origin: string
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | undefined
}

/** What `TmdbClient` reads of an answer. */
export interface WireAnswer {
  readonly status: number
  readonly retryAfter: string | undefined
  readonly text: string
}

/**
 * Sends a request and reads the whole answer, as one callback-driven effect (no fiber of its own). With
 * `timeout` it also enforces the timeout itself, with a timer of the wall clock: `TmdbClient` asks for that
 * only when the fiber runs on the live `Clock` (under `TestClock` it times the exchange with `Effect` instead).
 */
export type LeanExchange = (
  request: WireRequest,
  endpoint: string,
  timeout: Duration.Duration | undefined
) => Effect.Effect<WireAnswer, TransportError>

/** Where an `HttpClient` built by `TmdbHttpClient` keeps its lean exchange. */
export const LeanExchangeId: unique symbol = Symbol.for("effect-tmdb-auth/LeanExchange")

/** The lean exchange of a client built by `TmdbHttpClient`, if `client` is one (not a wrapper of one). */
export const leanExchangeOf = (client: HttpClient.HttpClient): LeanExchange | undefined =>
  (client as { readonly [LeanExchangeId]?: LeanExchange })[LeanExchangeId]
