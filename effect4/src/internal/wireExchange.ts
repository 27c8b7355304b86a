/**
 * One TMDB request on the wire, as `TmdbClient` sees it: method, URL, headers and a JSON text in; status,
 * `Retry-After` and the body's text out. Any `HttpClient` can carry it (`overHttpClient`); the lean undici transport
 * of `TmdbHttpClient` carries it without the platform's per-request objects (`LeanExchange`).
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as HttpClient from "effect/http/HttpClient"
import * as Option from "effect/Option"
import { describeCause } from "../../core/scrub.js"
import { TransportError } from "../TmdbError.js"

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
    done: (result: Exit.Exit<WireAnswer, TransportError>) => void
  ) => () => void
}

/** Where an `HttpClient` built by `TmdbHttpClient` keeps its lean transport. */
export const LeanTransportId: unique symbol = Symbol.for("effect-tmdb-auth/LeanTransport")

/** The lean transport of a client built by `TmdbHttpClient`, if `client` is one (not a wrapper of one). */
export const leanTransportOf = (client: HttpClient.HttpClient): LeanTransport | undefined =>
  (client as { readonly [LeanTransportId]?: LeanTransport })[LeanTransportId]

/**
 * How an exchange ended, as the fused path's transports report it: an `Exit`, from the lean ones as from one over the
 * platform's `HttpClient` (its fiber's: a defect of a custom client stays a defect). An `Exit` is an effect, which a
 * callback resumes with as it is (a `Result` is not).
 */
export type WireResult = Exit.Exit<WireAnswer, TransportError>

/** The answer of a result, if it is one. */
export const answerOf = (result: WireResult): WireAnswer | undefined =>
  Exit.isSuccess(result) ? result.value : undefined

/** The failure of a result that is not an answer: the error, or the cause of a defect or interruption. */
export const failureOf = (result: WireResult): unknown =>
  Exit.isFailure(result)
    ? Option.getOrElse(Cause.findErrorOption(result.cause), () => result.cause)
    : undefined

/** A transport of the fused path: `done` called once, unless the returned function abandons the request first. */
export type Start = (
  request: WireRequest,
  endpoint: string,
  timeout: Duration.Duration | undefined,
  done: (result: WireResult) => void
) => () => void

/** The millis of a timer for `timeout`, or undefined: none asked, or longer than `setTimeout` holds (about 24.8 days). */
export const timerMillis = (timeout: Duration.Duration | undefined): number | undefined => {
  const millis = timeout === undefined ? undefined : Duration.toMillis(timeout)
  return millis !== undefined && millis <= 2 ** 31 - 1 ? millis : undefined
}

/** No complete answer within `limit`. */
export const timeoutError = (endpoint: string, limit: Duration.Duration): TransportError =>
  new TransportError({
    reason: "Timeout",
    endpoint,
    description: `no complete answer within ${Duration.format(limit)}`
  })

/** A failure of the transport (a refused connection, a reset, a body cut short), described without secrets. */
export const transportError = (endpoint: string, cause: unknown): TransportError => {
  const description = describeCause(cause)
  return new TransportError({ reason: "Transport", endpoint, ...(description === undefined ? {} : { description }) })
}
