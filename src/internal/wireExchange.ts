/**
 * One TMDB request on the wire, as `TmdbClient` sees it: method, URL, headers and a JSON text in; status,
 * `Retry-After` and the body's text out. Any `HttpClient` can carry it (`overHttpClient`); the lean undici transport
 * of `TmdbHttpClient` carries it without the platform's per-request objects (`LeanExchange`).
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import type { TransportError } from "../TmdbError.js"

/** A request, fully built: `path` is the URL's path and query, to be sent to `origin`. */
export interface WireRequest {
  readonly method: string
  readonly origin: string
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | undefined
  /** The largest body read: a bigger one is abandoned and answered `tooLarge`. */
  readonly maxBytes: number
}

/** What `TmdbClient` reads of an answer. */
export interface WireAnswer {
  readonly status: number
  readonly retryAfter: string | undefined
  /** The body; empty when it was larger than the cap (`tooLarge`), of which nothing more was read. */
  readonly text: string
  readonly tooLarge?: boolean | undefined
}

/**
 * The lean transport of a client built by `TmdbHttpClient`: a request sent and its whole answer read, without the
 * platform's per-request objects. With `timeout` it also enforces the timeout itself, with a timer of the wall clock:
 * `TmdbClient` asks for that only when the fiber runs on the live `Clock` (under `TestClock` it times the exchange
 * with `Effect` instead).
 */
export interface LeanTransport {
  /** The exchange as one callback-driven effect (no fiber of its own); interrupting it abandons the request. */
  readonly exchange: (
    request: WireRequest,
    endpoint: string,
    timeout: Duration.Duration | undefined
  ) => Effect.Effect<WireAnswer, TransportError>
  /** The exchange as a callback: `done` is called once, unless the returned function abandons the request first. */
  readonly start: (
    request: WireRequest,
    endpoint: string,
    timeout: Duration.Duration | undefined,
    done: (result: Either.Either<WireAnswer, TransportError>) => void
  ) => () => void
}

/** Where an `HttpClient` built by `TmdbHttpClient` keeps its lean transport. */
export const LeanTransportId: unique symbol = Symbol.for("effect-tmdb-auth/LeanTransport")

/** The lean transport of a client built by `TmdbHttpClient`, if `client` is one (not a wrapper of one). */
export const leanTransportOf = (client: HttpClient.HttpClient): LeanTransport | undefined =>
  (client as { readonly [LeanTransportId]?: LeanTransport })[LeanTransportId]
